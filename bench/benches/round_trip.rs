//! One resume + yield round trip (main -> coroutine -> main), side by side:
//!
//! - `ours`: [`coroutine_switch`]'s safe API, `Coroutine::resume` and
//!   `Yielder::suspend`: the very switch, checks included, that the kernel
//!   runs.
//! - `corosensei`: corosensei 0.3.4, `Coroutine::resume` / `Yielder::suspend`.
//! - `context`: the `context` crate 3.0.0, Boost.Context's fcontext
//!   (`jump_fcontext` both ways).
//! - `floor`: an indirect call through `black_box` to a function that returns
//!   its argument: the least a "go somewhere and come back" can cost.
//!
//! Every coroutine is set up and started outside the timed loop and echoes
//! the value it receives forever, so one iteration is exactly one resume and
//! one yield back. `scripts/bench.py` runs this and prints the table that
//! docs/measuring.md quotes.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};

/// Big enough for any of the bodies below; the same size for every library.
const STACK_BYTES: usize = 64 * 1024;

fn ours(c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    use coroutine_switch::{Context, Coroutine, Resumed, Stack, Yielder};

    fn echo(y: &Yielder, mut value: u64) -> u64 {
        loop {
            value = y.suspend(value);
        }
    }
    // Leaked: the coroutine never finishes, so its stack is never free again.
    let stack: &'static Stack<STACK_BYTES> = Box::leak(Box::new(Stack::new()));
    let own: &'static Context = Box::leak(Box::new(Context::new()));
    let main: &'static Context = Box::leak(Box::new(Context::new()));
    // SAFETY: the stack and both slots are this benchmark's alone; only this
    // thread resumes the coroutine, and nothing else resumes through `main`.
    let co = unsafe { Coroutine::new(stack, own, main, echo) };
    // The first resume runs the trampoline: keep it out of the timing.
    assert_eq!(co.resume(0), Resumed::Yielded(0));
    c.bench_function("ours", |b| b.iter(|| co.resume(black_box(1))));
}

fn corosensei(c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    use corosensei::stack::DefaultStack;
    use corosensei::{Coroutine, CoroutineResult, Yielder};

    let stack = DefaultStack::new(STACK_BYTES).expect("corosensei stack");
    let mut co = Coroutine::with_stack(stack, |y: &Yielder<u64, u64>, mut value: u64| -> u64 {
        loop {
            value = y.suspend(value);
        }
    });
    assert!(matches!(co.resume(0), CoroutineResult::Yield(0)));
    c.bench_function("corosensei", |b| b.iter(|| co.resume(black_box(1))));
    // Dropping a started coroutine unwinds its stack; it loops forever, so
    // just leave it (and its stack) behind.
    std::mem::forget(co);
}

fn context(c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    use context::stack::FixedSizeStack;
    use context::{Context, Transfer};

    extern "C" fn echo(mut t: Transfer) -> ! {
        loop {
            // SAFETY: `t.context` is main, suspended in its `resume` below.
            t = unsafe { t.context.resume(t.data) };
        }
    }
    let stack = FixedSizeStack::new(STACK_BYTES).expect("context stack");
    // SAFETY: `stack` outlives the context (both live to the end of this
    // function, and the coroutine is never resumed after it).
    let first = unsafe { Context::new(&stack, echo).resume(0) };
    assert_eq!(first.data, 0);
    // fcontext hands back a new handle on every switch; keep the latest.
    let mut coroutine = Some(first.context);
    c.bench_function("context", |b| {
        b.iter(|| {
            // SAFETY: `coroutine` is always Some between iterations (it is
            // refilled right below) and holds the suspended echo loop.
            let t = unsafe { coroutine.take().unwrap_unchecked().resume(black_box(1)) };
            coroutine = Some(t.context);
            t.data
        })
    });
    // The echo loop never ends; its stack must outlive every switch into it.
    std::mem::forget(stack);
}

fn floor(c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    #[inline(never)]
    fn identity(value: u64) -> u64 {
        value
    }
    let f: fn(u64) -> u64 = identity;
    c.bench_function("floor", |b| b.iter(|| black_box(f)(black_box(1))));
}

fn round_trip(c: &mut Criterion) {
    let mut group = c.benchmark_group("round_trip");
    ours(&mut group);
    corosensei(&mut group);
    context(&mut group);
    floor(&mut group);
    group.finish();
}

criterion_group! {
    name = benches;
    // Each figure is a few nanoseconds: 3 s per benchmark gives hundreds of
    // millions of round trips, plenty for a stable median.
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = round_trip
}
criterion_main!(benches);
