//! The design lab behind BENCHMARKS.md: copies of the switch in the designs
//! that were measured, each reduced to the bare round trip (no safe API, no
//! checks), so that one run compares them side by side with the crate's real
//! switch (`real_safe_api`, exactly what `round_trip/ours` measures) and
//! corosensei.
//!
//! Names: `v<N>_<exits>`, N = registers the naked function saves
//! (6 = rbp, rbx, r12–r15; 2 = rbp, rbx with r12–r15 declared clobbered in
//! the `asm!` that enters the switch, as corosensei does); exits:
//!
//! - `jmp`: both directions enter with `lea; push; jmp` and leave with
//!   `pop rcx; jmp rcx` (the return stack buffer is never touched).
//! - `ret`: both directions enter with `call` and leave with `ret` (the
//!   plain function; every `ret` lands on another stack: mispredicted).
//! - `pair`: resume enters with `call` and leaves with `pop rcx; jmp rcx`,
//!   suspend enters with `lea; push; jmp` and leaves with `ret`, which pops
//!   the address resume's `call` pushed: the return stack buffer predicts it.
//!
//! Not part of `make bench`; run with
//! `taskset -c 1 cargo bench -p coroutine-switch --bench variants`.

use std::arch::{asm, naked_asm};
use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, criterion_group, criterion_main};

const STACK_BYTES: usize = 64 * 1024;

/// What a lab coroutine finds at the top of its stack: its slot and its
/// resumer's.
#[repr(C)]
struct Slots {
    own: *mut u64,
    caller: *mut u64,
}

/// Builds a fresh stack for a variant: `Slots` at the top (32 bytes), then
/// `entry` as the continue address and `regs` zeroed registers below it.
/// Returns the initial RSP.
fn fresh_stack(stack: &mut [u64], slots: Slots, entry: u64, regs: usize) -> u64 {
    let len = stack.len();
    let base = stack.as_mut_ptr() as u64;
    assert_eq!(base % 16, 0);
    stack[len - 4] = slots.own as u64;
    stack[len - 3] = slots.caller as u64;
    stack[len - 5] = entry;
    for i in 0..regs {
        stack[len - 6 - i] = 0;
    }
    base + ((len - 5 - regs) * 8) as u64
}

/// A 16-byte aligned, leaked stack.
fn leak_stack() -> &'static mut [u64] {
    #[repr(C, align(16))]
    struct Aligned([u64; STACK_BYTES / 8]);
    &mut Box::leak(Box::new(Aligned([0; STACK_BYTES / 8]))).0
}

/// Defines one variant: the naked switch(es), its trampoline, the resume and
/// suspend wrappers and the echo body.
macro_rules! trampoline {
    ($name:ident, $body:ident) => {
        #[unsafe(naked)]
        unsafe extern "sysv64" fn $name() -> ! {
            naked_asm!(
                // rsp = &Slots (16-byte aligned), rax = first value.
                "mov rdi, rsp",
                "mov rsi, rax",
                "call {body}",
                "ud2",
                body = sym $body,
            )
        }
    };
}

// --- 6 registers, pop rcx; jmp rcx both ways (the design as first shipped).

#[unsafe(naked)]
unsafe extern "sysv64" fn v6_switch_jmp(from: *mut u64, to: *const u64, value: u64) -> u64 {
    naked_asm!(
        "push rbp",
        "push rbx",
        "push r12",
        "push r13",
        "push r14",
        "push r15",
        "mov [rdi], rsp",
        "mov rsp, [rsi]",
        "pop r15",
        "pop r14",
        "pop r13",
        "pop r12",
        "pop rbx",
        "pop rbp",
        "mov rax, rdx",
        "pop rcx",
        "jmp rcx",
    )
}

#[inline(always)]
unsafe fn v6_jmp(from: *mut u64, to: *const u64, value: u64) -> u64 {
    let received;
    unsafe {
        asm!(
            "lea rcx, [rip + 2f]", "push rcx", "jmp {s}", "2:",
            s = sym v6_switch_jmp,
            in("rdi") from, in("rsi") to, in("rdx") value, lateout("rax") received,
            clobber_abi("sysv64"),
        )
    }
    received
}

extern "sysv64" fn v6_jmp_echo(s: &Slots, mut v: u64) -> ! {
    loop {
        v = unsafe { v6_jmp(s.own, s.caller, v) };
    }
}
trampoline!(v6_jmp_tramp, v6_jmp_echo);

// --- 6 registers, call in and ret out both ways (the plain function).

#[unsafe(naked)]
unsafe extern "sysv64" fn v6_switch_ret(from: *mut u64, to: *const u64, value: u64) -> u64 {
    naked_asm!(
        "push rbp",
        "push rbx",
        "push r12",
        "push r13",
        "push r14",
        "push r15",
        "mov [rdi], rsp",
        "mov rsp, [rsi]",
        "pop r15",
        "pop r14",
        "pop r13",
        "pop r12",
        "pop rbx",
        "pop rbp",
        "mov rax, rdx",
        "ret",
    )
}

#[inline(always)]
unsafe fn v6_ret(from: *mut u64, to: *const u64, value: u64) -> u64 {
    let received;
    unsafe {
        asm!(
            "call {s}",
            s = sym v6_switch_ret,
            in("rdi") from, in("rsi") to, in("rdx") value, lateout("rax") received,
            clobber_abi("sysv64"),
        )
    }
    received
}

extern "sysv64" fn v6_ret_echo(s: &Slots, mut v: u64) -> ! {
    loop {
        v = unsafe { v6_ret(s.own, s.caller, v) };
    }
}
trampoline!(v6_ret_tramp, v6_ret_echo);

// --- 2 registers (r12–r15 clobbered at the call site), pop; jmp both ways.

#[unsafe(naked)]
unsafe extern "sysv64" fn v2_switch_jmp(from: *mut u64, to: *const u64, value: u64) -> u64 {
    naked_asm!(
        "push rbp",
        "push rbx",
        "mov [rdi], rsp",
        "mov rsp, [rsi]",
        "pop rbx",
        "pop rbp",
        "mov rax, rdx",
        "pop rcx",
        "jmp rcx",
    )
}

#[inline(always)]
unsafe fn v2_jmp(from: *mut u64, to: *const u64, value: u64) -> u64 {
    let received;
    unsafe {
        asm!(
            "lea rcx, [rip + 2f]", "push rcx", "jmp {s}", "2:",
            s = sym v2_switch_jmp,
            in("rdi") from, in("rsi") to, in("rdx") value, lateout("rax") received,
            lateout("r12") _, lateout("r13") _, lateout("r14") _, lateout("r15") _,
            clobber_abi("sysv64"),
        )
    }
    received
}

extern "sysv64" fn v2_jmp_echo(s: &Slots, mut v: u64) -> ! {
    loop {
        v = unsafe { v2_jmp(s.own, s.caller, v) };
    }
}
trampoline!(v2_jmp_tramp, v2_jmp_echo);

// --- 6 registers, call/ret paired: resume `call`s in and leaves with
// pop; jmp, suspend jmps in and leaves with `ret`.

#[unsafe(naked)]
unsafe extern "sysv64" fn v6_switch_back_ret(from: *mut u64, to: *const u64, value: u64) -> u64 {
    naked_asm!(
        "push rbp",
        "push rbx",
        "push r12",
        "push r13",
        "push r14",
        "push r15",
        "mov [rdi], rsp",
        "mov rsp, [rsi]",
        "pop r15",
        "pop r14",
        "pop r13",
        "pop r12",
        "pop rbx",
        "pop rbp",
        "mov rax, rdx",
        "ret",
    )
}

#[inline(always)]
unsafe fn v6_pair_resume(from: *mut u64, to: *const u64, value: u64) -> u64 {
    let received;
    unsafe {
        asm!(
            "call {s}",
            s = sym v6_switch_jmp,
            in("rdi") from, in("rsi") to, in("rdx") value, lateout("rax") received,
            clobber_abi("sysv64"),
        )
    }
    received
}

#[inline(always)]
unsafe fn v6_pair_suspend(from: *mut u64, to: *const u64, value: u64) -> u64 {
    let received;
    unsafe {
        asm!(
            "lea rcx, [rip + 2f]", "push rcx", "jmp {s}", "2:",
            s = sym v6_switch_back_ret,
            in("rdi") from, in("rsi") to, in("rdx") value, lateout("rax") received,
            clobber_abi("sysv64"),
        )
    }
    received
}

extern "sysv64" fn v6_pair_echo(s: &Slots, mut v: u64) -> ! {
    loop {
        v = unsafe { v6_pair_suspend(s.own, s.caller, v) };
    }
}
trampoline!(v6_pair_tramp, v6_pair_echo);

// --- 2 registers and call/ret paired: both ideas together.

#[unsafe(naked)]
unsafe extern "sysv64" fn v2_switch_back_ret(from: *mut u64, to: *const u64, value: u64) -> u64 {
    naked_asm!(
        "push rbp",
        "push rbx",
        "mov [rdi], rsp",
        "mov rsp, [rsi]",
        "pop rbx",
        "pop rbp",
        "mov rax, rdx",
        "ret",
    )
}

#[inline(always)]
unsafe fn v2_pair_resume(from: *mut u64, to: *const u64, value: u64) -> u64 {
    let received;
    unsafe {
        asm!(
            "call {s}",
            s = sym v2_switch_jmp,
            in("rdi") from, in("rsi") to, in("rdx") value, lateout("rax") received,
            lateout("r12") _, lateout("r13") _, lateout("r14") _, lateout("r15") _,
            clobber_abi("sysv64"),
        )
    }
    received
}

#[inline(always)]
unsafe fn v2_pair_suspend(from: *mut u64, to: *const u64, value: u64) -> u64 {
    let received;
    unsafe {
        asm!(
            "lea rcx, [rip + 2f]", "push rcx", "jmp {s}", "2:",
            s = sym v2_switch_back_ret,
            in("rdi") from, in("rsi") to, in("rdx") value, lateout("rax") received,
            lateout("r12") _, lateout("r13") _, lateout("r14") _, lateout("r15") _,
            clobber_abi("sysv64"),
        )
    }
    received
}

extern "sysv64" fn v2_pair_echo(s: &Slots, mut v: u64) -> ! {
    loop {
        v = unsafe { v2_pair_suspend(s.own, s.caller, v) };
    }
}
trampoline!(v2_pair_tramp, v2_pair_echo);

// --- The 6-register frame, but the safe API's entries only push rbp and
// rbx and reserve the four r12–r15 words (`sub rsp, 32`), declaring r12–r15
// clobbered; the restore half always pops all six, so a frame saved by the
// plain 6-register `switch` is restored in full.

#[unsafe(naked)]
unsafe extern "sysv64" fn v6r_switch_jmp(from: *mut u64, to: *const u64, value: u64) -> u64 {
    naked_asm!(
        "push rbp",
        "push rbx",
        "sub rsp, 32",
        "mov [rdi], rsp",
        "mov rsp, [rsi]",
        "pop r15",
        "pop r14",
        "pop r13",
        "pop r12",
        "pop rbx",
        "pop rbp",
        "mov rax, rdx",
        "pop rcx",
        "jmp rcx",
    )
}

#[unsafe(naked)]
unsafe extern "sysv64" fn v6r_switch_back_ret(from: *mut u64, to: *const u64, value: u64) -> u64 {
    naked_asm!(
        "push rbp",
        "push rbx",
        "sub rsp, 32",
        "mov [rdi], rsp",
        "mov rsp, [rsi]",
        "pop r15",
        "pop r14",
        "pop r13",
        "pop r12",
        "pop rbx",
        "pop rbp",
        "mov rax, rdx",
        "ret",
    )
}

#[inline(always)]
unsafe fn v6r_jmp(from: *mut u64, to: *const u64, value: u64) -> u64 {
    let received;
    unsafe {
        asm!(
            "lea rcx, [rip + 2f]", "push rcx", "jmp {s}", "2:",
            s = sym v6r_switch_jmp,
            in("rdi") from, in("rsi") to, in("rdx") value, lateout("rax") received,
            lateout("r12") _, lateout("r13") _, lateout("r14") _, lateout("r15") _,
            clobber_abi("sysv64"),
        )
    }
    received
}

extern "sysv64" fn v6r_jmp_echo(s: &Slots, mut v: u64) -> ! {
    loop {
        v = unsafe { v6r_jmp(s.own, s.caller, v) };
    }
}
trampoline!(v6r_jmp_tramp, v6r_jmp_echo);

#[inline(always)]
unsafe fn v6r_pair_resume(from: *mut u64, to: *const u64, value: u64) -> u64 {
    let received;
    unsafe {
        asm!(
            "call {s}",
            s = sym v6r_switch_jmp,
            in("rdi") from, in("rsi") to, in("rdx") value, lateout("rax") received,
            lateout("r12") _, lateout("r13") _, lateout("r14") _, lateout("r15") _,
            clobber_abi("sysv64"),
        )
    }
    received
}

#[inline(always)]
unsafe fn v6r_pair_suspend(from: *mut u64, to: *const u64, value: u64) -> u64 {
    let received;
    unsafe {
        asm!(
            "lea rcx, [rip + 2f]", "push rcx", "jmp {s}", "2:",
            s = sym v6r_switch_back_ret,
            in("rdi") from, in("rsi") to, in("rdx") value, lateout("rax") received,
            lateout("r12") _, lateout("r13") _, lateout("r14") _, lateout("r15") _,
            clobber_abi("sysv64"),
        )
    }
    received
}

extern "sysv64" fn v6r_pair_echo(s: &Slots, mut v: u64) -> ! {
    loop {
        v = unsafe { v6r_pair_suspend(s.own, s.caller, v) };
    }
}
trampoline!(v6r_pair_tramp, v6r_pair_echo);

/// Benchmarks one lab variant: `resume` is what main does, `tramp` the
/// first code the coroutine runs, `regs` how many registers its frame holds.
/// The closure `resume` wraps the variant's unsafe resume: `lab` only calls
/// it with the two slots set up here, the coroutine suspended in its echo
/// loop (SAFETY of every call).
fn lab(
    g: &mut BenchmarkGroup<'_, WallTime>,
    id: &str,
    resume: impl Fn(*mut u64, *const u64, u64) -> u64,
    tramp: unsafe extern "sysv64" fn() -> !,
    regs: usize,
) {
    let own: *mut u64 = Box::leak(Box::new(0u64));
    let main: *mut u64 = Box::leak(Box::new(0u64));
    let rsp = fresh_stack(
        leak_stack(),
        Slots { own, caller: main },
        tramp as u64,
        regs,
    );
    // SAFETY: both slots are this variant's alone; `own` gets the fresh
    // frame; the echo body always switches back to `main`.
    unsafe {
        *own = rsp;
    }
    assert_eq!(resume(main, own, 5), 5);
    g.bench_function(id, |b| b.iter(|| resume(main, own, black_box(1))));
}

fn variants(c: &mut Criterion) {
    let mut g = c.benchmark_group("variants");

    // The crate's own switch through its safe API: what `round_trip/ours`
    // measures.
    {
        use coroutine_switch::{Context, Coroutine, Stack, Yielder};
        fn echo(y: &Yielder, mut v: u64) -> u64 {
            loop {
                v = y.suspend(v);
            }
        }
        let stack: &'static Stack<STACK_BYTES> = Box::leak(Box::new(Stack::new()));
        let own: &'static Context = Box::leak(Box::new(Context::new()));
        let main: &'static Context = Box::leak(Box::new(Context::new()));
        // SAFETY: the stack and slots are this benchmark's alone.
        let co = unsafe { Coroutine::new(stack, own, main, echo) };
        co.resume(0);
        g.bench_function("real_safe_api", |b| b.iter(|| co.resume(black_box(1))));
    }
    lab(
        &mut g,
        "v6_jmp",
        |f, t, v| unsafe { v6_jmp(f, t, v) },
        v6_jmp_tramp,
        6,
    );
    lab(
        &mut g,
        "v6_ret",
        |f, t, v| unsafe { v6_ret(f, t, v) },
        v6_ret_tramp,
        6,
    );
    lab(
        &mut g,
        "v2_jmp",
        |f, t, v| unsafe { v2_jmp(f, t, v) },
        v2_jmp_tramp,
        2,
    );
    lab(
        &mut g,
        "v6_pair",
        |f, t, v| unsafe { v6_pair_resume(f, t, v) },
        v6_pair_tramp,
        6,
    );
    lab(
        &mut g,
        "v2_pair",
        |f, t, v| unsafe { v2_pair_resume(f, t, v) },
        v2_pair_tramp,
        2,
    );
    lab(
        &mut g,
        "v6r_jmp",
        |f, t, v| unsafe { v6r_jmp(f, t, v) },
        v6r_jmp_tramp,
        6,
    );
    lab(
        &mut g,
        "v6r_pair",
        |f, t, v| unsafe { v6r_pair_resume(f, t, v) },
        v6r_pair_tramp,
        6,
    );
    {
        use corosensei::stack::DefaultStack;
        use corosensei::{Coroutine, Yielder};
        let stack = DefaultStack::new(STACK_BYTES).expect("stack");
        let mut co = Coroutine::with_stack(stack, |y: &Yielder<u64, u64>, mut v: u64| -> u64 {
            loop {
                v = y.suspend(v);
            }
        });
        co.resume(0);
        g.bench_function("corosensei", |b| b.iter(|| co.resume(black_box(1))));
        std::mem::forget(co);
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = variants
}
criterion_main!(benches);
