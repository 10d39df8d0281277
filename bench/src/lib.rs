//! What the design lab (`benches/variants.rs`) times its loops with, and the
//! headline's two loops (ours through the safe API, corosensei), which the
//! lab also runs from copies of this library loaded at other addresses.
//!
//! Why copies: where the loader puts the code, its page modulo 8, sets the
//! level of a run on the Xeon of docs/measuring.md ("Where the code
//! lands"), as where the stack lands in a cache line does ("Why some runs
//! were slow"). The lab measures the stack's four placements in one process
//! (`placed`); the code's eight it cannot move within a process, so it
//! loads this library, built as a `cdylib`, once per page modulo 8
//! (`LAB_CODE=<its path>`, `copies.rs`) and times the headline's loops in
//! each copy through the `lab_copy_*` functions below. Everything a round
//! trip runs (the timed loop, `resume`, the switch, the coroutine's side)
//! lies in the copy, at the same offsets from each other as in every other
//! copy; only the page differs.
//!
//! The other benchmarks (`round_trip`, `tsc_freq`, the example) do not use
//! it.

pub mod copies;

use std::arch::asm;
use std::arch::x86_64::{_mm_lfence, _rdtsc};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

/// Every lab coroutine's stack.
pub const STACK_BYTES: usize = 64 * 1024;

/// Runs `n` round trips and returns the TSC ticks they took.
pub type Run = Box<dyn FnMut(u64) -> u64>;

/// rdtsc fenced so that it is neither read early nor late.
pub fn tsc() -> u64 {
    // SAFETY: lfence and rdtsc only order instructions and read the TSC.
    unsafe {
        _mm_lfence();
        let t = _rdtsc();
        _mm_lfence();
        t
    }
}

/// The stack pointer of the last timed loop that started, for `LAB_RSP=1`
/// and for naming a placed loop by its offset (each copy has its own).
pub static LOOP_RSP: AtomicU64 = AtomicU64::new(0);

/// Records where the timed loop's stack pointer is, for [`LOOP_RSP`].
#[inline(always)]
pub fn record_rsp() {
    let rsp: u64;
    // SAFETY: reads RSP into a register, nothing else.
    unsafe { asm!("mov {}, rsp", out(reg) rsp, options(nomem, nostack, preserves_flags)) };
    LOOP_RSP.store(rsp, Ordering::Relaxed);
}

/// The timed loop: what criterion's `iter` does, without criterion.
#[macro_export]
macro_rules! timed {
    ($n:expr, $round_trip:expr) => {{
        let n = $n;
        $crate::record_rsp();
        let start = $crate::tsc();
        for _ in 0..n {
            ::std::hint::black_box($round_trip);
        }
        $crate::tsc() - start
    }};
}

/// Runs `run` from a frame realigned to 64 bytes (a local aligned to 64
/// makes the compiler realign it) and `PAD` bytes deeper, so that the timed
/// loop's stack pointer falls at the same offset of a cache line in every
/// run, whatever the process's stack placement. `PAD` = 0, 16, 32, 48 gives
/// the four offsets a 16-byte-aligned stack pointer can take; `LAB_RSP=1`
/// and the variant's name (`@` and the offset) say which is which.
#[inline(never)]
fn placed<const PAD: usize>(run: &mut Run, n: u64) -> u64 {
    #[repr(C, align(64))]
    struct Line([u8; 64]);
    let line = Line([0; 64]);
    black_box(&line);
    below::<PAD>(run, n)
}

/// Calls `run` from a frame that holds `PAD` bytes more than `below::<0>`.
#[inline(never)]
fn below<const PAD: usize>(run: &mut Run, n: u64) -> u64 {
    let pad = [0u8; PAD];
    black_box(&pad);
    black_box(run(n))
}

/// `run` four times over, each time through `placed` at another of the
/// four offsets (one coroutine: only the caller's placement changes); named
/// `name@?` until the warm-up run tells the offset.
pub fn every_placement(name: &str, run: Run) -> Vec<(String, Run)> {
    let run = std::rc::Rc::new(std::cell::RefCell::new(run));
    let at: [fn(&mut Run, u64) -> u64; 4] = [placed::<0>, placed::<16>, placed::<32>, placed::<48>];
    at.into_iter()
        .map(|place| {
            let run = std::rc::Rc::clone(&run);
            let placed: Run = Box::new(move |n| place(&mut run.borrow_mut(), n));
            (format!("{name}@?"), placed)
        })
        .collect()
}

/// A coroutine of the crate that echoes what it receives, started, with
/// slots of its own.
pub fn ours_started() -> coroutine_switch::Coroutine<'static, STACK_BYTES> {
    use coroutine_switch::Context;
    ours_started_with(
        Box::leak(Box::new(Context::new())),
        Box::leak(Box::new(Context::new())),
    )
}

/// The same with the slots given: `own` the coroutine's, `main` its
/// resumer's.
pub fn ours_started_with(
    own: &'static coroutine_switch::Context,
    main: &'static coroutine_switch::Context,
) -> coroutine_switch::Coroutine<'static, STACK_BYTES> {
    use coroutine_switch::{Coroutine, Stack, Yielder};
    fn echo(y: &Yielder, mut v: u64) -> u64 {
        loop {
            v = y.suspend(v);
        }
    }
    let stack: &'static Stack<STACK_BYTES> = Box::leak(Box::new(Stack::new()));
    // SAFETY: the stack and slots are this coroutine's alone.
    let co = unsafe { Coroutine::new(stack, own, main, echo) };
    co.resume(0);
    co
}

/// The crate's switch through its safe API, the result handed to
/// `black_box` whole: what `round_trip/ours` measures.
pub fn ours() -> Run {
    ours_timed(ours_started())
}

/// The same loop around a coroutine set up by the caller.
pub fn ours_timed(co: coroutine_switch::Coroutine<'static, STACK_BYTES>) -> Run {
    Box::new(move |n| timed!(n, co.resume(black_box(1))))
}

/// A corosensei coroutine that echoes what it receives, started and never
/// dropped (it loops forever, and dropping would unwind it).
pub fn corosensei_started() -> &'static mut corosensei::Coroutine<u64, u64, u64> {
    use corosensei::stack::DefaultStack;
    use corosensei::{Coroutine, Yielder};
    let stack = DefaultStack::new(STACK_BYTES).expect("stack");
    let mut co = Coroutine::with_stack(stack, |y: &Yielder<u64, u64>, mut v: u64| -> u64 {
        loop {
            v = y.suspend(v);
        }
    });
    co.resume(0);
    Box::leak(Box::new(co))
}

/// corosensei, black-boxed as `round_trip/corosensei` measures it.
pub fn corosensei() -> Run {
    let co = corosensei_started();
    Box::new(move |n| timed!(n, co.resume(black_box(1))))
}

/// The headline's two loops, in the order a copy's runs come in: each at
/// the four placements of the stack, `name@?` until warmed up.
pub const HEADLINE: [&str; 2] = ["real_safe_api", "corosensei"];

/// The headline's loops of one copy of this library.
pub struct Loops {
    runs: Vec<Run>,
}

/// Sets up this copy's loops: [`HEADLINE`] in order, each at the four
/// placements of [`every_placement`]. The caller owns the result and hands
/// it back to [`lab_copy_time`].
#[unsafe(no_mangle)]
pub extern "C" fn lab_copy_new() -> *mut Loops {
    let runs = [ours(), corosensei()]
        .into_iter()
        .zip(HEADLINE)
        .flat_map(|(run, name)| every_placement(name, run))
        .map(|(_, run)| run)
        .collect();
    Box::into_raw(Box::new(Loops { runs }))
}

/// Times `n` round trips of this copy's loop number `i` (see
/// [`lab_copy_new`]); returns the TSC ticks, or `u64::MAX` if there is no
/// such loop.
///
/// # Safety
///
/// `copy` comes from this copy's [`lab_copy_new`], and no other call on it
/// runs at the same time.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lab_copy_time(copy: *mut Loops, i: usize, n: u64) -> u64 {
    // SAFETY: the caller hands back what `lab_copy_new` returned, once at a
    // time.
    let loops = unsafe { &mut *copy };
    loops.runs.get_mut(i).map_or(u64::MAX, |run| run(n))
}

/// This copy's [`LOOP_RSP`]: where its last timed loop's stack pointer was.
#[unsafe(no_mangle)]
pub extern "C" fn lab_copy_loop_rsp() -> u64 {
    LOOP_RSP.load(Ordering::Relaxed)
}

/// Where this copy's `switch_into` lies: its page modulo 8 is the copy's
/// code placement.
#[unsafe(no_mangle)]
pub extern "C" fn lab_copy_code() -> usize {
    coroutine_switch::switch_into as *const () as usize
}
