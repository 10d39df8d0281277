//! The summary at the end of a run, and the measurement in it: the switches
//! made, each stack's high-water mark, the TSC ticks per switch and, when the
//! TSC counts instructions (QEMU's `-icount`, Bochs), the instructions of
//! one round trip of the switch.
//!
//! The timing runs the very switch the program used, on a stack and slot
//! the caller lends: the program's coroutine1 lends its own once it has
//! finished.

use crate::guard::GuardedStack;
use crate::roster::{self, Context, Named};
use core::arch::asm;
use coroutine_switch::{Coroutine, Resumed, Yielder};
use log::info;

/// A finished coroutine's stack and slot, lent to the timing coroutines,
/// and the slot of the routine that runs them.
#[derive(Clone, Copy)]
struct Borrowed {
    /// The stack the timing coroutines run on.
    stack: &'static GuardedStack,
    /// Their context slot.
    own: &'static Context,
    /// The slot of the routine that resumes them (main's).
    caller: &'static Context,
}

/// Round trips timed for the cycles-per-switch figure.
const TIMED_ROUND_TRIPS: u64 = 10_000;

/// The summary: switches made, high-water marks, then the two figures
/// measured on `stack` and `own`, lent by a finished coroutine.
///
/// # Safety
///
/// No coroutine may use `stack` or `own` any more (their coroutine has
/// finished), and `caller` must be the slot of the routine that calls this.
pub unsafe fn summary(stack: &Named<GuardedStack>, own: &Named<Context>, caller: &Named<Context>) {
    let borrowed = Borrowed {
        stack: stack.get(),
        own: own.get(),
        caller: caller.get(),
    };
    let switches = roster::switches();
    info!("== summary ==");
    info!("switches made: {switches}");
    // Before the timing below reuses coroutine1's stack.
    roster::report_high_water();
    // SAFETY: as this function's own contract.
    let cycles = unsafe { cycles_per_switch(borrowed) };
    // What the figure means depends on who runs us: CPUID says.
    info!(
        "cycles per switch: {cycles} (rdtsc over {} switches; {})",
        2 * TIMED_ROUND_TRIPS,
        crate::hypervisor::detect().tsc_figure()
    );
    // SAFETY: as above; the timing coroutine has returned.
    match unsafe { round_trip_instructions(borrowed) } {
        Some((count, per)) => info!(
            "round trip: one resume + yield executes {count} instructions \
             (counted: every instruction advances the TSC by {per} here)"
        ),
        None => info!(
            "round trip: not counted (the TSC measures time here; under QEMU's -icount, as in make record, it counts instructions)"
        ),
    }
    info!("all coroutines finished: exiting with success");
}

/// Times `TIMED_ROUND_TRIPS` resume/yield round trips on the borrowed stack
/// with the very switch the program used, and returns TSC ticks per switch.
/// Not through the roster: no logging, no events, nothing but the switch.
///
/// # Safety
///
/// As for [`summary`].
unsafe fn cycles_per_switch(borrowed: Borrowed) -> u64 {
    fn ping(yielder: &Yielder, mut value: u64) -> u64 {
        for _ in 0..TIMED_ROUND_TRIPS {
            value = yielder.suspend(value + 1);
        }
        value
    }
    // SAFETY: the stack and slot are free (this function's contract).
    let timed = unsafe { Coroutine::new(borrowed.stack, borrowed.own, borrowed.caller, ping) };
    // The first resume runs the trampoline: keep it out of the timing.
    let mut value = match timed.resume(0) {
        Resumed::Yielded(v) => v,
        Resumed::Returned(_) => unreachable!("ping yields first"),
    };
    let start = rdtsc_serialized();
    for _ in 1..TIMED_ROUND_TRIPS {
        if let Resumed::Yielded(v) = timed.resume(value) {
            value = v;
        }
    }
    let end = rdtsc_serialized();
    assert_eq!(timed.resume(value), Resumed::Returned(TIMED_ROUND_TRIPS));
    (end - start) / (2 * (TIMED_ROUND_TRIPS - 1))
}

/// How many instructions one resume + yield round trip of the switch
/// executes, and the TSC ticks per instruction; `None` unless the TSC
/// counts instructions.
///
/// Under QEMU's `-icount shift=S` the TSC is the instruction count times
/// 2^S, exact at every `rdtsc` (Bochs's counts one per instruction), so a
/// difference of two readings counts the instructions between them. Here:
/// the TSC ticks around one `resume` (the coroutine yields straight back)
/// minus those around nothing, divided by the ticks of one instruction,
/// measured on 64 `nop`s. Without `-icount` the TSC measures time, and the
/// 64 `nop`s do not take a whole, repeatable power-of-two number of ticks
/// each: then there is no count.
///
/// The count includes the few moves the compiler places around the call
/// (the coroutine's fields into argument registers, the check of its slot
/// after), which depend on the code around it: the same switch counts one
/// or two instructions more or less when this function or its caller
/// changes.
///
/// # Safety
///
/// As for [`summary`], and no coroutine made by [`cycles_per_switch`] may
/// still be running on the stack.
unsafe fn round_trip_instructions(borrowed: Borrowed) -> Option<(u64, u64)> {
    /// How often the measurement of the `nop`s must repeat exactly.
    const SAME_EVERY_TIME: usize = 3;
    /// Yields once to end the first resume, once to end the counted one,
    /// then returns what the last resume handed it.
    fn echo(yielder: &Yielder, first: u64) -> u64 {
        let counted = yielder.suspend(first);
        yielder.suspend(counted)
    }
    /// TSC ticks spent in `work`, minus those of an empty measurement.
    fn ticks(work: impl FnOnce()) -> i128 {
        let start = rdtsc_serialized();
        work();
        let end = rdtsc_serialized();
        i128::from(end) - i128::from(start)
    }
    // SAFETY: the stack and slot are free (this function's contract).
    let counted = unsafe { Coroutine::new(borrowed.stack, borrowed.own, borrowed.caller, echo) };
    // The first resume runs the trampoline: not a round trip to count.
    counted.resume(0);
    let empty = ticks(|| ());
    let round_trip = ticks(|| {
        core::hint::black_box(counted.resume(1));
    }) - empty;
    let mut per_64 = [0; SAME_EVERY_TIME];
    for measured in &mut per_64 {
        *measured = ticks(|| {
            // SAFETY: `nop`s only; nothing is read or written.
            unsafe {
                asm!(
                    // 64 `nop`s: one instruction each, nothing else.
                    ".rept 64",
                    "nop",
                    ".endr",
                    options(nomem, nostack, preserves_flags)
                )
            }
        }) - empty;
    }
    assert_eq!(counted.resume(2), Resumed::Returned(2));
    let per = per_64[0] / 64;
    let counts_instructions = per_64.iter().all(|&t| t == per_64[0])
        && per_64[0] % 64 == 0
        && u64::try_from(per).is_ok_and(u64::is_power_of_two)
        && round_trip > 0
        && round_trip % per == 0;
    counts_instructions.then(|| ((round_trip / per) as u64, per as u64))
}

/// Reads the time-stamp counter with `lfence` on both sides, so that it is
/// neither read early nor late relative to the code being timed.
fn rdtsc_serialized() -> u64 {
    let (low, high): (u32, u32);
    // SAFETY: lfence and rdtsc only read the TSC into edx:eax. Not `nomem`:
    // the fences order this against the memory accesses of the code being
    // timed, and `nomem` would let the compiler move those across them.
    unsafe {
        asm!(
            "lfence",
            "rdtsc",
            "lfence",
            out("eax") low,
            out("edx") high,
            options(nostack, preserves_flags),
        );
    }
    (u64::from(high) << 32) | u64::from(low)
}
