//! Fault kernel: coroutine1 recurses without end and overflows its
//! 4096-byte stack into the guard page below it.
//!
//! Expected: the page-fault handler (on its IST stack) reports
//! "coroutine1 overflowed its 4096-byte stack" and the run fails.

#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn)]

use kernel::scenario;

use coroutine_switch::Yielder;

kernel::scenario_kernel! {
    name: "fault_stack_overflow",
    what: "coroutine1 recurses without end",
    coroutines: (recurse_forever, scenario::yield_three_times),
}

/// Yields once (so the overflow happens at a later step), then recurses.
fn recurse_forever(yielder: &Yielder, first: u64) -> u64 {
    let received = scenario::step(yielder, first);
    scenario::recurse_without_end(received)
}
