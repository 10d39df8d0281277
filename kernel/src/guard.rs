//! The two coroutine stacks, each with an unmapped guard page right below it.
//!
//! Why: a 4096-byte stack overflows easily, and on bare metal an overflow
//! silently writes into whatever lies below, here the neighbouring stack.
//! With the page below each stack unmapped, the first write past the bottom
//! raises a page fault instead; the page-fault handler (on its own IST stack,
//! see [`crate::gdt`]) recognises the address as a guard page and reports
//! which coroutine overflowed.
//!
//! Layout of [`STACKS`], one page-aligned static in `.bss`:
//!
//! ```text
//!   +--------------------+ highest address
//!   | coroutine2 stack   | 4096 bytes, grows down
//!   +--------------------+
//!   | guard page 2       | unmapped: coroutine2 overflows into it
//!   +--------------------+
//!   | coroutine1 stack   | 4096 bytes
//!   +--------------------+
//!   | guard page 1       | unmapped: coroutine1 overflows into it
//!   +--------------------+ page-aligned start
//! ```
//!
//! The bootloader already leaves the page below main's stack unmapped;
//! [`guard_hit`] recognises that one too, so main overflowing its stack is
//! reported the same way.
//!
//! A guard page only catches an overflow that touches it. A stray write that
//! stays inside the stack (to its lowest words, say) is caught instead by the
//! canary the switch crate keeps at the bottom of each stack and checks after
//! every switch back (`Coroutine::resume`).

use core::sync::atomic::{AtomicU64, Ordering};
use coroutine_switch::{STACK_SIZE, Stack};
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

/// Two coroutine stacks, each above its own guard page (see the module docs).
#[repr(C, align(4096))]
pub struct GuardedStacks {
    guard1: GuardPage,
    /// coroutine1's stack (`COROUTINE1_STACK` in `main.rs`).
    pub coroutine1: Stack<STACK_SIZE>,
    guard2: GuardPage,
    /// coroutine2's stack (`COROUTINE2_STACK` in `main.rs`).
    pub coroutine2: Stack<STACK_SIZE>,
}

impl GuardedStacks {
    const fn new() -> Self {
        Self {
            guard1: GuardPage([0; PAGE_SIZE]),
            coroutine1: Stack::new(),
            guard2: GuardPage([0; PAGE_SIZE]),
            coroutine2: Stack::new(),
        }
    }

    /// Each guard page's address with the name and stack of the coroutine
    /// right above it.
    fn guards(&self) -> [(u64, &'static str, &Stack<STACK_SIZE>); 2] {
        [
            (
                &raw const self.guard1 as u64,
                "coroutine1",
                &self.coroutine1,
            ),
            (
                &raw const self.guard2 as u64,
                "coroutine2",
                &self.coroutine2,
            ),
        ]
    }
}

/// The coroutine stacks of every kernel in this crate.
pub static STACKS: GuardedStacks = GuardedStacks::new();

/// A guard page that an address fell into.
#[derive(Debug, Clone, Copy)]
pub struct GuardHit {
    /// The coroutine whose stack lies right above the guard page.
    pub owner: &'static str,
    /// That stack's size in bytes.
    pub stack_size: usize,
    /// The lowest address of the guard page.
    pub guard_bottom: u64,
    /// The top of the owner's stack (where its RSP starts).
    pub stack_top: u64,
}

impl GuardHit {
    /// Whether `rsp` lies on the owner's stack or has already run down into
    /// the guard page: the owner was the one overflowing.
    pub fn owner_overflowed(&self, rsp: u64) -> bool {
        (self.guard_bottom..=self.stack_top).contains(&rsp)
    }
}

/// main's stack `[bottom, top)` as the bootloader reports it; it leaves the
/// page below unmapped too. Set by `kernel::init`.
static MAIN_STACK_BOTTOM: AtomicU64 = AtomicU64::new(0);
static MAIN_STACK_TOP: AtomicU64 = AtomicU64::new(0);

/// Records main's stack (from the boot information) so that an overflow of
/// it is recognised as well.
pub(crate) fn register_main_stack(bottom: u64, len: u64) {
    MAIN_STACK_BOTTOM.store(bottom, Ordering::Relaxed);
    MAIN_STACK_TOP.store(bottom + len, Ordering::Relaxed);
}

/// The guard page `addr` lies in, if any. Lock-free, for the page-fault
/// handler.
pub fn guard_hit(addr: u64) -> Option<GuardHit> {
    let coroutine = STACKS
        .guards()
        .into_iter()
        .find(|(bottom, _, _)| (*bottom..*bottom + PAGE_SIZE as u64).contains(&addr))
        .map(|(guard_bottom, owner, stack)| GuardHit {
            owner,
            stack_size: STACK_SIZE,
            guard_bottom,
            stack_top: stack.top(),
        });
    let main_bottom = MAIN_STACK_BOTTOM.load(Ordering::Relaxed);
    let main_top = MAIN_STACK_TOP.load(Ordering::Relaxed);
    let main_guard = main_bottom.saturating_sub(PAGE_SIZE as u64);
    coroutine.or_else(|| {
        (main_bottom != 0 && (main_guard..main_bottom).contains(&addr)).then(|| GuardHit {
            owner: "main",
            stack_size: (main_top - main_bottom) as usize,
            guard_bottom: main_guard,
            stack_top: main_top,
        })
    })
}

/// Unmaps both guard pages from the active page table and flushes them from
/// the TLB. Their physical frames are simply never used again (4 KiB each).
///
/// # Safety
///
/// `physical_memory_offset` must be where the bootloader mapped all of
/// physical memory, and the call must not race with other page-table edits
/// (call it once, from `kernel::init`).
pub(crate) unsafe fn unmap_guard_pages(physical_memory_offset: VirtAddr) {
    let (level_4_frame, _) = Cr3::read();
    let level_4_table =
        (physical_memory_offset + level_4_frame.start_address().as_u64()).as_mut_ptr::<PageTable>();
    // SAFETY: the caller guarantees the offset mapping, so this is the active
    // level 4 table, and that nobody else edits it meanwhile.
    let mut mapper = unsafe { OffsetPageTable::new(&mut *level_4_table, physical_memory_offset) };
    for (guard, owner, _) in STACKS.guards() {
        let page = Page::<Size4KiB>::containing_address(VirtAddr::new(guard));
        match mapper.unmap(page) {
            Ok((_frame, flush)) => flush.flush(),
            Err(error) => panic!("could not unmap the guard page below {owner}'s stack: {error:?}"),
        }
    }
}
