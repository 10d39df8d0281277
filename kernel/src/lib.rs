//! Support code shared by the coroutine kernel (`main.rs`) and the tiny test
//! kernels in `src/bin/`: serial output on COM1, a `log` backend, the panic
//! handler and the QEMU exit device.
//!
//! [`init`] installs the fault handling every kernel here relies on: a GDT
//! with a TSS whose IST stacks the page-fault and double-fault handlers run
//! on ([`gdt`]), an IDT that turns each CPU exception into one clear sentence
//! and a failing exit ([`interrupts`]), and an unmapped guard page below each
//! coroutine stack ([`guard`]). [`roster`] is the coroutine set as data:
//! each kernel declares its own with [`roster!`] and hands it to [`init`],
//! and the counted, logged switches, the stack names, the fault reports and
//! the event lines on COM2 ([`events`]) all read it. [`scenario`] is the
//! small harness of the fault test kernels in `src/bin/fault_*.rs`.
//! [`hypervisor`] says from CPUID what runs the kernel, for the wording of
//! the cycles figure.
//!
//! The program itself lives in `main.rs` so that it can be read side by side
//! with the original NASM listing.

#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]
#![feature(abi_x86_interrupt)]

pub mod events;
pub mod gdb_facts;
pub mod gdt;
pub mod guard;
pub mod hypervisor;
pub mod interrupts;
pub mod roster;
pub mod scenario;
pub mod serial;
pub mod stacks;
pub mod unwind;

use bootloader_api::config::Mapping;
use bootloader_api::{BootInfo, BootloaderConfig};
use core::fmt;
use core::panic::PanicInfo;
use core::sync::atomic::{AtomicBool, Ordering};
pub use protocol::ExitCode as QemuExitCode;
use protocol::QEMU_EXIT_PORT;
use protocol::event::Event;
use roster::Roster;
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

/// Asks QEMU to exit with `code`, then halts forever in case no exit device is
/// present (for example on real hardware).
///
/// The exit device, its port and the codes are defined once, in the
/// `protocol` crate that the host tool reads them from too. The last event
/// line says how the run ended.
pub fn exit_qemu(code: QemuExitCode) -> ! {
    events::emit_from_handler(&Event::Exit {
        code,
        switches: roster::switches(),
        tsc: events::tsc(),
    });
    let mut port = Port::<u32>::new(QEMU_EXIT_PORT);
    // SAFETY: QEMU_EXIT_PORT is the isa-debug-exit device that boot/ always
    // attaches; writing to it has no effect on memory. Without the device the
    // write is ignored and we fall through to the halt loop.
    unsafe { port.write(code.value()) };
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
    // The fault event line first (for --trace/--svg), then the two lines
    // people read.
    let sentence = panic_sentence(format_args!("PANIC"), info);
    emit_fault(stacks::rsp(), sentence.as_str());
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

/// Set by the first [`init`]; a second call would rewrite tables in use.
static INITIALISED: AtomicBool = AtomicBool::new(false);

/// Installs fault handling: loads the GDT and TSS, the IDT, installs the
/// kernel's `roster` (if it has coroutines) and unmaps the guard page below
/// each of its stacks. Prints nothing.
///
/// Call once, right after [`serial::init`] (the handlers report over serial).
///
/// # Panics
///
/// If called twice, or if the bootloader did not map physical memory (every
/// kernel here is built with [`BOOTLOADER_CONFIG`], which asks for it).
pub fn init(boot_info: &BootInfo, roster: Option<&'static Roster>) {
    assert!(
        !INITIALISED.swap(true, Ordering::Relaxed),
        "kernel::init was called twice"
    );
    let offset = boot_info
        .physical_memory_offset
        .into_option()
        .expect("the bootloader did not map physical memory");
    // SAFETY: called once, before any table is in use (INITIALISED).
    unsafe { gdt::init() };
    // SAFETY: as above; the GDT (whose code selector the IDT entries copy)
    // is loaded.
    unsafe { interrupts::init() };
    if let Some(roster) = roster {
        let bottom = boot_info.kernel_stack_bottom;
        roster::install(roster, bottom, bottom + boot_info.kernel_stack_len);
    }
    let stacks = roster::coroutines().iter().map(|m| (m.name, m.stack.get()));
    // SAFETY: the offset is where the bootloader mapped all physical memory,
    // and nothing uses the guard pages (they are never touched by design).
    unsafe { guard::unmap_guard_pages(VirtAddr::new(offset), stacks) };
}

/// "while coroutine1 was running at switch #7", or nothing if the kernel
/// installed no roster. Lock-free: safe in any handler.
pub fn who_runs() -> impl fmt::Display {
    struct Who;
    impl fmt::Display for Who {
        fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
            if roster::installed().is_none() {
                return Ok(());
            }
            let name = roster::name(roster::running());
            write!(
                f,
                " while {name} was running at switch #{}",
                roster::switches()
            )
        }
    }
    Who
}

/// Writes the fault event for `sentence` (the routine that runs, the switch,
/// `rsp`), then prints the sentence on COM1, from a panic or fault handler.
pub fn report_fault(rsp: u64, sentence: &str) {
    emit_fault(rsp, sentence);
    serial::panic_println(format_args!("{sentence}"));
}

/// The `fault` event line: `sentence`, with who runs, the switch count and
/// `rsp`, written without waiting for a lock.
fn emit_fault(rsp: u64, sentence: &str) {
    events::emit_from_handler(&Event::Fault {
        who: roster::running(),
        switch: roster::switches(),
        rsp,
        tsc: events::tsc(),
        what: sentence,
    });
}

/// `<prefix>: <message> (<file>:<line>:<column>)`, formatted on the stack.
fn panic_sentence(prefix: fmt::Arguments<'_>, info: &PanicInfo) -> events::LineBuf<512> {
    match info.location() {
        Some(at) => events::LineBuf::format(format_args!(
            "{prefix}: {} ({}:{}:{})",
            info.message(),
            at.file(),
            at.line(),
            at.column()
        )),
        None => events::LineBuf::format(format_args!("{prefix}: {}", info.message())),
    }
}

/// Reports a panic as one line naming the running routine and the step,
/// e.g. `coroutine1 panicked at switch #3: <message> (src/x.rs:1:2)`, then
/// exits QEMU with [`QemuExitCode::Failed`]. Falls back to [`report_panic`]
/// when the kernel installed no roster.
pub fn report_panic_while_running(info: &PanicInfo) -> ! {
    if roster::installed().is_none() {
        report_panic(info)
    }
    let name = roster::name(roster::running());
    let step = roster::switches();
    let sentence = panic_sentence(format_args!("{name} panicked at switch #{step}"), info);
    report_fault(stacks::rsp(), sentence.as_str());
    exit_qemu(QemuExitCode::Failed)
}
