//! Fault kernel: coroutine1 panics in its second round.
//!
//! Expected: "coroutine1 panicked at switch #N: coroutine1 gave up in round
//! 2" and the run fails.

#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn)]

use bootloader_api::{BootInfo, entry_point};
use core::panic::PanicInfo;
use kernel::BOOTLOADER_CONFIG;
use kernel::scenario;

use coroutine_switch::Yielder;

entry_point!(main, config = &BOOTLOADER_CONFIG);

fn main(boot_info: &'static mut BootInfo) -> ! {
    scenario::start(boot_info, "fault_panic", "coroutine1 panics in round 2");
    let coroutines = scenario::coroutines(give_up, scenario::yield_three_times);
    scenario::run_to_end(&coroutines);
    scenario::not_caught("fault_panic")
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

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    scenario::panic(info)
}
