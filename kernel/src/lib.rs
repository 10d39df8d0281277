//! Support code shared by the coroutine kernel (`main.rs`) and the tiny test
//! kernels in `src/bin/`: serial output on COM1 ([`serial`]), the event
//! lines on COM2 ([`events`]), the reports of panics and faults
//! ([`report`]) and the exit through QEMU's exit device ([`exit`]).
//!
//! [`init`] installs the fault handling every kernel here relies on: a GDT
//! with a TSS whose IST stacks the page-fault and double-fault handlers run
//! on ([`gdt`]), an IDT that turns each CPU exception into one clear sentence
//! and a failing exit ([`interrupts`]), and an unmapped guard page below each
//! coroutine stack ([`guard`]). [`roster`] is the coroutine set as data:
//! each kernel declares its own with [`roster!`] and hands it to [`init`],
//! and the counted, logged switches, the stack names, the fault reports and
//! the event lines all read it. [`scenario`] is the small harness of the
//! fault test kernels in `src/bin/fault_*.rs`. [`measure`] is the summary
//! at the end of the program, with the cycles per switch and the
//! instructions of a round trip; [`hypervisor`] says from CPUID what runs
//! the kernel, for the wording of the cycles figure.
//!
//! The program itself lives in `main.rs` so that it can be read side by side
//! with the original NASM listing. The modules only ever use each other,
//! never this file: it declares them and holds [`init`], which gdb finds by
//! its name `kernel::init`, and [`BOOTLOADER_CONFIG`].

#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]
#![feature(abi_x86_interrupt)]

pub mod events;
pub mod exit;
pub mod gdb_facts;
pub mod gdt;
pub mod guard;
pub mod hypervisor;
pub mod interrupts;
pub mod measure;
pub mod report;
pub mod roster;
pub mod scenario;
pub mod serial;
pub mod stacks;
pub mod unwind;

use bootloader_api::config::Mapping;
use bootloader_api::{BootInfo, BootloaderConfig};
use core::sync::atomic::{AtomicBool, Ordering};
use roster::Roster;
use x86_64::VirtAddr;

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
