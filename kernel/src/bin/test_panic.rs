//! Test kernel: prints a line, then panics.
//!
//! Proves that a kernel panic reaches the terminal (the panic handler prints
//! the message over serial) and that the host tool turns the resulting QEMU
//! exit status 35 into a failure (exit 1), never a success.

#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn)]

use bootloader_api::{BootInfo, entry_point};
use core::panic::PanicInfo;
use kernel::{BOOTLOADER_CONFIG, serial_println};

entry_point!(main, config = &BOOTLOADER_CONFIG);

fn main(_boot_info: &'static mut BootInfo) -> ! {
    kernel::serial::init();
    serial_println!("test_panic: about to panic");
    panic!("test_panic: deliberate panic from the test kernel");
}

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    kernel::report::report_panic(info)
}
