//! Fault kernel: coroutine1 executes `int3` with no debugger attached.
//!
//! Expected: "breakpoint (int3) hit at RIP 0x... while coroutine1 was
//! running at switch #N and no debugger is attached, so the kernel stops."

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
    scenario::start(boot_info, "fault_breakpoint", "coroutine1 executes int3");
    let coroutines = scenario::coroutines(breakpoint, scenario::yield_three_times);
    scenario::run_to_end(&coroutines);
    scenario::not_caught("fault_breakpoint")
}

fn breakpoint(yielder: &Yielder, first: u64) -> u64 {
    let received = scenario::step(yielder, first);
    x86_64::instructions::interrupts::int3();
    received
}

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    scenario::panic(info)
}
