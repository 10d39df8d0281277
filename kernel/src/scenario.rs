//! The harness of the fault test kernels (`src/bin/fault_*.rs`): two
//! coroutines on guarded stacks, declared with the same [`roster!`] as
//! `main.rs` and resumed in turn through the same counted switches
//! ([`crate::roster`]), so that every report names the coroutine and the
//! step exactly as the main kernel's would.
//!
//! Why a harness: each test kernel provokes one fault and should read as
//! exactly that, in a few lines; the set-up around it is the same for all.
//! A scenario that gets to the end without its fault calls [`not_caught`],
//! which fails the run with a sentence saying so.

use crate::exit::exit_qemu;
use crate::roster;
use crate::serial_println;
use coroutine_switch::Yielder;
use protocol::ExitCode;
use protocol::event::Id;

/// coroutine1's number in a scenario's roster.
pub const COROUTINE1: Id = 1;
/// coroutine2's number in a scenario's roster.
pub const COROUTINE2: Id = 2;

/// Announces the installed roster and the scenario: `name: what`.
pub fn announce(name: &str, what: &str) {
    roster::announce();
    serial_println!("{name}: {what}");
}

/// Yields `value` to main from a coroutine body, counted and logged.
pub fn step(yielder: &Yielder, value: u64) -> u64 {
    roster::suspend(yielder, value)
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
    exit_qemu(ExitCode::Failed)
}

/// The panic handler of every fault kernel: names the routine and the step.
pub fn panic(info: &core::panic::PanicInfo) -> ! {
    crate::report::report_panic_while_running(info)
}

/// The whole of a fault kernel but its coroutine bodies: the roster (two
/// coroutines, with the stacks and slots of `main.rs`'s and the same
/// symbols), the entry point (boot, set them up, resume them in turn to the
/// end, fail if the fault under test was not caught) and the panic handler.
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
/// The kernel's statics (`COROUTINE1_STACK`, `CORO1_CONTEXT`, ...) are
/// items of the kernel itself, for its bodies to use.
#[macro_export]
macro_rules! scenario_kernel {
    (
        name: $name:literal,
        what: $what:literal,
        coroutines: ($body1:expr, $body2:expr $(,)?),
        $(before: $before:block,)?
        $(after: |$coroutines:ident| $after:block,)?
    ) => {
        $crate::roster! {
            static ROSTER;
            main: MAIN_CONTEXT = "main_context";
            coroutine1: COROUTINE1_STACK = "coroutine1_stack", CORO1_CONTEXT = "coro1_context", $body1;
            coroutine2: COROUTINE2_STACK = "coroutine2_stack", CORO2_CONTEXT = "coro2_context", $body2;
        }

        bootloader_api::entry_point!(scenario_main, config = &$crate::BOOTLOADER_CONFIG);

        fn scenario_main(boot_info: &'static mut bootloader_api::BootInfo) -> ! {
            $crate::serial::init();
            $crate::init(boot_info, Some(&ROSTER));
            $crate::scenario::announce($name, $what);
            $($before)?
            // SAFETY: the first and only set-up of this kernel's roster.
            let coroutines = unsafe { $crate::roster::Coroutines::start() };
            coroutines.round_robin();
            $(let $coroutines = &coroutines; $after)?
            $crate::scenario::not_caught($name)
        }

        #[panic_handler]
        fn panic(info: &core::panic::PanicInfo) -> ! {
            $crate::scenario::panic(info)
        }
    };
}
