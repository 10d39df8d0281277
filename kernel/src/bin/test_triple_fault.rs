//! Test kernel: causes a triple fault.
//!
//! Loads an empty IDT (limit 0) and executes `int3`. The CPU cannot deliver
//! the breakpoint exception, nor the #GP raised by that, nor the resulting
//! double fault: it shuts down, which QEMU turns into a reset and, under
//! `-no-reboot`, into an exit with status 0. Proves that the host tool reports
//! that status as a failure (a triple fault), never as a success.

#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn)]

use bootloader_api::{BootInfo, entry_point};
use core::panic::PanicInfo;
use kernel::{BOOTLOADER_CONFIG, serial_println};
use x86_64::VirtAddr;
use x86_64::structures::DescriptorTablePointer;

entry_point!(main, config = &BOOTLOADER_CONFIG);

/// An IDT with no entries at all: every vector is out of its bounds.
static EMPTY_IDT: DescriptorTablePointer = DescriptorTablePointer {
    limit: 0,
    base: VirtAddr::zero(),
};

fn main(_boot_info: &'static mut BootInfo) -> ! {
    kernel::serial::init();
    serial_println!("test_triple_fault: loading an empty IDT and executing int3");
    // SAFETY: deliberately breaks exception handling; that is the point of
    // this kernel. The pointer is a valid 'static descriptor.
    unsafe { x86_64::instructions::tables::lidt(&EMPTY_IDT) };
    x86_64::instructions::interrupts::int3();
    // Unreachable in practice: the int3 above shuts the CPU down.
    serial_println!("test_triple_fault: still running after int3?!");
    kernel::exit::exit_qemu(protocol::ExitCode::Failed)
}

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    kernel::report::report_panic(info)
}
