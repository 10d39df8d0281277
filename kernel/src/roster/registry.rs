//! The installed roster: the one [`crate::init`] installed with main's
//! stack, and what the rest of the library asks of it (a routine's name and
//! slot, which stack an address lies in, which guard page it hit), without
//! taking a lock.

use super::declare::{Context, MAIN, Member, Named, Roster};
use crate::events;
use crate::guard::GuardHit;
use crate::stacks::{Location, MAIN_STACK_NAME, Region};
use core::sync::atomic::{AtomicU64, Ordering};
use coroutine_switch::STACK_SIZE;
use log::info;
use protocol::event::{Event, Id, Routine};
use spin::Once;

/// The most coroutines a roster may hold (`Coroutines` keeps their handles
/// in a fixed array: nothing here allocates).
pub const MAX_COROUTINES: usize = 16;

/// What [`record`] recorded: the roster and main's stack.
struct Installed {
    roster: &'static Roster,
    /// main's stack `[bottom, top)`, from the boot information.
    main_stack: (u64, u64),
}

static INSTALLED: Once<Installed> = Once::new();

/// Records `roster` as the kernel's coroutine set, with main's stack
/// `[main_bottom, main_top)` (see `roster::install`).
///
/// # Panics
///
/// If a roster is already installed, or it has more than
/// [`MAX_COROUTINES`] coroutines.
pub(super) fn record(roster: &'static Roster, main_bottom: u64, main_top: u64) {
    assert!(
        roster.coroutines.len() <= MAX_COROUTINES,
        "a roster holds at most {MAX_COROUTINES} coroutines"
    );
    let mut first = false;
    INSTALLED.call_once(|| {
        first = true;
        Installed {
            roster,
            main_stack: (main_bottom, main_top),
        }
    });
    assert!(first, "a roster was installed twice");
}

/// The installed roster, if any.
pub fn installed() -> Option<&'static Roster> {
    INSTALLED.get().map(|i| i.roster)
}

/// main's stack `[bottom, top)`, once a roster is installed.
pub fn main_stack() -> Option<(u64, u64)> {
    INSTALLED.get().map(|i| i.main_stack)
}

/// The coroutines of the installed roster (none before [`record`]).
pub fn coroutines() -> &'static [Member] {
    installed().map_or(&[], |r| r.coroutines)
}

/// A routine's name: `main`, a coroutine's name, or `?`.
pub fn name(id: Id) -> &'static str {
    match id {
        MAIN => "main",
        _ => member(id).map_or("?", |m| m.name),
    }
}

/// Coroutine `id` (1-based) of the installed roster.
pub fn member(id: Id) -> Option<&'static Member> {
    coroutines().get((id as usize).checked_sub(1)?)
}

/// A routine's context slot.
pub(super) fn slot(id: Id) -> Option<&'static Named<Context>> {
    match id {
        MAIN => installed().map(|r| r.main_slot),
        _ => member(id).map(|m| m.slot),
    }
}

/// Where `addr` lies: main's stack or a coroutine stack of the installed
/// roster, and the offset below its top (see [`Location`]).
pub fn locate(addr: u64) -> Location {
    let main = main_stack().map(|(bottom, top)| Region {
        name: MAIN_STACK_NAME,
        bottom,
        top,
    });
    let coroutines = coroutines().iter().map(|m| Region {
        name: m.stack.name(),
        bottom: m.stack.bottom(),
        top: m.stack.top(),
    });
    Location::among(addr, main.into_iter().chain(coroutines))
}

/// The guard page `addr` lies in, if any: below a coroutine stack of the
/// installed roster, or the one the bootloader leaves below main's stack.
/// Lock-free, for the page-fault handler.
pub fn guard_hit(addr: u64) -> Option<GuardHit> {
    coroutines()
        .iter()
        .find_map(|m| m.stack.hit(addr, m.name))
        .or_else(|| {
            let (bottom, top) = main_stack()?;
            GuardHit::below_main(addr, bottom, top)
        })
}

/// Logs the bounds of main's stack and of every coroutine stack, and writes
/// a `routine` event line for each routine. Call once, after [`crate::init`].
pub fn announce() {
    let Some(installed) = INSTALLED.get() else {
        return;
    };
    let (bottom, top) = installed.main_stack;
    let main_slot = installed.roster.main_slot;
    info!(
        "stack {:<16} [{bottom:#018x}, {top:#018x})",
        MAIN_STACK_NAME
    );
    events::emit(&Event::Routine(Routine {
        id: MAIN,
        name: "main",
        stack: MAIN_STACK_NAME,
        bottom,
        top,
        slot: main_slot.name(),
        slot_addr: main_slot.as_ptr() as u64,
    }));
    for (id, member) in (1..).zip(installed.roster.coroutines) {
        let stack = member.stack;
        info!(
            "stack {:<16} [{:#018x}, {:#018x})",
            stack.name(),
            stack.bottom(),
            stack.top()
        );
        events::emit(&Event::Routine(Routine {
            id,
            name: member.name,
            stack: stack.name(),
            bottom: stack.bottom(),
            top: stack.top(),
            slot: member.slot.name(),
            slot_addr: member.slot.as_ptr() as u64,
        }));
    }
}

/// Each coroutine's high-water mark as [`report_high_water`] reported it
/// (by roster order; 0 before), for gdb: once the summary's timing reuses a
/// stack, the stack itself no longer shows how deep its coroutine went.
pub(crate) static REPORTED_HIGH_WATER: [AtomicU64; MAX_COROUTINES] =
    [const { AtomicU64::new(0) }; MAX_COROUTINES];

/// Logs and emits each coroutine stack's high-water mark.
pub fn report_high_water() {
    for ((id, member), reported) in (1..).zip(coroutines()).zip(&REPORTED_HIGH_WATER) {
        let used = member.stack.high_water_mark();
        reported.store(used as u64, Ordering::Relaxed);
        info!(
            "{} stack high-water mark: {used} of {STACK_SIZE} bytes",
            member.name
        );
        events::emit(&Event::HighWater {
            id,
            bytes: used as u64,
            size: STACK_SIZE as u64,
        });
    }
}
