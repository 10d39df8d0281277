//! The roster: the coroutine set of a kernel, as data.
//!
//! A kernel lists its coroutines once, with [`roster!`](crate::roster!): for
//! each, its name, its stack, its context slot and its body; plus main's
//! slot. Everything that needs to know the set reads it from there:
//!
//! - the library, once [`crate::init`] installed it: stack names for
//!   [`crate::stacks::locate`], the guard page below each stack
//!   ([`crate::guard`]), "who was running" in fault and panic reports;
//! - the counted, logged switches of this module ([`Coroutines::resume`],
//!   [`suspend`]), which write the transcript lines and the event lines;
//! - gdb/kernel.gdb, through the `coroutine_roster` symbol ([`GdbView`]);
//! - the host tool and the tests, through the `routine` event lines.
//!
//! Adding a coroutine to a kernel is one line in its `roster!`.
//!
//! The stacks and slots stay named statics of the kernel that declares them
//! (`COROUTINE1_STACK`, `CORO1_CONTEXT` in `main.rs`), and in the ELF they
//! carry the original program's labels (`coroutine1_stack`,
//! `coro1_context`), so a gdb user types the names of the NASM listing.

use crate::events;
use crate::guard::GuardedStack;
use crate::stacks::{self, locate};
use core::ops::Deref;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use coroutine_switch::{Body, Coroutine, Resumed, STACK_SIZE, Yielder};
use log::info;
use protocol::event::{Event, Id, Kind, Routine, Switch};
use spin::Once;

/// The most coroutines a roster may hold ([`Coroutines`] keeps their
/// handles in a fixed array: nothing here allocates).
pub const MAX_COROUTINES: usize = 16;

/// main's routine number; coroutines are numbered from 1 in roster order.
pub const MAIN: Id = 0;

/// A `.bss` object and the symbol it has in the ELF (the original's label).
///
/// The object itself is a separate `static` with that symbol (see
/// [`stack!`](crate::stack!) and [`slot!`](crate::slot!)), so it stays in
/// `.bss`; this pairs a reference to it with its name.
pub struct Named<T: 'static> {
    value: &'static T,
    name: &'static str,
}

impl<T> Named<T> {
    /// `value`, known in the ELF as `name`.
    pub const fn new(value: &'static T, name: &'static str) -> Self {
        Self { value, name }
    }

    /// The symbol name, e.g. `coroutine1_stack`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The object, with a `'static` lifetime.
    pub fn get(&self) -> &'static T {
        self.value
    }
}

impl<T> Deref for Named<T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.value
    }
}

/// One coroutine of a roster.
pub struct Member {
    /// Its name in logs and reports, e.g. `coroutine1`.
    pub name: &'static str,
    /// Its stack, above a guard page.
    pub stack: &'static Named<GuardedStack>,
    /// Its context slot: its RSP while it does not run.
    pub slot: &'static Named<Context>,
    /// What it runs.
    pub body: Body,
}

/// A kernel's coroutine set: main's slot and the coroutines. Declare one
/// with [`roster!`](crate::roster!).
pub struct Roster {
    /// main's context slot: main's RSP while a coroutine runs.
    pub main_slot: &'static Named<Context>,
    /// The coroutines, numbered 1.. in this order.
    pub coroutines: &'static [Member],
}

/// Declares a coroutine stack: a [`GuardedStack`] in `.bss` whose stack
/// part is the ELF symbol `$symbol` (4096 bytes, `@object`), and a `static`
/// [`Named`] reference to it.
///
/// The symbol is an alias set with `global_asm!` at the stack part, so that
/// gdb's `info symbol $rsp` answers `coroutine1_stack + N`, and
/// `&coroutine1_stack + 4096` is the top, as in the NASM listing; the
/// guard page below keeps a symbol of its own (`coroutine1_stack_guarded`).
#[macro_export]
macro_rules! stack {
    ($(#[$attr:meta])* $vis:vis static $name:ident = $symbol:literal;) => {
        $(#[$attr])*
        $vis static $name: $crate::roster::Named<$crate::guard::GuardedStack> =
            $crate::roster::Named::new(
                {
                    #[unsafe(export_name = concat!($symbol, "_guarded"))]
                    static GUARDED: $crate::guard::GuardedStack = $crate::guard::GuardedStack::new();
                    &GUARDED
                },
                $symbol,
            );
        ::core::arch::global_asm!(
            concat!(".globl ", $symbol),
            concat!(".type ", $symbol, ", @object"),
            concat!(".set ", $symbol, ", ", $symbol, "_guarded + {guard}"),
            concat!(".size ", $symbol, ", {size}"),
            guard = const $crate::guard::PAGE_SIZE,
            size = const $crate::guard::STACK_SIZE,
        );
    };
}

/// Declares a context slot: a [`Context`] in `.bss` with the ELF symbol
/// `$symbol`, and a `static` [`Named`] reference to it. Naked code reaches
/// it by that name (`mov [rip + main_context], rsp`), gdb too
/// (`x/gx &main_context`).
#[macro_export]
macro_rules! slot {
    ($(#[$attr:meta])* $vis:vis static $name:ident = $symbol:literal;) => {
        $(#[$attr])*
        $vis static $name: $crate::roster::Named<$crate::roster::Context> =
            $crate::roster::Named::new(
                {
                    #[unsafe(export_name = $symbol)]
                    static SLOT: $crate::roster::Context = $crate::roster::Context::new();
                    &SLOT
                },
                $symbol,
            );
    };
}

/// Declares a kernel's roster: main's slot, then one line per coroutine
/// (`name: STACK = "symbol", SLOT = "symbol", body;`), each line declaring
/// that coroutine's stack and slot with [`stack!`](crate::stack!) and
/// [`slot!`](crate::slot!).
///
/// ```ignore
/// kernel::roster! {
///     static ROSTER;
///     main: MAIN_CONTEXT = "main_context";
///     coroutine1: COROUTINE1_STACK = "coroutine1_stack", CORO1_CONTEXT = "coro1_context", coroutine1_task;
///     coroutine2: COROUTINE2_STACK = "coroutine2_stack", CORO2_CONTEXT = "coro2_context", coroutine2_task;
/// }
/// ```
#[macro_export]
macro_rules! roster {
    (
        $(#[$attr:meta])* $vis:vis static $roster:ident;
        main: $main_slot:ident = $main_symbol:literal;
        $($who:ident: $stack:ident = $stack_symbol:literal, $slot:ident = $slot_symbol:literal, $body:expr;)*
    ) => {
        $crate::slot! {
            #[doc = concat!("`", $main_symbol, ": resq 1`: main's RSP while a coroutine runs.")]
            $vis static $main_slot = $main_symbol;
        }
        $(
            $crate::stack! {
                #[doc = concat!("`", $stack_symbol, ": resb 4096`: ", stringify!($who), "'s stack, above an unmapped guard page.")]
                $vis static $stack = $stack_symbol;
            }
            $crate::slot! {
                #[doc = concat!("`", $slot_symbol, ": resq 1`: ", stringify!($who), "'s RSP while it does not run.")]
                $vis static $slot = $slot_symbol;
            }
        )*
        $(#[$attr])*
        $vis static $roster: $crate::roster::Roster = $crate::roster::Roster {
            main_slot: &$main_slot,
            coroutines: &[$($crate::roster::Member {
                name: stringify!($who),
                stack: &$stack,
                slot: &$slot,
                body: $body,
            }),*],
        };
    };
}

// The macros above name these through `$crate::roster`, so that a kernel
// need not depend on the switch crate to declare its roster.
pub use coroutine_switch::Context;

/// What [`install`] recorded: the roster and main's stack.
struct Installed {
    roster: &'static Roster,
    /// main's stack `[bottom, top)`, from the boot information.
    main_stack: (u64, u64),
}

static INSTALLED: Once<Installed> = Once::new();

/// Which routine runs now: [`MAIN`] or a coroutine's number.
static RUNNING: AtomicU32 = AtomicU32::new(MAIN);
/// Switches made so far; the number of the last one.
static SWITCHES: AtomicU64 = AtomicU64::new(0);
/// RSP of the routine about to switch away, for the event the arriving
/// routine writes ([`departing`], [`arrived`]).
static LEAVING_RSP: AtomicU64 = AtomicU64::new(0);

/// What gdb/kernel.gdb reads, at the symbol `coroutine_roster`: plain
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
/// `[main_bottom, main_top)`. Called by [`crate::init`].
///
/// # Panics
///
/// If a roster is already installed, or it has more than
/// [`MAX_COROUTINES`] coroutines.
pub(crate) fn install(roster: &'static Roster, main_bottom: u64, main_top: u64) {
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
    // SAFETY: one CPU, and this runs once (checked above) before any switch
    // and before gdb has a reason to read it; nothing holds a reference to
    // GDB_VIEW (only raw-pointer writes here and gdb's reads).
    unsafe {
        (&raw mut GDB_VIEW).write(GdbView {
            roster,
            main_bottom,
            main_top,
        })
    };
}

/// The installed roster, if any.
pub fn installed() -> Option<&'static Roster> {
    INSTALLED.get().map(|i| i.roster)
}

/// main's stack `[bottom, top)`, once a roster is installed.
pub fn main_stack() -> Option<(u64, u64)> {
    INSTALLED.get().map(|i| i.main_stack)
}

/// The coroutines of the installed roster (none before [`install`]).
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
fn slot(id: Id) -> Option<&'static Named<Context>> {
    match id {
        MAIN => installed().map(|r| r.main_slot),
        _ => member(id).map(|m| m.slot),
    }
}

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

/// Records `rsp`, the RSP of the routine about to switch away (measured in
/// the function that makes the switch), for the event [`arrived`] writes.
pub fn departing(rsp: u64) {
    LEAVING_RSP.store(rsp, Ordering::Relaxed);
}

/// Called by routine `to` right after switch number [`switches`] brought it
/// in from `from`, handing it `value`: from now on reports name it; the
/// event line records the value and both slots as the switch left them; the
/// transcript shows the slots.
pub fn arrived(kind: Kind, from: Id, to: Id, value: Option<u64>) {
    RUNNING.store(to, Ordering::Relaxed);
    // The slots are read back, not assumed: which ones the switch wrote and
    // read is the protocol's rule for `kind`, what they hold is observed.
    let saved = |id: Id| slot(id).map_or(0, |s| s.saved_rsp());
    events::emit(&Event::Switch(Switch {
        n: switches(),
        kind,
        from,
        to,
        value,
        from_rsp: LEAVING_RSP.load(Ordering::Relaxed),
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
        stacks::MAIN_STACK_NAME
    );
    events::emit(&Event::Routine(Routine {
        id: MAIN,
        name: "main",
        stack: stacks::MAIN_STACK_NAME,
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

/// Logs and emits each coroutine stack's high-water mark.
pub fn report_high_water() {
    for (id, member) in (1..).zip(coroutines()) {
        let used = member.stack.high_water_mark();
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
    departing(stacks::rsp());
    result
}

/// Yields `value` to main from the running coroutine, counted and logged;
/// returns the value of the next resume.
pub fn suspend(yielder: &Yielder, value: u64) -> u64 {
    let id = id_of(yielder);
    let n = next_switch();
    info!("{:<10} | #{n} yield {value} to main", name(id));
    departing(stacks::rsp());
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
        departing(before);
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
