//! Test kernel: prints a line, then halts forever.
//!
//! Proves that the host tool's `--timeout` kills QEMU when a kernel never
//! exits, reports the timeout as a failure and shows the last serial line.

#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn)]

use bootloader_api::{BootInfo, entry_point};
use core::panic::PanicInfo;
use kernel::{BOOTLOADER_CONFIG, serial_println};

entry_point!(main, config = &BOOTLOADER_CONFIG);

fn main(_boot_info: &'static mut BootInfo) -> ! {
    kernel::serial::init();
    serial_println!("test_hang: halting forever");
    kernel::exit::hlt_loop()
}

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    kernel::report::report_panic(info)
}
