//! Test kernel: eight coroutines resumed round-robin by main, on the same
//! roster and switch as the coroutine kernel (`cargo run -- --bin
//! round_robin`).
//!
//! Each coroutine keeps a running total in a local on its own stack and
//! yields it `ROUNDS` times; after every resume it checks that the total is
//! still what it left there, while seven other coroutines ran on their own
//! stacks in between. A wrong value panics (the run fails), so the test that
//! boots this kernel (boot/tests/end_to_end/round_robin.rs) only needs the exit status
//! and the event lines: the order of the switches and the stack of every
//! RSP.
//!
//! Adding a ninth coroutine is one more line in the `roster!` below.

#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn)]

use bootloader_api::{BootInfo, entry_point};
use core::panic::PanicInfo;
use coroutine_switch::Yielder;
use kernel::BOOTLOADER_CONFIG;
use kernel::exit::exit_qemu;
use kernel::roster::{self, Coroutines, locate};
use log::info;
use protocol::ExitCode;

kernel::roster! {
    static ROSTER;
    main: MAIN_CONTEXT = "main_context";
    coroutine1: COROUTINE1_STACK = "coroutine1_stack", CORO1_CONTEXT = "coro1_context", worker::<1>;
    coroutine2: COROUTINE2_STACK = "coroutine2_stack", CORO2_CONTEXT = "coro2_context", worker::<2>;
    coroutine3: COROUTINE3_STACK = "coroutine3_stack", CORO3_CONTEXT = "coro3_context", worker::<3>;
    coroutine4: COROUTINE4_STACK = "coroutine4_stack", CORO4_CONTEXT = "coro4_context", worker::<4>;
    coroutine5: COROUTINE5_STACK = "coroutine5_stack", CORO5_CONTEXT = "coro5_context", worker::<5>;
    coroutine6: COROUTINE6_STACK = "coroutine6_stack", CORO6_CONTEXT = "coro6_context", worker::<6>;
    coroutine7: COROUTINE7_STACK = "coroutine7_stack", CORO7_CONTEXT = "coro7_context", worker::<7>;
    coroutine8: COROUTINE8_STACK = "coroutine8_stack", CORO8_CONTEXT = "coro8_context", worker::<8>;
}

/// How many times each coroutine yields before it returns.
const ROUNDS: u64 = 3;

entry_point!(main, config = &BOOTLOADER_CONFIG);

fn main(boot_info: &'static mut BootInfo) -> ! {
    kernel::serial::init();
    kernel::init(boot_info, Some(&ROSTER));
    roster::announce();
    info!(
        "round_robin: {} coroutines, {ROUNDS} yields each",
        ROSTER.coroutines.len()
    );
    // SAFETY: the first and only set-up of this kernel's roster.
    let coroutines = unsafe { Coroutines::start() };
    coroutines.round_robin();
    info!("switches made: {}", roster::switches());
    roster::report_high_water();
    exit_qemu(ExitCode::Success)
}

/// Coroutine `N`: starts its total at `N * 1000`, adds the round number
/// each round and yields the total.
fn worker<const N: u64>(yielder: &Yielder, _first: u64) -> u64 {
    let mut total = N * 1000;
    // Keep the total in memory, on this stack, where another coroutine's
    // stray write or a switch that lost RSP would show.
    let kept = core::hint::black_box(&mut total);
    let at = &raw const *kept as u64;
    info!("coroutine{N} | total kept at {at:#018x} ({})", locate(at));
    for round in 1..=ROUNDS {
        *kept += round;
        let expected = *kept;
        roster::suspend(yielder, expected);
        assert_eq!(
            core::hint::black_box(*kept),
            expected,
            "coroutine{N}'s total changed while it was suspended"
        );
    }
    *kept
}

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    kernel::report::report_panic_while_running(info)
}
