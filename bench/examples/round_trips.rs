//! N round trips (resume + yield back) through our safe API or corosensei's,
//! and nothing else: `scripts/icount.py` runs this under
//! `valgrind --tool=callgrind` for two values of N and divides the
//! difference in instructions by the difference in N, which gives the
//! instructions of one round trip (set-up and exit cancel out).
//!
//! `cargo run --release -p switch-bench --example round_trips -- ours 1000`
//! (or `corosensei`): a measuring tool of this repository, not an example
//! for users.

use std::hint::black_box;
use std::process::ExitCode;

/// The same loop as `round_trip/ours` in benches/round_trip.rs.
fn ours(n: u64) {
    use coroutine_switch::{Context, Coroutine, Stack, Yielder};
    fn echo(y: &Yielder, mut value: u64) -> u64 {
        loop {
            value = y.suspend(value);
        }
    }
    let stack: &'static Stack<{ 64 * 1024 }> = Box::leak(Box::new(Stack::new()));
    let own: &'static Context = Box::leak(Box::new(Context::new()));
    let main: &'static Context = Box::leak(Box::new(Context::new()));
    // SAFETY: the stack and both slots are this function's alone.
    let co = unsafe { Coroutine::new(stack, own, main, echo) };
    co.resume(0);
    for _ in 0..n {
        black_box(co.resume(black_box(1)));
    }
}

/// The same loop as `round_trip/corosensei`.
fn corosensei(n: u64) {
    use corosensei::stack::DefaultStack;
    use corosensei::{Coroutine, Yielder};
    let stack = DefaultStack::new(64 * 1024).expect("corosensei stack");
    let mut co = Coroutine::with_stack(stack, |y: &Yielder<u64, u64>, mut value: u64| -> u64 {
        loop {
            value = y.suspend(value);
        }
    });
    co.resume(0);
    for _ in 0..n {
        black_box(co.resume(black_box(1)));
    }
    // It loops forever: dropping it would unwind its stack.
    std::mem::forget(co);
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n = args.get(1).and_then(|n| n.parse::<u64>().ok());
    match (args.first().map(String::as_str), n) {
        (Some("ours"), Some(n)) if args.len() == 2 => ours(n),
        (Some("corosensei"), Some(n)) if args.len() == 2 => corosensei(n),
        _ => {
            eprintln!("usage: round_trips ours|corosensei N");
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}
