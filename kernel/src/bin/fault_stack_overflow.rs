//! Fault kernel: coroutine1 recurses without end and overflows its
//! 4096-byte stack into the guard page below it.
//!
//! Expected: the page-fault handler (on its IST stack) reports
//! "coroutine1 overflowed its 4096-byte stack" and the run fails.

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
    scenario::start(
        boot_info,
        "fault_stack_overflow",
        "coroutine1 recurses without end",
    );
    let coroutines = scenario::coroutines(recurse_forever, scenario::yield_three_times);
    scenario::run_to_end(&coroutines);
    scenario::not_caught("fault_stack_overflow")
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

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    scenario::panic(info)
}
