//! Coroutine stacks, each with an unmapped guard page right below it.
//!
//! Why: a 4096-byte stack overflows easily, and on bare metal an overflow
//! silently writes into whatever lies below, here the neighbouring stack.
//! With the page below each stack unmapped, the first write past the bottom
//! raises a page fault instead; the page-fault handler (on its own IST stack,
//! see [`crate::gdt`]) recognises the address as a guard page and reports
//! which coroutine overflowed.
//!
//! Layout of one [`GuardedStack`], a page-aligned static in `.bss` that
//! the roster's `stack!` declares for each coroutine:
//!
//! ```text
//!   +--------------------+ highest address = the stack's top
//!   | coroutine1_stack   | 4096 bytes, grows down; the ELF symbol
//!   +--------------------+
//!   | guard page         | unmapped: coroutine1 overflows into it
//!   +--------------------+ page-aligned start (coroutine1_stack_guarded)
//! ```
//!
//! The bootloader already leaves the page below main's stack unmapped;
//! [`GuardHit::below_main`] recognises that one too, so main overflowing its
//! stack is reported the same way.
//!
//! This module knows one stack at a time and nothing of the roster; the
//! roster, which knows them all, asks each stack (`roster::guard_hit`) and
//! hands them to [`unmap_guard_pages`].
//!
//! A guard page only catches an overflow that touches it. A stray write that
//! stays inside the stack (to its lowest words, say) is caught instead by the
//! canary the switch crate keeps at the bottom of each stack and checks after
//! every switch back (`Coroutine::resume`).

use core::ops::Deref;
pub use coroutine_switch::STACK_SIZE;
use coroutine_switch::Stack;
use x86_64::VirtAddr;
use x86_64::registers::control::Cr3;
use x86_64::structures::paging::{Mapper, OffsetPageTable, Page, PageTable, Size4KiB};

/// The size of a page, and of each guard.
pub const PAGE_SIZE: usize = 4096;

// The stacks must start and end on page boundaries for the guards to sit
// right below them.
const _: () = assert!(STACK_SIZE.is_multiple_of(PAGE_SIZE));

/// Bytes that are never accessed and, after [`unmap_guard_pages`], not even
/// mapped.
#[repr(C, align(4096))]
pub struct GuardPage([u8; PAGE_SIZE]);

/// A coroutine stack above its own guard page (see the module docs).
#[repr(C, align(4096))]
pub struct GuardedStack {
    guard: GuardPage,
    stack: Stack<STACK_SIZE>,
}

impl GuardedStack {
    /// A zeroed guard page and stack (in `.bss` as a `static`).
    pub const fn new() -> Self {
        Self {
            guard: GuardPage([0; PAGE_SIZE]),
            stack: Stack::new(),
        }
    }

    /// The stack part.
    pub fn stack(&self) -> &Stack<STACK_SIZE> {
        &self.stack
    }

    /// The lowest address of the guard page.
    pub fn guard_bottom(&self) -> u64 {
        &raw const self.guard as u64
    }

    /// The hit, if `addr` lies in this stack's guard page; `owner` is the
    /// routine that runs on the stack.
    pub fn hit(&self, addr: u64, owner: &'static str) -> Option<GuardHit> {
        (self.guard_bottom()..self.bottom())
            .contains(&addr)
            .then(|| GuardHit {
                owner,
                stack_size: STACK_SIZE,
                guard_bottom: self.guard_bottom(),
                stack_top: self.top(),
            })
    }
}

impl Default for GuardedStack {
    fn default() -> Self {
        Self::new()
    }
}

impl Deref for GuardedStack {
    type Target = Stack<STACK_SIZE>;

    fn deref(&self) -> &Stack<STACK_SIZE> {
        &self.stack
    }
}

/// A guard page that an address fell into.
#[derive(Debug, Clone, Copy)]
pub struct GuardHit {
    /// The routine whose stack lies right above the guard page.
    pub owner: &'static str,
    /// That stack's size in bytes.
    pub stack_size: usize,
    /// The lowest address of the guard page.
    pub guard_bottom: u64,
    /// The top of the owner's stack (where its RSP starts).
    pub stack_top: u64,
}

impl GuardHit {
    /// The hit, if `addr` lies in the page the bootloader leaves unmapped
    /// below main's stack `[bottom, top)`.
    pub fn below_main(addr: u64, bottom: u64, top: u64) -> Option<GuardHit> {
        let guard_bottom = bottom.saturating_sub(PAGE_SIZE as u64);
        (guard_bottom..bottom).contains(&addr).then(|| GuardHit {
            owner: "main",
            stack_size: (top - bottom) as usize,
            guard_bottom,
            stack_top: top,
        })
    }

    /// Whether `rsp` lies on the owner's stack or has already run down into
    /// the guard page: the owner was the one overflowing.
    pub fn owner_overflowed(&self, rsp: u64) -> bool {
        (self.guard_bottom..=self.stack_top).contains(&rsp)
    }
}

/// Unmaps the guard page of each of `stacks` (a name for the panic message,
/// and the stack) and flushes it from the TLB. The physical frames are simply
/// never used again (4 KiB each).
///
/// # Safety
///
/// `physical_memory_offset` must be where the bootloader mapped all of
/// physical memory, and the call must not race with other page-table edits
/// (call it once, from `kernel::init`).
pub(crate) unsafe fn unmap_guard_pages<'a>(
    physical_memory_offset: VirtAddr,
    stacks: impl IntoIterator<Item = (&'a str, &'a GuardedStack)>,
) {
    let (level_4_frame, _) = Cr3::read();
    let level_4_table =
        (physical_memory_offset + level_4_frame.start_address().as_u64()).as_mut_ptr::<PageTable>();
    // SAFETY: the caller guarantees the offset mapping, so this is the active
    // level 4 table, and that nobody else edits it meanwhile.
    let mut mapper = unsafe { OffsetPageTable::new(&mut *level_4_table, physical_memory_offset) };
    for (name, stack) in stacks {
        let page = Page::<Size4KiB>::containing_address(VirtAddr::new(stack.guard_bottom()));
        match mapper.unmap(page) {
            Ok((_frame, flush)) => flush.flush(),
            Err(error) => panic!("could not unmap the guard page below {name}'s stack: {error:?}"),
        }
    }
}
