//! The counted, logged switches between the routines of the installed
//! roster: who runs, how many switches so far, and for each switch a
//! transcript line on COM1 and two event lines on COM2, one per side.
//!
//! A switch has two sides on two stacks, and each writes what it saw: the
//! routine that leaves calls [`departing`] just before it switches, which
//! writes its `leave` event line (its RSP), and the one that comes in calls
//! [`arrived`] right after, which writes the `switch` line (the value and
//! the slots). Nothing passes between the two but what the switch itself
//! hands across: the one register it carries, rax, is the program's value
//! (in phase 1's `call`/`ret` as in the switch crate's `switch_into` and
//! `switch_back`). The readers join the two lines by the switch's number.

use super::declare::MAIN;
use super::registry::{MAX_COROUTINES, coroutines, installed, locate, member, name, slot};
use crate::events;
use crate::stacks;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use coroutine_switch::{Coroutine, Resumed, Yielder};
use log::info;
use protocol::event::{Event, Id, Kind, Leave, Switch};

/// Which routine runs now: [`MAIN`] or a coroutine's number.
static RUNNING: AtomicU32 = AtomicU32::new(MAIN);
/// Switches made so far; the number of the last one. Counted before the
/// switch is made (see [`ARRIVED`]).
pub(crate) static SWITCHES: AtomicU64 = AtomicU64::new(0);
/// The number of the last switch whose arriving side has called
/// [`arrived`]: between a switch's counting in [`next_switch`] and its
/// arrival, [`SWITCHES`] is one ahead. The kernel never reads it; gdb's
/// `coro goto` does (through [`crate::gdb_facts`]), to tell whether switch
/// #N is ahead or behind.
pub(crate) static ARRIVED: AtomicU64 = AtomicU64::new(0);

/// The routine that runs now.
pub fn running() -> Id {
    RUNNING.load(Ordering::Relaxed)
}

/// The number of the last switch made.
pub fn switches() -> u64 {
    SWITCHES.load(Ordering::Relaxed)
}

/// Counts a switch about to be made; returns its number.
pub fn next_switch() -> u64 {
    SWITCHES.fetch_add(1, Ordering::Relaxed) + 1
}

/// Called by routine `from` just before it makes switch number `n` (from
/// [`next_switch`]): writes the `leave` event line with `rsp`, its RSP as
/// measured in the function that makes the switch.
pub fn departing(n: u64, from: Id, rsp: u64) {
    events::emit(&Event::Leave(Leave { n, from, rsp }));
}

/// Called by routine `to` right after switch number [`switches`] brought it
/// in from `from`, handing it `value`: from now on reports name it; the
/// `switch` event line records the value and both slots as the switch left
/// them; the transcript shows the slots.
pub fn arrived(kind: Kind, from: Id, to: Id, value: Option<u64>) {
    RUNNING.store(to, Ordering::Relaxed);
    ARRIVED.store(switches(), Ordering::Relaxed);
    // The slots are read back, not assumed: which ones the switch wrote and
    // read is the protocol's rule for `kind`, what they hold is observed.
    let saved = |id: Id| slot(id).map_or(0, |s| s.saved_rsp());
    events::emit(&Event::Switch(Switch {
        n: switches(),
        kind,
        from,
        to,
        value,
        stored: kind.writes_slot_of(from).map(saved),
        loaded: saved(kind.reads_slot_of(to)),
        rsp: stacks::rsp(),
        tsc: events::tsc(),
    }));
    log_slots(name(to));
}

/// Logs every slot of the installed roster on one line, as `who` sees them:
/// `slots main_context=0x... (main_stack top-0x328) coro1_context=...`.
pub fn log_slots(who: &str) {
    struct Slots;
    impl core::fmt::Display for Slots {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            let Some(roster) = installed() else {
                return Ok(());
            };
            let all =
                core::iter::once(roster.main_slot).chain(roster.coroutines.iter().map(|m| m.slot));
            for (i, slot) in all.enumerate() {
                let rsp = slot.saved_rsp();
                let gap = if i == 0 { "" } else { " " };
                write!(f, "{gap}{}={rsp:#018x} ({})", slot.name(), locate(rsp))?;
            }
            Ok(())
        }
    }
    info!("{who:<10} | slots {}", Slots);
}

/// The number of the coroutine that `yielder` belongs to.
fn id_of(yielder: &Yielder) -> Id {
    (1..)
        .zip(coroutines())
        .find(|(_, m)| core::ptr::eq(m.slot.get(), yielder.context()))
        .map_or(MAIN, |(id, _)| id)
}

/// The body every coroutine of a roster starts in: it announces the
/// coroutine (first switch in), runs the roster's body for it, and counts
/// and logs the final switch back that follows its return.
fn entry(yielder: &Yielder, first: u64) -> u64 {
    let id = id_of(yielder);
    arrived(Kind::Resume, MAIN, id, Some(first));
    let body = member(id).expect("a roster coroutine").body;
    let result = body(yielder, first);
    let n = next_switch();
    info!("{:<10} | #{n} return {result} to main, finished", name(id));
    departing(n, id, stacks::rsp());
    result
}

/// Yields `value` to main from the running coroutine, counted and logged;
/// returns the value of the next resume.
pub fn suspend(yielder: &Yielder, value: u64) -> u64 {
    let id = id_of(yielder);
    let n = next_switch();
    info!("{:<10} | #{n} yield {value} to main", name(id));
    departing(n, id, stacks::rsp());
    let received = yielder.suspend(value);
    arrived(Kind::Resume, MAIN, id, Some(received));
    received
}

/// The coroutines of a roster, set up on their stacks and ready to resume.
pub struct Coroutines {
    handles: [Option<Coroutine<'static>>; MAX_COROUTINES],
}

impl Coroutines {
    /// Sets up every coroutine of the installed roster: paints its stack,
    /// writes its canary and its first frame (see the switch crate).
    ///
    /// # Safety
    ///
    /// The roster's stacks and slots must be free: no other [`Coroutines`]
    /// still in use, and no code running on or switching to them (in
    /// `main.rs`, phase 1 is over before phase 2 calls this).
    ///
    /// # Panics
    ///
    /// If no roster is installed.
    pub unsafe fn start() -> Coroutines {
        let roster = installed().expect("kernel::init installs the roster first");
        let mut handles = [const { None }; MAX_COROUTINES];
        for (handle, member) in handles.iter_mut().zip(roster.coroutines) {
            // SAFETY: the caller gives us the stacks and slots; each member
            // has its own (the roster declares one of each per line), and
            // only main resumes them, through main's one slot.
            *handle = Some(unsafe {
                Coroutine::new(
                    member.stack.get(),
                    member.slot.get(),
                    roster.main_slot.get(),
                    entry,
                )
            });
        }
        Coroutines { handles }
    }

    fn handle(&self, id: Id) -> &Coroutine<'static> {
        (id as usize)
            .checked_sub(1)
            .and_then(|i| self.handles.get(i))
            .and_then(Option::as_ref)
            .unwrap_or_else(|| panic!("no coroutine number {id} in the roster"))
    }

    /// Whether coroutine `id` has finished.
    pub fn is_finished(&self, id: Id) -> bool {
        self.handle(id).is_finished()
    }

    /// The numbers of the coroutines, 1.. in roster order.
    pub fn ids(&self) -> impl Iterator<Item = Id> + use<> {
        1..=coroutines().len() as Id
    }

    /// Resumes coroutine `id` with `value`, counted and logged, and logs
    /// what it handed back.
    pub fn resume(&self, id: Id, value: u64) -> Resumed {
        let name = name(id);
        let n = next_switch();
        let before = stacks::rsp();
        info!(
            "main       | #{n} resume {name} with {value}, RSP={before:#018x} ({})",
            locate(before)
        );
        departing(n, MAIN, before);
        // The coroutine names itself once it runs (`arrived`); until then,
        // and in `resume`'s own checks, main is the one running.
        let result = self.handle(id).resume(value);
        let (kind, back) = match result {
            Resumed::Yielded(v) => (Kind::Yield, v),
            Resumed::Returned(v) => (Kind::Finish, v),
        };
        arrived(kind, id, MAIN, Some(back));
        match result {
            Resumed::Yielded(v) => info!("main       | {name} yielded {v}"),
            Resumed::Returned(v) => info!("main       | {name} returned {v}, finished"),
        }
        let after = stacks::rsp();
        info!(
            "main       | RSP={after:#018x} ({}), {}",
            locate(after),
            if before == after {
                "restored"
            } else {
                "CHANGED"
            }
        );
        result
    }

    /// Resumes the coroutines in roster order, skipping finished ones,
    /// until all have finished; each resume hands over the next of 1, 2, 3...
    pub fn round_robin(&self) {
        let mut value = 0;
        while self.ids().any(|id| !self.is_finished(id)) {
            for id in self.ids() {
                if !self.is_finished(id) {
                    value += 1;
                    self.resume(id, value);
                }
            }
        }
    }
}
