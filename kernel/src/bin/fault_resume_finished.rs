//! Fault kernel (misuse): main resumes coroutine1 after it has finished.
//!
//! Expected: the switch lands on the tombstone, which sends it straight back
//! to main, and `Coroutine::resume` panics on main's stack, so the report
//! names main: "main panicked at switch #N: resumed a finished coroutine
//! (stack at 0x...)", and the run fails.

#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn)]

use kernel::scenario;

use kernel::scenario::COROUTINE1;

kernel::scenario_kernel! {
    name: "fault_resume_finished",
    what: "main resumes a finished coroutine",
    coroutines: (scenario::yield_three_times, scenario::yield_three_times),
    after: |coroutines| {
        coroutines.resume(COROUTINE1, 0);
    },
}
