//! Where the gdb helpers (the Python package `gdb/coro`) start reading the
//! kernel: one record, `kernel::gdb_facts::GDB_FACTS` (ELF symbol
//! `coroutine_gdb_facts`), holding the switch crate's constants and the name
//! of main's stack, so that `gdb/` keeps no copy of them, and the address of
//! the roster's view (`coroutine_roster`, see [`crate::roster`]), so that
//! gdb finds it whichever module defines it. The same for what `coro goto`
//! needs: the two switch counters and the functions it stops in; and for
//! `coro list`, the high-water marks the kernel's summary reported.

use crate::roster::{ARRIVED, GdbView, MAX_COROUTINES, REPORTED_HIGH_WATER, Roster, SWITCHES};
use crate::stacks::MAIN_STACK_NAME;
use bootloader_api::BootInfo;
use core::sync::atomic::AtomicU64;
use coroutine_switch::{CANARY, FINISHED, INITIAL_FRAME_SIZE, PAINT, TRAMPOLINE_ENTRY};
use protocol::ExitCode;
use protocol::event::{Id, Kind};

unsafe extern "Rust" {
    /// The roster's view, by its ELF symbol (private to the roster: only
    /// its address is taken here).
    #[link_name = "coroutine_roster"]
    static ROSTER_VIEW: GdbView;

    /// The switch crate's tombstone frame, where a finished coroutine's
    /// slot points (only its address is taken here, which also keeps it in
    /// a kernel whose coroutines never finish).
    #[link_name = "coroutine_tombstone_frame"]
    static TOMBSTONE: u8;
}

/// Plain `#[repr(C)]` data that gdb reads by field name.
#[repr(C)]
pub struct GdbFacts {
    /// The byte a fresh coroutine stack is painted with.
    pub paint: u8,
    /// The word at the bottom of a coroutine stack.
    pub canary: u64,
    /// The word that replaces it when the coroutine's body returns.
    pub finished: u64,
    /// The bytes the switch crate puts at the top of a fresh stack: the
    /// `Yielder`, then the frame the first switch into it pops.
    pub fresh_frame: u64,
    /// Where a fresh stack's first frame continues, in bytes past the
    /// symbol `coroutine_trampoline`.
    pub trampoline_entry: u64,
    /// What a finished coroutine's slot holds: the tombstone frame's address.
    pub tombstone: *const u8,
    /// main's stack's name in reports (`main_stack`).
    pub main_stack: &'static str,
    /// The roster's view.
    pub roster_view: *const GdbView,
    /// Switches counted so far: a switch is counted before it is made.
    pub switches: &'static AtomicU64,
    /// The last switch whose arriving side ran `arrival`.
    pub arrived: &'static AtomicU64,
    /// Each coroutine's high-water mark as the summary reported it (0
    /// before), by roster order: `coro list` shows it once the summary's
    /// timing has reused the stack.
    pub high_water: &'static [AtomicU64; MAX_COROUTINES],
    /// `roster::arrived`, which a switch's arriving side calls first.
    pub arrival: fn(Kind, Id, Id, Option<u64>),
    /// `kernel::init`, which every kernel calls before its first switch.
    pub init: fn(&BootInfo, Option<&'static Roster>),
    /// `kernel::exit::exit_qemu`, where every run ends.
    pub exit: fn(ExitCode) -> !,
}

// SAFETY: the kernel never reads GDB_FACTS (gdb does), and `roster_view` and
// `tombstone` are addresses that nothing dereferences through this record.
unsafe impl Sync for GdbFacts {}

// `#[used]`: no kernel code reads it, and the linker must keep it.
#[used]
#[unsafe(export_name = "coroutine_gdb_facts")]
static GDB_FACTS: GdbFacts = GdbFacts {
    paint: PAINT,
    canary: CANARY,
    finished: FINISHED,
    fresh_frame: INITIAL_FRAME_SIZE as u64,
    trampoline_entry: TRAMPOLINE_ENTRY,
    tombstone: &raw const TOMBSTONE,
    main_stack: MAIN_STACK_NAME,
    roster_view: &raw const ROSTER_VIEW,
    switches: &SWITCHES,
    arrived: &ARRIVED,
    high_water: &REPORTED_HIGH_WATER,
    arrival: crate::roster::arrived,
    init: crate::init,
    exit: crate::exit::exit_qemu,
};
