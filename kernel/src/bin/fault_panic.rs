//! Fault kernel: coroutine1 panics in its second round.
//!
//! Expected: "coroutine1 panicked at switch #N: coroutine1 gave up in round
//! 2" and the run fails.

#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn)]

use kernel::scenario;

use coroutine_switch::Yielder;

kernel::scenario_kernel! {
    name: "fault_panic",
    what: "coroutine1 panics in round 2",
    coroutines: (give_up, scenario::yield_three_times),
}

fn give_up(yielder: &Yielder, first: u64) -> u64 {
    let mut received = first;
    for round in 1..=3 {
        if round == 2 {
            panic!("coroutine1 gave up in round {round}");
        }
        received = scenario::step(yielder, received);
    }
    received
}
