//! Fault kernel: main recurses without end and overflows its own stack into
//! the guard page the bootloader leaves below it.
//!
//! Expected: the page-fault handler (on its IST stack) reports "main
//! overflowed its 65536-byte stack" and the run fails.

#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn)]

use bootloader_api::{BootInfo, entry_point};
use core::panic::PanicInfo;
use kernel::BOOTLOADER_CONFIG;
use kernel::scenario;

// No coroutines: main alone, so that the report can still say who ran.
kernel::roster! {
    static ROSTER;
    main: MAIN_CONTEXT = "main_context";
}

entry_point!(main, config = &BOOTLOADER_CONFIG);

fn main(boot_info: &'static mut BootInfo) -> ! {
    kernel::serial::init();
    kernel::init(boot_info, Some(&ROSTER));
    scenario::announce("fault_main_stack_overflow", "main recurses without end");
    scenario::recurse_without_end(0);
    scenario::not_caught("fault_main_stack_overflow")
}

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    scenario::panic(info)
}
