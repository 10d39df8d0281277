//! The roster: the coroutine set of a kernel, as data.
//!
//! A kernel lists its coroutines once, with [`roster!`](crate::roster!): for
//! each, its name, its stack, its context slot and its body; plus main's
//! slot. Everything that needs to know the set reads it from there:
//!
//! - the library, once [`crate::init`] installed it: stack names for
//!   [`locate`], the guard page below each stack ([`guard_hit`]), "who was
//!   running" in fault and panic reports;
//! - the counted, logged switches ([`Coroutines::resume`], [`suspend`]),
//!   which write the transcript lines and the event lines;
//! - the gdb helpers (`gdb/coro`), through the `coroutine_roster` symbol
//!   ([`GdbView`]), which `kernel::gdb_facts` points them at;
//! - the host tool and the tests, through the `routine` event lines.
//!
//! Adding a coroutine to a kernel is one line in its `roster!`.
//!
//! The stacks and slots stay named statics of the kernel that declares them
//! (`COROUTINE1_STACK`, `CORO1_CONTEXT` in `main.rs`), and in the ELF they
//! carry the original program's labels (`coroutine1_stack`,
//! `coro1_context`), so a gdb user types the names of the NASM listing.
//!
//! In three parts, each reading only the ones before it:
//!
//! - `declare`: what a kernel writes, the `roster!`, `stack!` and `slot!`
//!   macros and the [`Roster`] they build;
//! - `registry`: the roster [`crate::init`] installed, and what can be asked
//!   of it (names, slots, stacks, guard pages);
//! - `switches`: the counted, logged switches between its routines.
//!
//! This file adds only [`install`] and gdb's view of the installed roster,
//! which stays here so that its name in the debug information is
//! `kernel::roster::GDB_VIEW`.

mod declare;
mod registry;
mod switches;

pub use declare::{Context, MAIN, Member, Named, Roster};
pub(crate) use registry::REPORTED_HIGH_WATER;
pub use registry::{
    MAX_COROUTINES, announce, coroutines, guard_hit, installed, locate, main_stack, member, name,
    report_high_water,
};
pub(crate) use switches::{ARRIVED, SWITCHES};
pub use switches::{
    Coroutines, arrived, departing, log_slots, next_switch, running, suspend, switches,
};

/// What the gdb helpers (`gdb/coro`) read, at the symbol `coroutine_roster`: plain
/// `#[repr(C)]` data of this crate (no lock, no private layout of another
/// crate). Written once by [`install`], before any switch.
#[repr(C)]
pub struct GdbView {
    /// The installed roster, or null.
    pub roster: *const Roster,
    /// main's stack, lowest address.
    pub main_bottom: u64,
    /// main's stack, one past the highest address.
    pub main_top: u64,
}

#[unsafe(export_name = "coroutine_roster")]
static mut GDB_VIEW: GdbView = GdbView {
    roster: core::ptr::null(),
    main_bottom: 0,
    main_top: 0,
};

/// Makes `roster` the kernel's coroutine set, with main's stack
/// `[main_bottom, main_top)`, for the library and for gdb. Called by
/// [`crate::init`].
///
/// # Panics
///
/// If a roster is already installed, or it has more than
/// [`MAX_COROUTINES`] coroutines.
pub(crate) fn install(roster: &'static Roster, main_bottom: u64, main_top: u64) {
    registry::record(roster, main_bottom, main_top);
    // SAFETY: one CPU, and this runs once (`record` checked it) before any
    // switch and before gdb has a reason to read it; nothing holds a
    // reference to GDB_VIEW (only raw-pointer writes here and gdb's reads).
    unsafe {
        (&raw mut GDB_VIEW).write(GdbView {
            roster,
            main_bottom,
            main_top,
        })
    };
}
