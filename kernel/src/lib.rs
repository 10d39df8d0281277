//! Support code shared by the coroutine kernel (`main.rs`) and the tiny test
//! kernels in `src/bin/`: serial output on COM1, a `log` backend, the panic
//! handler and the QEMU exit device.
//!
//! Nothing here knows about coroutines; the program itself lives in `main.rs`
//! so that it can be read side by side with the original NASM listing.

#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod serial;
pub mod stacks;

use bootloader_api::BootloaderConfig;
use bootloader_api::config::Mapping;
use core::panic::PanicInfo;
use x86_64::instructions::port::Port;

/// The boot configuration every kernel of this crate is built with.
///
/// The bootloader maps the complete physical memory at a dynamic offset so the
/// kernel can walk and edit its own page tables (used to unmap guard pages).
pub const BOOTLOADER_CONFIG: BootloaderConfig = {
    let mut config = BootloaderConfig::new_default();
    config.mappings.physical_memory = Some(Mapping::Dynamic);
    // 64 KiB for main: the bootloader's default is 80 KiB; we only need to
    // know the size, which `main.rs` reports when it logs main's stack.
    config.kernel_stack_size = 64 * 1024;
    config
};

/// Values written to QEMU's `isa-debug-exit` device (`iobase=0xf4`).
///
/// QEMU exits with status `(value << 1) | 1`, so `Success` becomes 33 and
/// `Failed` 35; the host tool (`boot/`) maps those back to 0 and 1. Any other
/// status (0 after a triple fault with `-no-reboot`) is reported as a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum QemuExitCode {
    /// The kernel finished its work: QEMU exits with 33.
    Success = 0x10,
    /// The kernel hit an error: QEMU exits with 35.
    Failed = 0x11,
}

/// The I/O port of QEMU's `isa-debug-exit` device (see `boot/src/qemu.rs`).
pub const QEMU_EXIT_PORT: u16 = 0xf4;

/// Asks QEMU to exit with `code`, then halts forever in case no exit device is
/// present (for example on real hardware).
pub fn exit_qemu(code: QemuExitCode) -> ! {
    let mut port = Port::<u32>::new(QEMU_EXIT_PORT);
    // SAFETY: 0xf4 is the isa-debug-exit device that boot/ always attaches;
    // writing to it has no effect on memory. Without the device the write is
    // ignored and we fall through to the halt loop.
    unsafe { port.write(code as u32) };
    hlt_loop()
}

/// Halts the CPU until the next interrupt, forever.
pub fn hlt_loop() -> ! {
    loop {
        x86_64::instructions::hlt();
    }
}

/// Prints the panic message and its location over serial, then exits QEMU
/// with [`QemuExitCode::Failed`].
///
/// Each kernel binary calls this from its `#[panic_handler]`; `main.rs` first
/// adds which coroutine was running.
pub fn report_panic(info: &PanicInfo) -> ! {
    serial::panic_println(format_args!("PANIC: {}", info.message()));
    if let Some(location) = info.location() {
        serial::panic_println(format_args!(
            "  at {}:{}:{}",
            location.file(),
            location.line(),
            location.column()
        ));
    }
    exit_qemu(QemuExitCode::Failed)
}
