//! Support code shared by the coroutine kernel (`main.rs`) and the tiny test
//! kernels in `src/bin/`: serial output on COM1, a `log` backend, the panic
//! handler and the QEMU exit device.
//!
//! [`init`] installs the fault handling every kernel here relies on: a GDT
//! with a TSS whose IST stacks the page-fault and double-fault handlers run
//! on ([`gdt`]), an IDT that turns each CPU exception into one clear sentence
//! and a failing exit ([`interrupts`]), and an unmapped guard page below each
//! coroutine stack ([`guard`]). [`scenario`] is the small harness of the
//! fault test kernels in `src/bin/fault_*.rs`.
//!
//! The program itself lives in `main.rs` so that it can be read side by side
//! with the original NASM listing; it only tells [`init`] where it keeps its
//! "who is running" index, so that a fault can name the coroutine.

#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]
#![feature(abi_x86_interrupt)]

pub mod gdt;
pub mod guard;
pub mod interrupts;
pub mod scenario;
pub mod serial;
pub mod stacks;

use bootloader_api::config::Mapping;
use bootloader_api::{BootInfo, BootloaderConfig};
use core::cell::UnsafeCell;
use core::fmt;
use core::panic::PanicInfo;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use x86_64::VirtAddr;
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

/// Where a kernel keeps track of who runs, so that fault handlers and panic
/// reports can say "while coroutine1 was running at switch #7".
///
/// `main.rs` already has exactly this (`RUNNING`, `NAMES`, `SWITCHES`); it
/// lends references to [`init`] instead of the library keeping a copy.
#[derive(Clone, Copy)]
pub struct Running {
    /// Index into `names` of the routine that runs now.
    pub index: &'static AtomicUsize,
    /// The routines' names, `names[0]` being main.
    pub names: &'static [&'static str],
    /// Switches made so far: the "step" a fault or panic happened at.
    pub switches: &'static AtomicU64,
}

/// A value written once by [`init`] (before anything reads it) and only read
/// afterwards, from normal code and from exception handlers. The CPU needs
/// the GDT, TSS and IDT at `'static` addresses, and their builders are not
/// `const`, so they live in these cells.
pub(crate) struct InitCell<T>(UnsafeCell<T>);

// SAFETY: one CPU; the only write happens in `init` (guarded by INITIALISED)
// before the value is handed to the CPU or read by any handler.
unsafe impl<T> Sync for InitCell<T> {}

impl<T> InitCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        Self(UnsafeCell::new(value))
    }

    /// # Safety
    ///
    /// Only during [`init`], once, before any shared reference from
    /// [`get`](Self::get) exists.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn get_mut(&self) -> &mut T {
        // SAFETY: the caller guarantees exclusive access (see above).
        unsafe { &mut *self.0.get() }
    }

    pub(crate) fn get(&self) -> &T {
        // SAFETY: after `init` the value is never written again.
        unsafe { &*self.0.get() }
    }
}

/// Set by the first [`init`]; a second call would rewrite tables in use.
static INITIALISED: AtomicBool = AtomicBool::new(false);
/// The kernel's [`Running`], if it lent one to [`init`].
static RUNNING: InitCell<Option<Running>> = InitCell::new(None);

/// Installs fault handling: loads the GDT and TSS, the IDT, and unmaps the
/// guard page below each coroutine stack in [`guard::STACKS`]. Prints
/// nothing, so the transcript of a healthy run does not change.
///
/// Call once, right after [`serial::init`] (the handlers report over serial).
///
/// # Panics
///
/// If called twice, or if the bootloader did not map physical memory (every
/// kernel here is built with [`BOOTLOADER_CONFIG`], which asks for it).
pub fn init(boot_info: &BootInfo, running: Option<Running>) {
    assert!(
        !INITIALISED.swap(true, Ordering::Relaxed),
        "kernel::init was called twice"
    );
    // SAFETY: first and only call (checked above); no handler is installed
    // yet, so nothing reads RUNNING concurrently.
    unsafe { *RUNNING.get_mut() = running };
    let offset = boot_info
        .physical_memory_offset
        .into_option()
        .expect("the bootloader did not map physical memory");
    // SAFETY: called once, before any table is in use (INITIALISED).
    unsafe { gdt::init() };
    // SAFETY: as above; the GDT (whose code selector the IDT entries copy)
    // is loaded.
    unsafe { interrupts::init() };
    guard::register_main_stack(boot_info.kernel_stack_bottom, boot_info.kernel_stack_len);
    // SAFETY: the offset is where the bootloader mapped all physical memory,
    // and nothing uses the guard pages (they are never touched by design).
    unsafe { guard::unmap_guard_pages(VirtAddr::new(offset)) };
}

/// "while coroutine1 was running at switch #7", or nothing if the kernel did
/// not lend a [`Running`] to [`init`]. Lock-free: safe in any handler.
pub fn who_runs() -> impl fmt::Display {
    struct Who(Option<Running>);
    impl fmt::Display for Who {
        fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
            let Some(running) = self.0 else {
                return Ok(());
            };
            let index = running.index.load(Ordering::Relaxed);
            let name = running.names.get(index).copied().unwrap_or("?");
            let step = running.switches.load(Ordering::Relaxed);
            write!(f, " while {name} was running at switch #{step}")
        }
    }
    Who(*RUNNING.get())
}

/// Reports a panic as one line naming the running routine and the step,
/// e.g. `coroutine1 panicked at switch #3: <message> (src/x.rs:1:2)`, then
/// exits QEMU with [`QemuExitCode::Failed`]. Falls back to [`report_panic`]
/// when no [`Running`] was given to [`init`].
pub fn report_panic_while_running(info: &PanicInfo) -> ! {
    let Some(running) = *RUNNING.get() else {
        report_panic(info)
    };
    let index = running.index.load(Ordering::Relaxed);
    let name = running.names.get(index).copied().unwrap_or("?");
    let step = running.switches.load(Ordering::Relaxed);
    match info.location() {
        Some(at) => serial::panic_println(format_args!(
            "{name} panicked at switch #{step}: {} ({}:{}:{})",
            info.message(),
            at.file(),
            at.line(),
            at.column()
        )),
        None => serial::panic_println(format_args!(
            "{name} panicked at switch #{step}: {}",
            info.message()
        )),
    }
    exit_qemu(QemuExitCode::Failed)
}
