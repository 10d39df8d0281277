//! The design lab behind docs/measuring.md: copies of the switch in the designs
//! that were measured, each reduced to the bare round trip (no safe API, no
//! checks), so that one run compares them side by side with the crate's real
//! switch (`real_safe_api`, exactly what `round_trip/ours` measures),
//! corosensei and the indirect-call floor.
//!
//! Not criterion: on a shared 2-core VM, benchmarks run one after another
//! see different background load (the same binary measured 5 and 11 ns
//! minutes apart). Here every round runs every variant for 200 000 round
//! trips, timed with rdtsc, 61 rounds interleaved; the table gives the median
//! and minimum TSC ticks per round trip.
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
//! `half_inline` is `v2_pair` with the suspend's switch inline (the resume
//! still `call`s `switch_into`); `inline_pair` has both halves inline, and
//! `inline_pair_canary_enum` adds to it what `v2_pair_canary_enum` adds to
//! `v2_pair` (below): the safe API as it would be with the switch inline.
//!
//! Between `v2_pair` and `real_safe_api`, `v2_pair_canary` adds only the safe
//! API's one check after the switch (the canary's load, compare and cold
//! panic) and `v2_pair_canary_enum` also its `Resumed` result: together they
//! split what the safe API costs over the bare switch into its parts.
//! `real_safe_api_match` and `corosensei_match` match each result, as a
//! caller does, instead of handing it to `black_box` whole; `_reg` keeps the
//! input and both words of the result in registers, so that the loop stores
//! nothing besides what the switch itself stores.
//!
//! What the steadiness experiments of docs/measuring.md added, each changing
//! one thing: `mix_<echo>_<entry>` (the coroutine side and the resume side
//! each from the lab or from the crate), `layout_*` (the result in other
//! representations: a one-byte tag, the value first, aligned to 16),
//! `gap64_canary_enum` and `gap128_canary_enum` (the switch's frame pushed
//! 64 or 128 bytes below the caller's locals: `sub rsp` before the `call`,
//! `add rsp` after). `real_safe_api_slots_4k` is the safe API with its two
//! slots 4096 bytes apart, the layout that made every switch stall before
//! the switch read the other side's slot first.
//!
//! Placement: where the timed loop's stack pointer falls in a 64-byte cache
//! line decides the level of some variants (docs/measuring.md, "Why some
//! runs were slow"), and the process's stack lands at a random one of the
//! four 16-byte offsets. So the safe API, the bare switch and corosensei are
//! also measured at each offset (`real_safe_api@0` .. `@48`, through
//! `placed`), and `name@all` is each round's mean over the four: the same
//! in every run. `LAB_PLACED=1` measures every other variant kept that way
//! too. `LAB_ROUNDS=1` prints every round's figure, so that a variant with
//! two levels shows them; `LAB_RSP=1` prints where each timed loop's stack
//! pointer falls in a cache line. Every run prints where the loader put the
//! code (`switch_into`'s address and its page modulo 8), which decides a
//! run's level as the stack's placement does for a variant
//! (`python3 scripts/bench.py --code-sweep` relinks the lab at other
//! addresses). The process cannot move its own code, so with
//! `LAB_CODE=<path of libswitch_bench.so>` it loads copies of the lab's
//! library (`bench/src`, the headline's two loops) until one lies at each
//! page modulo 8, and times them there too: `real_safe_api#5@16` is ours in
//! the copy at page 5 with RSP at 16 modulo 64, `name#5@all` that copy's
//! mean over the four placements of the stack, and `name@code` the mean over
//! the eight copies, the figure a process whose code and stack landed at
//! random is expected to give (`make bench` and `make steady` pass the
//! library cargo built).
//!
//! Run with `taskset -c 1 cargo bench -p switch-bench --bench variants`
//! (a few seconds), or only some of the variants with
//! `LAB=real_safe_api,inline_pair` in the environment (corosensei and
//! `v2_pair` always run: the paired columns divide by them). `make bench`
//! runs it with `LAB=real_safe_api` for its paired figure.
//!
//! Where the linker puts the timed loops moves the ratios by up to 20 %
//! between builds that differ in nothing else (`LAB_PAD` below). To compare
//! designs, build with every loop aligned to 64 bytes, as `make bench` does:
//! `RUSTFLAGS="-C llvm-args=-align-loops=64" CARGO_TARGET_DIR=target/lab-aligned`
//! in front of the command (its own target directory, so that the flag does
//! not rebuild target/).

use std::arch::{asm, naked_asm};
use std::hint::black_box;
use std::time::Instant;

use switch_bench::{LOOP_RSP, Run, STACK_BYTES, every_placement, timed, tsc};

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

/// The first code a lab coroutine runs: calls `$body(&Slots, first value)`
/// with the System V alignment, as the crate's trampoline does.
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

/// A lab switch: `$save` pushes this side's registers, then the RSP swap,
/// then `$restore` pops the other side's, the value moves from rdx to rax,
/// and `$exit` continues the other side. Only the save/restore lists and the
/// exit differ between designs.
macro_rules! naked_switch {
    ($name:ident, save: [$($save:literal),+], restore: [$($restore:literal),+], exit: [$($exit:literal),+]) => {
        #[unsafe(naked)]
        unsafe extern "sysv64" fn $name(from: *mut u64, to: *const u64, value: u64) -> u64 {
            naked_asm!(
                $($save,)+
                "mov [rdi], rsp", // save this side's RSP in *from
                "mov rsp, [rsi]", // and continue on the other side's stack
                $($restore,)+
                "mov rax, rdx", // the value handed across
                $($exit),+
            )
        }
    };
}

/// An entry into a switch, as inline asm: `call` (pushes an RSB entry) or
/// `jmp` (pushes the continue address by hand, RSB untouched). With
/// `r12_r15_clobbered`, r12–r15 are declared clobbered (for switches that do
/// not save them). The value goes in rdx for the lab switches and in rax for
/// the crate's own, so it is passed in both.
macro_rules! entry {
    ($name:ident, call, $switch:path $(, $r12_r15:ident)?) => {
        entry!(@fn $name, ["call {s}"], $switch $(, $r12_r15)?);
    };
    ($name:ident, jmp, $switch:path $(, $r12_r15:ident)?) => {
        entry!(@fn $name, ["lea rcx, [rip + 2f]", "push rcx", "jmp {s}", "2:"], $switch $(, $r12_r15)?);
    };
    (@fn $name:ident, [$($enter:literal),+], $switch:path) => {
        entry!(@asm $name, [$($enter),+], $switch, []);
    };
    (@fn $name:ident, [$($enter:literal),+], $switch:path, r12_r15_clobbered) => {
        entry!(@asm $name, [$($enter),+], $switch,
            [lateout("r12") _, lateout("r13") _, lateout("r14") _, lateout("r15") _,]);
    };
    (@asm $name:ident, [$($enter:literal),+], $switch:path, [$($clobbers:tt)*]) => {
        #[inline(always)]
        unsafe fn $name(from: *mut u64, to: *const u64, value: u64) -> u64 {
            let mut received = value;
            // SAFETY: the caller passes two lab slots; the asm pushes one
            // continue address that the switch back pops, and declares
            // everything the switch does not preserve clobbered.
            unsafe {
                asm!(
                    $($enter,)+
                    s = sym $switch,
                    in("rdi") from, in("rsi") to, in("rdx") value,
                    inlateout("rax") received,
                    $($clobbers)*
                    clobber_abi("sysv64"),
                )
            }
            received
        }
    };
}

/// The coroutine side of a variant: echoes every value back through
/// `$suspend`, forever; `$tramp` starts it.
macro_rules! echo {
    ($echo:ident, $tramp:ident, $suspend:ident) => {
        extern "sysv64" fn $echo(s: &Slots, mut v: u64) -> ! {
            loop {
                // SAFETY: main resumed us through `s.caller` and waits there.
                v = unsafe { $suspend(s.own, s.caller, v) };
            }
        }
        trampoline!($tramp, $echo);
    };
}

// --- 6 registers: rbp, rbx, r12–r15 pushed by every switch.

naked_switch!(v6_switch_jmp,
    save: ["push rbp", "push rbx", "push r12", "push r13", "push r14", "push r15"],
    restore: ["pop r15", "pop r14", "pop r13", "pop r12", "pop rbx", "pop rbp"],
    exit: ["pop rcx", "jmp rcx"]);
naked_switch!(v6_switch_ret,
    save: ["push rbp", "push rbx", "push r12", "push r13", "push r14", "push r15"],
    restore: ["pop r15", "pop r14", "pop r13", "pop r12", "pop rbx", "pop rbp"],
    exit: ["ret"]);

// `v6_jmp`: pop; jmp both ways (the design as first shipped).
entry!(v6_jmp, jmp, v6_switch_jmp);
echo!(v6_jmp_echo, v6_jmp_tramp, v6_jmp);

// `v6_ret`: call in and ret out both ways (the plain function).
entry!(v6_ret, call, v6_switch_ret);
echo!(v6_ret_echo, v6_ret_tramp, v6_ret);

// `v6_pair`: resume `call`s in and leaves with pop; jmp, suspend `jmp`s in
// and leaves with `ret`.
entry!(v6_pair_resume, call, v6_switch_jmp);
entry!(v6_pair_suspend, jmp, v6_switch_ret);
echo!(v6_pair_echo, v6_pair_tramp, v6_pair_suspend);

// --- 2 registers (rbp, rbx; r12–r15 clobbered at the entry): the crate's
// own `switch_into` (pop; jmp exit) and `switch_back` (ret exit).

use coroutine_switch::{switch_back, switch_into};

// `v2_jmp`: pop; jmp both ways.
entry!(v2_jmp, jmp, switch_into, r12_r15_clobbered);
echo!(v2_jmp_echo, v2_jmp_tramp, v2_jmp);

// `v2_pair`: both ideas together: the shipped switch, bare.
entry!(v2_pair_resume, call, switch_into, r12_r15_clobbered);
entry!(v2_pair_suspend, jmp, switch_back, r12_r15_clobbered);

/// `v2_pair_resume` with the switch's frame pushed `GAP` bytes below the
/// caller's locals: `sub rsp, GAP` before the `call`, `add rsp, GAP` after.
macro_rules! gap_resume {
    ($name:ident, $gap:literal) => {
        #[inline(always)]
        unsafe fn $name(from: *mut u64, to: *const u64, value: u64) -> u64 {
            let mut received = value;
            // SAFETY: as for `v2_pair_resume`; RSP is restored after the call.
            unsafe {
                asm!(
                    concat!("sub rsp, ", $gap),
                    "call {s}",
                    concat!("add rsp, ", $gap),
                    s = sym switch_into,
                    in("rdi") from, in("rsi") to, in("rdx") value,
                    inlateout("rax") received,
                    lateout("r12") _, lateout("r13") _, lateout("r14") _, lateout("r15") _,
                    clobber_abi("sysv64"),
                )
            }
            received
        }
    };
}
gap_resume!(gap64_resume, "64");
gap_resume!(gap128_resume, "128");
echo!(v2_pair_echo, v2_pair_tramp, v2_pair_suspend);

// --- `v6r`: the 6-register frame, but rbp and rbx pushed and the four
// r12–r15 words only reserved (`sub rsp, 32`), r12–r15 clobbered at the
// entry; the restore pops all six (the design shipped before the current
// one).

naked_switch!(v6r_switch_jmp,
    save: ["push rbp", "push rbx", "sub rsp, 32"],
    restore: ["pop r15", "pop r14", "pop r13", "pop r12", "pop rbx", "pop rbp"],
    exit: ["pop rcx", "jmp rcx"]);
naked_switch!(v6r_switch_back_ret,
    save: ["push rbp", "push rbx", "sub rsp, 32"],
    restore: ["pop r15", "pop r14", "pop r13", "pop r12", "pop rbx", "pop rbp"],
    exit: ["ret"]);

entry!(v6r_jmp, jmp, v6r_switch_jmp, r12_r15_clobbered);
echo!(v6r_jmp_echo, v6r_jmp_tramp, v6r_jmp);

entry!(v6r_pair_resume, call, v6r_switch_jmp, r12_r15_clobbered);
entry!(
    v6r_pair_suspend,
    jmp,
    v6r_switch_back_ret,
    r12_r15_clobbered
);
echo!(v6r_pair_echo, v6r_pair_tramp, v6r_pair_suspend);

// --- `inline_pair`: no naked function at all, both halves of the switch
// inline in the two `asm!` blocks, as corosensei does: resume `call`s the
// coroutine's continue address itself, and the code there (inline in the
// suspend block, label 2) finishes the switch; suspend leaves with `ret`.
// Two taken branches per round trip fewer than `v2_pair` (no `call` into a
// switch, no `jmp` out of it). A suspended side's frame is [continue, rbx,
// rbp] from its saved RSP up; main's slot holds its RSP at its return
// address.

/// One half of `inline_pair`, as an `asm!` block: rdi = this side's slot,
/// rsi = the other side's, rax = the value handed across.
macro_rules! inline_half {
    ($(#[$doc:meta])* $name:ident, [$($line:literal),+ $(,)?]) => {
        $(#[$doc])*
        #[inline(always)]
        unsafe fn $name(from: *mut u64, to: *const u64, value: u64) -> u64 {
            let mut received = value;
            // SAFETY: the lab passes this variant's two slots, the other side
            // suspended in `to`; it saves our RSP in `from` and continues us
            // where the block ends. rbx and rbp are pushed and popped by the
            // blocks, everything else is declared clobbered.
            unsafe {
                asm!(
                    $($line,)+
                    in("rdi") from, in("rsi") to,
                    inlateout("rax") received,
                    lateout("r12") _, lateout("r13") _, lateout("r14") _, lateout("r15") _,
                    clobber_abi("sysv64"),
                )
            }
            received
        }
    };
}

inline_half!(
    /// The resume: `call`s the coroutine's continue address, which finishes
    /// the switch (label 2 below); its `ret` brings us back.
    ///
    /// # Safety
    ///
    /// `to` must hold a suspended `inline_pair` coroutine that switches back
    /// through `from`.
    inline_resume,
    [
        // Our rbp and rbx, which the asm cannot declare clobbered.
        "push rbp",
        "push rbx",
        // The coroutine's saved RSP, pointing at its continue address.
        "mov rdx, [rsi]",
        // Push our return address (the RSB entry its `ret` pops) and jump
        // to that continue address: label 2, or `inline_tramp`.
        "call [rdx]",
        // Back on our stack: our registers again.
        "pop rbx",
        "pop rbp"
    ]
);

inline_half!(
    /// The suspend: saves [continue, rbx, rbp], returns to main's `call`;
    /// the next resume `call`s label 2 with rdi = main's slot and rdx = our
    /// saved RSP.
    ///
    /// # Safety
    ///
    /// Only from the coroutine, with `caller` holding main's RSP at its
    /// return address and `own` the coroutine's slot.
    inline_suspend,
    [
        // Our rbp and rbx, then where to continue: [continue, rbx, rbp].
        "push rbp",
        "push rbx",
        "lea rcx, [rip + 2f]",
        "push rcx",
        // This side is now its RSP: save it in our slot.
        "mov [rdi], rsp",
        // main's stack, at the return address its `call` pushed...
        "mov rsp, [rsi]",
        // ...which this `ret` pops, as the RSB predicts.
        "ret",
        // Resumed: main's `call` brought us here with rdi = main's slot and
        // rdx = our saved RSP; [rsp] is main's return address.
        "2:",
        // main's RSP, return address included, for our next `ret`.
        "mov [rdi], rsp",
        // Our stack, past the continue address the `call` already used.
        "lea rsp, [rdx + 8]",
        // Our registers again.
        "pop rbx",
        "pop rbp",
    ]
);

echo!(inline_echo, inline_body_tramp, inline_suspend);

// --- `half_inline`: halfway between `v2_pair` and `inline_pair`. The
// resume still `call`s the crate's naked `switch_into`; the suspend does
// `switch_back`'s work inline (one taken branch per round trip fewer than
// `v2_pair`: no `jmp` into a switch). A suspended coroutine's frame is the
// one `switch_into` pops: [rbx, rbp, continue] from its saved RSP up.
entry!(half_resume, call, switch_into, r12_r15_clobbered);
inline_half!(
    /// The suspend: pushes [continue, rbp, rbx], saves RSP in `from`, and
    /// returns to main through the frame `switch_into` left on its stack.
    ///
    /// # Safety
    ///
    /// Only from a `half_inline` coroutine, with `to` holding main's RSP
    /// as `switch_into` saved it and `from` the coroutine's slot.
    half_suspend,
    [
        // Where `switch_into`'s `pop rcx; jmp rcx` will continue us.
        "lea rcx, [rip + 2f]",
        "push rcx",
        // Our rbp and rbx, in the order `switch_into` pops them.
        "push rbp",
        "push rbx",
        // This side is now its RSP: save it in our slot.
        "mov [rdi], rsp",
        // main's stack, at the frame `switch_into` pushed.
        "mov rsp, [rsi]",
        // main's registers again.
        "pop rbx",
        "pop rbp",
        // Pops the return address of main's `call`: predicted.
        "ret",
        // Resumed: `switch_into` restored our registers and jumped here.
        "2:",
    ]
);
echo!(half_echo, half_tramp, half_suspend);

/// The first code of an `inline_pair` coroutine, `call`ed by the first
/// resume: finishes the switch as label 2 does, then the usual trampoline.
///
/// # Safety
///
/// Only as the continue address of a fresh `inline_pair` stack.
#[unsafe(naked)]
unsafe extern "sysv64" fn inline_tramp() -> ! {
    naked_asm!(
        // main's RSP, at the return address of its `call`, into its slot.
        "mov [rdi], rsp",
        // The fresh stack, past this function's address.
        "lea rsp, [rdx + 8]",
        // The fresh frame's rbx and rbp (zeros).
        "pop rbx",
        "pop rbp",
        // RSP now points at the Slots: the usual trampoline.
        "jmp {t}",
        t = sym inline_body_tramp,
    )
}

/// A value the compiler cannot see through, in a register: the input of the
/// `_reg` variants, where `black_box` would store it to the stack and load it
/// back in every round trip.
#[inline(always)]
fn opaque(value: u64) -> u64 {
    let out: u64;
    // SAFETY: an empty `asm!` that hands the register back unchanged.
    unsafe {
        asm!("/* {0} */", inlateout(reg) value => out, options(pure, nomem, nostack, preserves_flags))
    };
    out
}

/// Consumes both words of a result in registers, as a caller that keeps it
/// in registers does: the `_reg` variants' loops store nothing of their own.
#[inline(always)]
fn consumed(returned: bool, value: u64) {
    // SAFETY: an empty `asm!` that only reads two registers.
    unsafe {
        asm!("/* {0} {1} */", in(reg) u64::from(returned), in(reg) value, options(nomem, nostack, preserves_flags))
    };
}

/// Sets up one lab variant: `resume` is what main does, `tramp` the first
/// code the coroutine runs, `regs` how many registers its frame holds.
///
/// The closure `resume` wraps the variant's unsafe resume: `lab` only calls
/// it with the two slots set up here, the coroutine suspended in its echo
/// loop (SAFETY of every call).
fn lab(
    resume: impl Fn(*mut u64, *const u64, u64) -> u64 + 'static,
    tramp: unsafe extern "sysv64" fn() -> !,
    regs: usize,
) -> Run {
    let own: *mut u64 = Box::leak(Box::new(0u64));
    let main: *mut u64 = Box::leak(Box::new(0u64));
    let rsp = fresh_stack(
        leak_stack(),
        Slots { own, caller: main },
        tramp as usize as u64,
        regs,
    );
    // SAFETY: both slots are this variant's alone; `own` gets the fresh
    // frame; the echo body always switches back to `main`.
    unsafe {
        *own = rsp;
    }
    assert_eq!(resume(main, own, 5), 5);
    Box::new(move |n| timed!(n, resume(main, own, black_box(1))))
}

/// `resume`, then exactly the safe API's check after a switch: the load of
/// the canary at `bottom` (the first word of a leaked lab stack), a compare
/// with `CANARY` and a cold panic.
fn canary_checked(bottom: *const u64, resume: impl Fn(u64) -> u64) -> impl Fn(u64) -> u64 {
    #[cold]
    #[inline(never)]
    fn overflowed() -> ! {
        panic!("the canary was overwritten")
    }
    move |v| {
        let back = resume(v);
        // SAFETY: `bottom` is the first word of a leaked stack, never freed.
        if unsafe { bottom.read_volatile() } != coroutine_switch::CANARY {
            overflowed();
        }
        back
    }
}

/// A `v2_pair` echo loop on a fresh stack with the crate's canary in its
/// bottom word, as the variants that add the safe API's check use it: its
/// own slot (holding the loop's first RSP), the resumer's slot, and the
/// stack's bottom word, which the check reads.
fn v2_pair_with_canary() -> (*mut u64, *mut u64, *const u64) {
    use coroutine_switch::CANARY;
    let own: *mut u64 = Box::leak(Box::new(0u64));
    let main: *mut u64 = Box::leak(Box::new(0u64));
    let stack = leak_stack();
    let tramp: unsafe extern "sysv64" fn() -> ! = v2_pair_tramp;
    let rsp = fresh_stack(stack, Slots { own, caller: main }, tramp as usize as u64, 2);
    stack[0] = CANARY;
    // Taken last: from here on only the coroutine and this pointer touch the
    // stack.
    let bottom: *const u64 = stack.as_ptr();
    // SAFETY: the slot is this variant's alone.
    unsafe { *own = rsp };
    (own, main, bottom)
}

/// Sets up `v2_pair_canary` (`as_enum` false) or `v2_pair_canary_enum`
/// (true): `v2_pair` and, after every resume, the safe API's one check (the
/// stack's bottom word against the canary, a cold panic if it differs),
/// with nothing else of the safe API; `_enum` also hands the value on as a
/// `Resumed`, as `resume` does. Between `v2_pair` and `real_safe_api`, they
/// split what the safe API costs into the check and the rest.
fn canary_lab(as_enum: bool) -> Run {
    use coroutine_switch::Resumed;
    let (own, main, bottom) = v2_pair_with_canary();
    let resume = canary_checked(bottom, move |v| {
        // SAFETY: as in `lab`: both slots are this variant's, the echo loop
        // is suspended in `own`.
        unsafe { v2_pair_resume(main, own, v) }
    });
    assert_eq!(resume(5), 5);
    if as_enum {
        Box::new(move |n| timed!(n, Resumed::Yielded(resume(black_box(1)))))
    } else {
        Box::new(move |n| timed!(n, resume(black_box(1))))
    }
}

/// Sets up `mix_<echo>_<entry>`: the canary's check and the `Resumed` result
/// of `v2_pair_canary_enum`, with the coroutine side and the resume side each
/// taken from the lab or from the crate, one at a time. `crate_echo`: the
/// coroutine is set up by `Coroutine::new` and suspends through
/// `Yielder::suspend` (else the lab's `v2_pair` echo loop); `crate_entry`:
/// the resume enters through `Context::call_into`, whose `asm!` block ends
/// with a `nop` after the `call` (else the lab's `v2_pair_resume`).
fn mix_lab(crate_echo: bool, crate_entry: bool) -> Run {
    use coroutine_switch::{Context, Coroutine, Resumed, Stack, Yielder};
    let (own, main, bottom): (*mut u64, *mut u64, *const u64) = if crate_echo {
        fn echo(y: &Yielder, mut v: u64) -> u64 {
            loop {
                v = y.suspend(v);
            }
        }
        let stack: &'static Stack<STACK_BYTES> = Box::leak(Box::new(Stack::new()));
        let own: &'static Context = Box::leak(Box::new(Context::new()));
        let main: &'static Context = Box::leak(Box::new(Context::new()));
        // SAFETY: the stack and slots are this variant's alone; it is
        // only ever resumed through the two slots below. The `Coroutine`
        // itself is not needed: what it set up lives in the stack and slots.
        let _ = unsafe { Coroutine::new(stack, own, main, echo) };
        (own.as_ptr(), main.as_ptr(), stack.bottom() as *const u64)
    } else {
        v2_pair_with_canary()
    };
    let resume = canary_checked(bottom, move |v| {
        // SAFETY: as in `lab`: both slots are this variant's, and the
        // coroutine (either echo loop) is suspended in `own`. A `Context` is
        // a transparent `u64` slot.
        unsafe {
            if crate_entry {
                (*(main as *const Context)).call_into(&*(own as *const Context), v)
            } else {
                v2_pair_resume(main, own, v)
            }
        }
    });
    assert_eq!(resume(5), 5);
    Box::new(move |n| timed!(n, Resumed::Yielded(resume(black_box(1)))))
}

/// Sets up `v2_pair_canary_<layout>`: `v2_pair_canary_enum` with the result
/// in another representation (`wrap` builds it from the value), so that
/// what the caller's store of the whole result costs can be told apart from
/// the rest: see the result layouts below.
fn layout_lab<R: 'static>(wrap: impl Fn(u64) -> R + 'static) -> Run {
    let (own, main, bottom) = v2_pair_with_canary();
    let resume = canary_checked(bottom, move |v| {
        // SAFETY: as in `lab`: both slots are this variant's, the echo loop
        // is suspended in `own`.
        unsafe { v2_pair_resume(main, own, v) }
    });
    assert_eq!(resume(5), 5);
    Box::new(move |n| timed!(n, wrap(resume(black_box(1)))))
}

/// Sets up `gap<N>_canary_enum`: `v2_pair_canary_enum` entered through
/// `gap<N>_resume`, whose switch frame lies N bytes below the caller's locals.
fn gap_lab(resume_fn: unsafe fn(*mut u64, *const u64, u64) -> u64) -> Run {
    use coroutine_switch::{CANARY, Resumed};
    let own: *mut u64 = Box::leak(Box::new(0u64));
    let main: *mut u64 = Box::leak(Box::new(0u64));
    let stack = leak_stack();
    let tramp: unsafe extern "sysv64" fn() -> ! = v2_pair_tramp;
    let rsp = fresh_stack(stack, Slots { own, caller: main }, tramp as usize as u64, 2);
    stack[0] = CANARY;
    let bottom: *const u64 = stack.as_ptr();
    // SAFETY: the slot is this variant's alone.
    unsafe { *own = rsp };
    let resume = canary_checked(bottom, move |v| {
        // SAFETY: as in `lab`: both slots are this variant's, the echo loop
        // is suspended in `own`.
        unsafe { resume_fn(main, own, v) }
    });
    assert_eq!(resume(5), 5);
    Box::new(move |n| timed!(n, Resumed::Yielded(resume(black_box(1)))))
}

/// The result as `#[repr(u8)]`: a one-byte tag store.
#[allow(dead_code)]
#[derive(Clone, Copy)]
#[repr(u8)]
enum ResumedU8 {
    Yielded(u64),
    Returned(u64),
}

/// The result with the value first and the tag after it.
#[allow(dead_code)]
#[derive(Clone, Copy)]
#[repr(C)]
struct ValueFirst {
    value: u64,
    returned: u64,
}

/// The result aligned to 16 bytes: one 16-byte store is possible.
#[allow(dead_code)]
#[derive(Clone, Copy)]
#[repr(C, align(16))]
struct Aligned16 {
    returned: u64,
    value: u64,
}

/// A headline reference: `make()` as the process's stack placed it (`name`)
/// and a second one at the four placements (`name@…`), each its own
/// coroutine.
fn landed_and_placed(name: &str, make: impl Fn() -> Run) -> Vec<(String, Run)> {
    let mut runs = vec![(name.to_string(), make())];
    runs.extend(every_placement(name, make()));
    runs
}

/// Sets up `inline_pair`: [inline_tramp, rbx = 0, rbp = 0] below the Slots.
/// With `safe_api_parts`, each resume also pays what the safe API adds to
/// the bare switch, exactly as `v2_pair_canary_enum` does: the canary's
/// check and the `Resumed` result (`inline_pair_canary_enum`).
fn inline_lab(safe_api_parts: bool) -> Run {
    use coroutine_switch::{CANARY, Resumed};
    let own: *mut u64 = Box::leak(Box::new(0u64));
    let main: *mut u64 = Box::leak(Box::new(0u64));
    let stack = leak_stack();
    let len = stack.len();
    stack[len - 4] = own as u64;
    stack[len - 3] = main as u64;
    stack[len - 7] = inline_tramp as *const () as u64;
    stack[len - 6] = 0;
    stack[len - 5] = 0;
    stack[0] = CANARY;
    // SAFETY: the slot is this variant's alone.
    unsafe { *own = stack.as_ptr() as u64 + ((len - 7) * 8) as u64 };
    // Taken last, as in `canary_lab`.
    let bottom: *const u64 = stack.as_ptr();
    // SAFETY: `own` holds the fresh frame above; the echo loop switches back
    // through `main` and is suspended in `own` after every round trip.
    assert_eq!(unsafe { inline_resume(main, own, 5) }, 5);
    if !safe_api_parts {
        return Box::new(move |n| {
            timed!(
                n,
                // SAFETY: as for the first resume above.
                unsafe { inline_resume(main, own, black_box(1)) }
            )
        });
    }
    let resume = canary_checked(bottom, move |v| {
        // SAFETY: as for the first resume above.
        unsafe { inline_resume(main, own, v) }
    });
    Box::new(move |n| timed!(n, Resumed::Yielded(resume(black_box(1)))))
}

/// `LAB_PAD=K` at build time puts K bytes before this benchmark's code,
/// moving every loop below by K bytes: builds that differ only in where the
/// linker places the code (docs/measuring.md, "The lab's history").
const PAD: usize = pad(option_env!("LAB_PAD"));

/// Parses `LAB_PAD` at compile time (0 when unset).
const fn pad(value: Option<&str>) -> usize {
    let digits = match value {
        Some(text) => text.as_bytes(),
        None => b"0",
    };
    let mut n = 0;
    let mut i = 0;
    while i < digits.len() {
        assert!(
            digits[i].is_ascii_digit(),
            "LAB_PAD must be a number of bytes"
        );
        n = n * 10 + (digits[i] - b'0') as usize;
        i += 1;
    }
    n
}

/// `PAD` bytes of `int3` and a `ret`: never called, only placed.
#[unsafe(naked)]
#[unsafe(no_mangle)]
extern "sysv64" fn lab_pad() {
    naked_asm!(".skip {pad}, 0xcc", "ret", pad = const PAD)
}

fn main() {
    // Kept in the binary, so that the linker places it.
    black_box(lab_pad as *const ());
    // `cargo bench` passes `--bench`; there is nothing else to parse.
    let mut variants: Vec<(String, Run)> = Vec::new();
    // Where the loader put the code: the loader moves all of it by whole
    // pages, and on the Xeon of docs/measuring.md the page modulo 8 (bits
    // 12-14 of any of its addresses; `switch_into`'s here) decides which of
    // two levels some variants run at in this process ("Where the code
    // lands").
    let code = coroutine_switch::switch_into as *const () as usize;
    println!(
        "code: switch_into at {code:#x}, page {} modulo 8",
        (code >> 12) % 8
    );

    // The crate's own switch through its safe API: what `round_trip/ours`
    // measures, and the same used as a caller uses it (`_match`, below).
    {
        use coroutine_switch::Resumed;
        use switch_bench::ours_started as started;
        variants.extend(landed_and_placed("real_safe_api", switch_bench::ours));
        // The result matched rather than handed to `black_box` whole: a
        // caller branches on the kind and keeps the value, so only the value
        // is stored, as in `v2_pair` (see "The lab's history" in docs/measuring.md).
        let co = started();
        variants.push((
            "real_safe_api_match".into(),
            Box::new(move |n| {
                timed!(
                    n,
                    match co.resume(black_box(1)) {
                        Resumed::Yielded(v) => v,
                        Resumed::Returned(_) => unreachable!("the echo loop never returns"),
                    }
                )
            }),
        ));
        // The two slots 4096 bytes apart, as two statics that each start a
        // page are: every switch reads one and writes the other, and the
        // two share address bits 0-11 (switch.rs, "Why the other side's
        // slot is read before this side's is written").
        #[repr(C, align(4096))]
        struct TwoPages([coroutine_switch::Context; 1024]);
        let pages: &'static TwoPages = Box::leak(Box::new(TwoPages(core::array::from_fn(|_| {
            coroutine_switch::Context::new()
        }))));
        let co = switch_bench::ours_started_with(&pages.0[0], &pages.0[512]);
        variants.push((
            "real_safe_api_slots_4k".into(),
            switch_bench::ours_timed(co),
        ));
        // Neither the input nor the result through memory: the switch and
        // its check with no store of the loop's own beside the switch's.
        let co = started();
        variants.push((
            "real_safe_api_reg".into(),
            Box::new(move |n| {
                timed!(
                    n,
                    match co.resume(opaque(1)) {
                        Resumed::Yielded(v) => consumed(false, v),
                        Resumed::Returned(v) => consumed(true, v),
                    }
                )
            }),
        ));
    }
    variants.push((
        "v6_jmp".into(),
        // SAFETY: `lab` only resumes its own suspended echo loop.
        lab(|f, t, v| unsafe { v6_jmp(f, t, v) }, v6_jmp_tramp, 6),
    ));
    variants.push((
        "v6_ret".into(),
        // SAFETY: `lab` only resumes its own suspended echo loop.
        lab(|f, t, v| unsafe { v6_ret(f, t, v) }, v6_ret_tramp, 6),
    ));
    variants.push((
        "v2_jmp".into(),
        // SAFETY: `lab` only resumes its own suspended echo loop.
        lab(|f, t, v| unsafe { v2_jmp(f, t, v) }, v2_jmp_tramp, 2),
    ));
    variants.push((
        "v6_pair".into(),
        lab(
            // SAFETY: `lab` only resumes its own suspended echo loop.
            |f, t, v| unsafe { v6_pair_resume(f, t, v) },
            v6_pair_tramp,
            6,
        ),
    ));
    let bare = || {
        lab(
            // SAFETY: `lab` only resumes its own suspended echo loop.
            |f, t, v| unsafe { v2_pair_resume(f, t, v) },
            v2_pair_tramp,
            2,
        )
    };
    variants.extend(landed_and_placed("v2_pair", bare));
    variants.push(("inline_pair".into(), inline_lab(false)));
    variants.push(("inline_pair_canary_enum".into(), inline_lab(true)));
    variants.push((
        "half_inline".into(),
        // SAFETY: `lab` only resumes its own suspended echo loop.
        lab(|f, t, v| unsafe { half_resume(f, t, v) }, half_tramp, 2),
    ));
    variants.push(("v2_pair_canary".into(), canary_lab(false)));
    variants.push(("v2_pair_canary_enum".into(), canary_lab(true)));
    variants.push(("gap64_canary_enum".into(), gap_lab(gap64_resume)));
    variants.push(("gap128_canary_enum".into(), gap_lab(gap128_resume)));
    variants.push(("layout_u8".into(), layout_lab(ResumedU8::Yielded)));
    variants.push((
        "layout_value_first".into(),
        layout_lab(|value| ValueFirst { value, returned: 0 }),
    ));
    variants.push((
        "layout_align16".into(),
        layout_lab(|value| Aligned16 { returned: 0, value }),
    ));
    variants.push(("mix_lab_lab".into(), mix_lab(false, false)));
    variants.push(("mix_lab_crate".into(), mix_lab(false, true)));
    variants.push(("mix_crate_lab".into(), mix_lab(true, false)));
    variants.push(("mix_crate_crate".into(), mix_lab(true, true)));
    variants.push((
        "v6r_jmp".into(),
        // SAFETY: `lab` only resumes its own suspended echo loop.
        lab(|f, t, v| unsafe { v6r_jmp(f, t, v) }, v6r_jmp_tramp, 6),
    ));
    variants.push((
        "v6r_pair".into(),
        lab(
            // SAFETY: `lab` only resumes its own suspended echo loop.
            |f, t, v| unsafe { v6r_pair_resume(f, t, v) },
            v6r_pair_tramp,
            6,
        ),
    ));
    // corosensei, black-boxed as `round_trip/corosensei` measures it, and
    // matched (`_match`) as `real_safe_api_match` matches ours.
    {
        use corosensei::CoroutineResult;
        use switch_bench::corosensei_started as started;
        variants.extend(landed_and_placed("corosensei", switch_bench::corosensei));
        let co = started();
        variants.push((
            "corosensei_match".into(),
            Box::new(move |n| {
                timed!(
                    n,
                    match co.resume(black_box(1)) {
                        CoroutineResult::Yield(v) => v,
                        CoroutineResult::Return(_) => unreachable!("the echo loop never returns"),
                    }
                )
            }),
        ));
        let co = started();
        variants.push((
            "corosensei_reg".into(),
            Box::new(move |n| {
                timed!(
                    n,
                    match co.resume(opaque(1)) {
                        CoroutineResult::Yield(v) => consumed(false, v),
                        CoroutineResult::Return(v) => consumed(true, v),
                    }
                )
            }),
        ));
    }
    {
        #[inline(never)]
        fn identity(value: u64) -> u64 {
            value
        }
        let f: fn(u64) -> u64 = identity;
        variants.push((
            "floor".into(),
            Box::new(move |n| timed!(n, black_box(f)(black_box(1)))),
        ));
    }

    // `LAB_CODE=<libswitch_bench.so>`: the headline's loops also in a copy
    // of the library at every page modulo 8 (`real_safe_api#5@16`: page 5,
    // RSP at 16 modulo 64), each copy's code laid out as in every other.
    if let Some(library) = std::env::var_os("LAB_CODE") {
        match switch_bench::copies::every_page(std::path::Path::new(&library)) {
            Ok(copies) => variants.extend(copies),
            Err(e) => {
                eprintln!("variants: LAB_CODE: {e}");
                std::process::exit(1);
            }
        }
    }
    // Interleaved: every round runs every variant once, starting at a
    // different one each round, so background load on this shared machine
    // falls on all of them alike instead of on whichever ran at a bad time.
    const ROUNDS: usize = 61;
    const N: u64 = 200_000;
    // `LAB=real_safe_api,floor` keeps only those and the references: the
    // two the paired columns divide by, and the three measured at every
    // placement (the headline's), for quicker runs.
    if let Ok(only) = std::env::var("LAB") {
        let keep: Vec<&str> = only.split(',').collect();
        let reference = |id: &str| ["corosensei", "v2_pair"].contains(&id) || id.ends_with("@?");
        variants.retain(|(id, _)| keep.contains(&id.as_str()) || reference(id));
    }
    // `LAB_PLACED=1`: every other variant kept is measured at the four
    // placements instead of where the process's stack put it.
    if std::env::var_os("LAB_PLACED").is_some() {
        for (id, run) in std::mem::take(&mut variants) {
            if id.contains('@') || ["corosensei", "v2_pair", "real_safe_api"].contains(&id.as_str())
            {
                variants.push((id, run));
            } else {
                variants.extend(every_placement(&id, run));
            }
        }
    }
    for (id, run) in &mut variants {
        run(N); // warm up caches and predictors
        let rsp = LOOP_RSP.load(std::sync::atomic::Ordering::Relaxed);
        // A placed variant is named by the offset its loop ran at.
        if let Some(name) = id.strip_suffix("@?") {
            *id = format!("{name}@{}", rsp % 64);
        }
        // `LAB_RSP=1`: where each timed loop's stack pointer falls in a
        // cache line (the loop keeps its `black_box` slots just above it).
        if std::env::var_os("LAB_RSP").is_some() {
            println!("rsp {id}: {rsp:#x} ({} mod 64)", rsp % 64);
        }
    }
    let (t0, c0) = (Instant::now(), tsc());
    let mut ticks: Vec<Vec<f64>> = vec![Vec::with_capacity(ROUNDS); variants.len()];
    for round in 0..ROUNDS {
        for k in 0..variants.len() {
            let i = (round + k) % variants.len();
            ticks[i].push((variants[i].1)(N) as f64 / N as f64);
        }
    }
    let mhz = (tsc() - c0) as f64 / t0.elapsed().as_secs_f64() / 1e6;

    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let mut rows: Vec<(String, Vec<f64>)> =
        variants.into_iter().map(|(id, _)| id).zip(ticks).collect();
    // `name@all`: each round's mean over the four placements of `name`,
    // the figure a run of a process placed at random is expected to give
    // (its stack pointer takes each offset equally often), in every run.
    let mut bases: Vec<String> = rows
        .iter()
        .filter_map(|(id, _)| Some(id.split_once('@')?.0.to_string()))
        .collect();
    bases.dedup();
    for name in bases {
        let name = name.as_str();
        let placed: Vec<&Vec<f64>> = rows
            .iter()
            .filter(|(id, _)| id.strip_prefix(name).is_some_and(|at| at.starts_with('@')))
            .map(|(_, t)| t)
            .collect();
        let all = (0..ROUNDS)
            .map(|r| placed.iter().map(|t| t[r]).sum::<f64>() / placed.len() as f64)
            .collect();
        rows.push((format!("{name}@all"), all));
    }
    // `name@code`: each round's mean over the copies' `name#<page>@all`,
    // the figure a process whose code and stack landed at random is
    // expected to give.
    for name in switch_bench::HEADLINE {
        let pages: Vec<&Vec<f64>> = rows
            .iter()
            .filter(|(id, _)| id.starts_with(&format!("{name}#")) && id.ends_with("@all"))
            .map(|(_, t)| t)
            .collect();
        if !pages.is_empty() {
            let all = (0..ROUNDS)
                .map(|r| pages.iter().map(|t| t[r]).sum::<f64>() / pages.len() as f64)
                .collect();
            rows.push((format!("{name}@code"), all));
        }
    }
    let index = |name: &str| rows.iter().position(|(id, _)| id == name);
    // A placed row is compared with the reference at the same placements
    // (`@16` with `corosensei@16`, `#5@all` with `corosensei#5@all`), the
    // others with the references as the process placed them; the copies
    // hold no bare switch, so their rows have no `/ v2_pair` figure.
    let reference = |id: &str, name: &str| {
        let at = id.find(['#', '@']).map_or("", |i| &id[i..]);
        index(&format!("{name}{at}"))
    };
    let coro = index("corosensei").expect("corosensei always runs");
    // Rounds in which corosensei ran within 10 % of its fastest: the machine
    // was quiet then (it alternates with busier periods that slow every
    // variant, but not all by as much).
    let fastest = rows[coro].1.iter().copied().fold(f64::INFINITY, f64::min);
    let quiet: Vec<usize> = (0..ROUNDS)
        .filter(|&r| rows[coro].1[r] <= 1.1 * fastest)
        .collect();
    // The machine's speed drifts by up to 2x over seconds (other tenants of
    // the host), so comparing medians taken over the whole run mixes slow
    // and fast periods. A round takes a few milliseconds: the ratio of two
    // variants within one round compares them under the same conditions,
    // and the median of those ratios is the steadiest figure of the lab.
    let paired = |i: usize, j: usize| {
        median(
            rows[i]
                .1
                .iter()
                .zip(&rows[j].1)
                .map(|(a, b)| a / b)
                .collect(),
        )
    };
    // `LAB_ROUNDS=1`: every round's figure, in the order the rounds ran, so
    // that a variant with two levels shows them (a median hides them).
    if std::env::var_os("LAB_ROUNDS").is_some() {
        for (id, ticks) in &rows {
            let rounds: Vec<String> = ticks.iter().map(|t| format!("{t:.1}")).collect();
            println!("rounds {id}: {}", rounds.join(" "));
        }
        println!();
    }
    println!("TSC {mhz:.1} MHz (rdtsc against the monotonic clock over the whole run)");
    println!("{ROUNDS} interleaved rounds x {N} round trips; ticks per round trip (median, min)");
    println!("and the median over the rounds of each round's ratio (paired);");
    println!(
        "quiet rounds: the {} rounds in which corosensei was within 10 % of its fastest\n",
        quiet.len()
    );
    println!(
        "| variant | ticks median | ticks min | ns median | / corosensei | / corosensei, paired | / v2_pair, paired | / corosensei, quiet rounds |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (i, (id, ticks)) in rows.iter().enumerate() {
        let coro = reference(id, "corosensei").expect("every row has its corosensei");
        let m = median(ticks.clone());
        let bare =
            reference(id, "v2_pair").map_or("-".into(), |bare| format!("{:.3}", paired(i, bare)));
        println!(
            "| {id} | {m:.1} | {:.1} | {:.2} | {:.2} | {:.3} | {bare} | {:.3} |",
            ticks.iter().copied().fold(f64::INFINITY, f64::min),
            m / (mhz / 1000.0),
            m / median(rows[coro].1.clone()),
            paired(i, coro),
            median(quiet.iter().map(|&r| ticks[r] / rows[coro].1[r]).collect()),
        );
    }
}
