//! The harness of the fault test kernels (`src/bin/fault_*.rs`): two
//! coroutines on the guarded stacks of [`crate::guard::STACKS`], resumed in
//! turn by main, with the same "who runs / which switch" bookkeeping as
//! `main.rs` so that every report names the coroutine and the step.
//!
//! Why a harness: each test kernel provokes one fault and should read as
//! exactly that, in a few lines; the set-up around it is the same for all.
//! A scenario that gets to the end without its fault calls [`not_caught`],
//! which fails the run with a sentence saying so.

use crate::guard::STACKS;
use crate::{QemuExitCode, Running, exit_qemu, serial, serial_println};
use bootloader_api::BootInfo;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use coroutine_switch::{Body, Context, Coroutine, Resumed, Yielder};

/// Index of main in [`NAMES`].
pub const MAIN: usize = 0;
/// Index of coroutine1 in [`NAMES`].
pub const COROUTINE1: usize = 1;
/// Index of coroutine2 in [`NAMES`].
pub const COROUTINE2: usize = 2;
/// The routines' names, as in `main.rs`.
pub const NAMES: [&str; 3] = ["main", "coroutine1", "coroutine2"];

static MAIN_CONTEXT: Context = Context::new();
static CORO1_CONTEXT: Context = Context::new();
static CORO2_CONTEXT: Context = Context::new();
/// Which routine runs now (an index into [`NAMES`]).
static RUNNING: AtomicUsize = AtomicUsize::new(MAIN);
/// Switches made so far: the step a fault is reported at.
static SWITCHES: AtomicU64 = AtomicU64::new(0);

/// Initialises serial and fault handling and announces the scenario.
pub fn start(boot_info: &BootInfo, name: &str, what: &str) {
    serial::init();
    crate::init(
        boot_info,
        Some(Running {
            index: &RUNNING,
            names: &NAMES,
            switches: &SWITCHES,
        }),
    );
    serial_println!("{name}: {what}");
}

/// The two coroutines, on the guarded stacks.
///
/// # Panics
///
/// If called twice: the stacks and slots belong to the first pair.
pub fn coroutines(body1: Body, body2: Body) -> [Coroutine<'static>; 2] {
    static TAKEN: AtomicBool = AtomicBool::new(false);
    assert!(
        !TAKEN.swap(true, Ordering::Relaxed),
        "scenario::coroutines was called twice"
    );
    // SAFETY: first and only call (checked above), so each stack and slot
    // belongs to one coroutine; only main resumes them, through MAIN_CONTEXT.
    unsafe {
        [
            Coroutine::new(&STACKS.coroutine1, &CORO1_CONTEXT, &MAIN_CONTEXT, body1),
            Coroutine::new(&STACKS.coroutine2, &CORO2_CONTEXT, &MAIN_CONTEXT, body2),
        ]
    }
}

/// Resumes coroutine `who` (`COROUTINE1` or `COROUTINE2`), counting the
/// switch and marking it as running while it does.
pub fn resume(coroutines: &[Coroutine<'static>; 2], who: usize, value: u64) -> Resumed {
    let coroutine = &coroutines[who - COROUTINE1];
    SWITCHES.fetch_add(1, Ordering::Relaxed);
    // Resuming a finished coroutine panics before any switch: main is the one
    // that runs (and misbehaves) then.
    if !coroutine.is_finished() {
        RUNNING.store(who, Ordering::Relaxed);
    }
    let result = coroutine.resume(value);
    RUNNING.store(MAIN, Ordering::Relaxed);
    result
}

/// Resumes both coroutines in turn until both have returned.
pub fn run_to_end(coroutines: &[Coroutine<'static>; 2]) {
    let mut value = 0;
    while coroutines.iter().any(|c| !c.is_finished()) {
        for who in [COROUTINE1, COROUTINE2] {
            if !coroutines[who - COROUTINE1].is_finished() {
                value += 1;
                resume(coroutines, who, value);
            }
        }
    }
}

/// Yields `value` to main from a coroutine body, counting the switch.
pub fn step(yielder: &Yielder, value: u64) -> u64 {
    SWITCHES.fetch_add(1, Ordering::Relaxed);
    yielder.suspend(value)
}

/// A well-behaved coroutine body: yields three times, then returns.
pub fn yield_three_times(yielder: &Yielder, first: u64) -> u64 {
    let mut received = first;
    for round in 1..=3 {
        received = step(yielder, round);
    }
    received
}

/// Recurses without end, 64 bytes of live array per frame: overflows
/// whatever stack it runs on. `black_box` stops the compiler from seeing
/// through the recursion or the array.
pub fn recurse_without_end(n: u64) -> u64 {
    let frame = core::hint::black_box([n; 8]);
    if core::hint::black_box(true) {
        recurse_without_end(n + 1) + frame[7]
    } else {
        frame[0]
    }
}

/// Fails the run because scenario `name` finished without its fault.
pub fn not_caught(name: &str) -> ! {
    serial_println!("{name}: the scenario ended without the fault it provokes.");
    exit_qemu(QemuExitCode::Failed)
}

/// The panic handler of every fault kernel: names the routine and the step.
pub fn panic(info: &core::panic::PanicInfo) -> ! {
    crate::report_panic_while_running(info)
}

/// The whole of a fault kernel but its coroutine bodies: the entry point
/// (boot, set up two guarded coroutines, resume them to the end, fail if the
/// fault under test was not caught) and the panic handler.
///
/// ```ignore
/// kernel::scenario_kernel! {
///     name: "fault_breakpoint",
///     what: "coroutine1 executes int3",
///     coroutines: (breakpoint, scenario::yield_three_times),
/// }
/// ```
///
/// `before: { ... }` runs after the set-up and before the first resume;
/// `after: |coroutines| { ... }` runs once both coroutines have finished.
#[macro_export]
macro_rules! scenario_kernel {
    (
        name: $name:literal,
        what: $what:literal,
        coroutines: ($body1:expr, $body2:expr $(,)?),
        $(before: $before:block,)?
        $(after: |$coroutines:ident| $after:block,)?
    ) => {
        bootloader_api::entry_point!(scenario_main, config = &$crate::BOOTLOADER_CONFIG);

        fn scenario_main(boot_info: &'static mut bootloader_api::BootInfo) -> ! {
            $crate::scenario::start(boot_info, $name, $what);
            $($before)?
            let coroutines = $crate::scenario::coroutines($body1, $body2);
            $crate::scenario::run_to_end(&coroutines);
            $(let $coroutines = &coroutines; $after)?
            $crate::scenario::not_caught($name)
        }

        #[panic_handler]
        fn panic(info: &core::panic::PanicInfo) -> ! {
            $crate::scenario::panic(info)
        }
    };
}
