//! Fault kernel (misuse): main resumes coroutine1 after it has finished.
//!
//! Expected: `Coroutine::resume` panics before switching, so the report
//! names main: "main panicked at switch #N: resumed a finished coroutine
//! (stack at 0x...)", and the run fails.

#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn)]

use bootloader_api::{BootInfo, entry_point};
use core::panic::PanicInfo;
use kernel::BOOTLOADER_CONFIG;
use kernel::scenario;

use kernel::scenario::COROUTINE1;

entry_point!(main, config = &BOOTLOADER_CONFIG);

fn main(boot_info: &'static mut BootInfo) -> ! {
    scenario::start(
        boot_info,
        "fault_resume_finished",
        "main resumes a finished coroutine",
    );
    let coroutines = scenario::coroutines(scenario::yield_three_times, scenario::yield_three_times);
    scenario::run_to_end(&coroutines);
    scenario::resume(&coroutines, COROUTINE1, 0);
    scenario::not_caught("fault_resume_finished")
}

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    scenario::panic(info)
}
