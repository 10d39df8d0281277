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
    depth(received)
}

/// Each call keeps a 64-byte array alive across the next call; `black_box`
/// stops the compiler from seeing through the recursion or the array.
fn depth(n: u64) -> u64 {
    let frame = core::hint::black_box([n; 8]);
    if core::hint::black_box(true) {
        depth(n + 1) + frame[7]
    } else {
        frame[0]
    }
}
