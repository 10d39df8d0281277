//! Fault kernel: coroutine1 says it is departing, then switches without an
//! arrival having taken that departure: the two sides of a switch do not
//! pair up.
//!
//! Expected: "coroutine1 panicked at switch #2: a second departure before an
//! arrival took the first" and the run fails, rather than an event line
//! carrying the stray RSP.

#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn)]

use kernel::{roster, scenario, stacks};

use coroutine_switch::Yielder;

kernel::scenario_kernel! {
    name: "fault_unpaired_switch",
    what: "coroutine1 departs twice before one switch",
    coroutines: (depart_twice, scenario::yield_three_times),
}

fn depart_twice(yielder: &Yielder, first: u64) -> u64 {
    // A departure that no switch follows...
    roster::departing(stacks::rsp());
    // ...then a counted yield, which departs again.
    scenario::step(yielder, first)
}
