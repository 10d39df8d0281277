//! The coroutine program, in two phases.
//!
//! **Phase 1** replays the original NASM program as it is: `_start` calls
//! `init_coroutines`, `switch_to_coro1` and `switch_to_coro2`; each switch
//! saves main's RSP in `main_context`, loads a coroutine's RSP, *calls* the
//! coroutine function on that stack and restores RSP. The coroutines can only
//! run to their end.
//!
//! **Phase 2** fixes that: the same stacks and context slots, but every
//! switch saves the side that leaves as well: `Coroutine::resume` enters the
//! naked `coroutine_switch::switch_into`, `Yielder::suspend` the naked
//! `switch_back`. Each pushes rbp and rbx on the leaving side's stack, stores
//! its RSP in that side's slot and loads the other slot, so coroutine1 and
//! coroutine2 yield back to main in the middle of their work and main resumes
//! them, turn by turn, until both return.
//!
//! Every step is logged on COM1 (see README.md for a transcript). The file
//! follows the order of the NASM listing: `.bss` first, then `_start`, then
//! the functions in the order the listing defines them.

#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn)]

use bootloader_api::{BootInfo, entry_point};
use core::arch::{asm, naked_asm};
use core::panic::PanicInfo;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use coroutine_switch::{Context, Coroutine, Resumed, STACK_SIZE, Stack, Yielder};
use kernel::stacks::{self, locate};
use kernel::{BOOTLOADER_CONFIG, QemuExitCode, exit_qemu};
use log::info;

// ---------------------------------------------------------------------------
// section .bss
// ---------------------------------------------------------------------------

/// `coroutine1_stack: resb 4096`, above an unmapped guard page
/// (`kernel::guard`).
static COROUTINE1_STACK: &Stack<STACK_SIZE> = &kernel::guard::STACKS.coroutine1;
/// `coroutine2_stack: resb 4096`, above an unmapped guard page.
static COROUTINE2_STACK: &Stack<STACK_SIZE> = &kernel::guard::STACKS.coroutine2;
/// `main_context: resq 1`: main's RSP while a coroutine runs.
static MAIN_CONTEXT: Context = Context::new();
/// `coro1_context: resq 1`: coroutine1's RSP while it does not run.
static CORO1_CONTEXT: Context = Context::new();
/// `coro2_context: resq 1`: coroutine2's RSP while it does not run.
static CORO2_CONTEXT: Context = Context::new();

// ---------------------------------------------------------------------------
// _start
// ---------------------------------------------------------------------------

entry_point!(kernel_main, config = &BOOTLOADER_CONFIG);

/// The original `_start`: initialise the coroutines, switch to coroutine1,
/// then to coroutine2. Then phase 2 does the same with yields.
fn kernel_main(boot_info: &'static mut BootInfo) -> ! {
    kernel::serial::init();
    // GDT/TSS, IDT and guard pages; faults name the routine in RUNNING.
    kernel::init(
        boot_info,
        Some(kernel::Running {
            index: &RUNNING,
            names: &NAMES,
            switches: &SWITCHES,
        }),
    );
    name_the_stacks(boot_info);

    info!("== phase 1: as in the document (call and return, no yield) ==");
    init_coroutines();
    let before = log_call(COROUTINE1, "switch_to_coro1");
    // SAFETY: init_coroutines just pointed both slots at the top of their
    // unused stacks, which is all the original's switch functions need.
    let rax = unsafe { switch_to_coro1() };
    log_back_in_main(COROUTINE1, rax, before);
    let before = log_call(COROUTINE2, "switch_to_coro2");
    // SAFETY: as above.
    let rax = unsafe { switch_to_coro2() };
    log_back_in_main(COROUTINE2, rax, before);

    info!("== phase 2: with yield ==");
    run_with_yields();

    summary();
    exit_qemu(QemuExitCode::Success)
}

// ---------------------------------------------------------------------------
// Phase 1: the original functions
// ---------------------------------------------------------------------------

/// The original `init_coroutines`: each coroutine's RSP starts at the top of
/// its stack (`mov rax, coroutine1_stack + 4096; mov [coro1_context], rax`).
fn init_coroutines() {
    // SAFETY: no coroutine uses these slots yet; the switch functions below
    // only load the value into RSP, and the top of an unused stack is a valid
    // (empty) stack.
    unsafe {
        CORO1_CONTEXT.set_saved_rsp(COROUTINE1_STACK.top());
        CORO2_CONTEXT.set_saved_rsp(COROUTINE2_STACK.top());
    }
    info!("main       | init_coroutines");
    log_slots("main");
}

/// The original `switch_to_coro1`, instruction for instruction.
///
/// Register state on entry: RSP on main's stack, `[rsp]` = return address
/// into `kernel_main`. The return value is the rax left by
/// `coroutine1_func`.
///
/// # Safety
///
/// `CORO1_CONTEXT` must hold the top of a stack nobody else uses
/// (`init_coroutines` does that). `coroutine1_func` must return (it does):
/// there is no way to leave it halfway, which is the flaw phase 2 fixes.
#[unsafe(naked)]
unsafe extern "sysv64" fn switch_to_coro1() -> u64 {
    naked_asm!(
        // Unwind information, so that gdb's `bt` inside coroutine1_func
        // reaches kernel_main. Three pieces: on main's stack before and
        // after, an ordinary function's rule (CFA = rsp + 8, return address
        // at CFA - 8, what `.cfi_startproc` starts with); on the coroutine's
        // stack, main's RSP is only in MAIN_CONTEXT, where the FDE written
        // out below finds it.
        ".cfi_startproc",
        // mov [main_context], rsp: remember where main's stack is.
        "mov [rip + {main_context}], rsp",
        // mov rsp, [coro1_context]: from here on we run on COROUTINE1_STACK.
        "mov rsp, [rip + {coro1_context}]",
        ".cfi_endproc",
        "1:",
        // call coroutine1_func: its return address goes on COROUTINE1_STACK;
        // the stack top is 16-byte aligned, so the callee starts with
        // RSP + 8 ≡ 0 (mod 16) as the ABI requires.
        "call {coroutine1_func}",
        // mov rsp, [main_context]: back on main's stack, rax untouched.
        "mov rsp, [rip + {main_context}]",
        "2:",
        ".cfi_startproc",
        // ret: to kernel_main, with coroutine1_func's rax as our result.
        "ret",
        ".cfi_endproc",
        // The unwind entry of the `call` and the `mov` above (labels 1 to
        // 2), in .debug_frame, written byte by byte: a signal frame (gdb
        // accepts main's frames, below COROUTINE1_STACK, as its callers only
        // then; it prints this frame as `<signal handler called>`), which
        // `.cfi_signal_frame` cannot mark in .debug_frame, and a CFA read
        // from MAIN_CONTEXT, whose address only the linker knows. The same
        // layout as the trampoline's in coroutine_switch.
        ".pushsection .debug_frame, \"\", @progbits",
        // CIE: length, id 0xffffffff, version 1, augmentation "S" (signal
        // frame), code alignment 1, data alignment -8, return address in
        // column 16 (rip), no initial instructions, DW_CFA_nop padding.
        "3:",
        ".long 5f - 4f",
        "4:",
        ".long 0xffffffff",
        ".byte 1",
        ".asciz \"S\"",
        ".uleb128 1",
        ".sleb128 -8",
        ".byte 16",
        ".balign 8, 0",
        "5:",
        // FDE: length, CIE offset (relocated by the linker), the address
        // range from label 1 to label 2.
        ".long 7f - 6f",
        "6:",
        ".long 3b",
        ".quad 1b",
        ".quad 2b - 1b",
        // DW_CFA_def_cfa_expression (0x0f), 12 bytes (0x0c):
        //   0x03 <8 bytes>  DW_OP_addr MAIN_CONTEXT (relocated)
        //   0x06            DW_OP_deref: main's RSP, saved at our entry,
        //                   pointing at our return address into kernel_main
        //   0x23 0x08       DW_OP_plus_uconst 8: main's RSP after our `ret`
        ".byte 0x0f, 0x0c, 0x03",
        ".quad {main_context}",
        ".byte 0x06, 0x23, 0x08",
        // DW_CFA_offset rip, 1 (0x90 0x01): return address at CFA - 8.
        ".byte 0x90, 0x01",
        // DW_CFA_nop padding.
        ".balign 8, 0",
        "7:",
        ".popsection",
        main_context = sym MAIN_CONTEXT,
        coro1_context = sym CORO1_CONTEXT,
        coroutine1_func = sym coroutine1_func,
    )
}

/// The original `switch_to_coro2`: `switch_to_coro1` with the other slot and
/// function.
///
/// # Safety
///
/// As for [`switch_to_coro1`], with `CORO2_CONTEXT`.
#[unsafe(naked)]
unsafe extern "sysv64" fn switch_to_coro2() -> u64 {
    naked_asm!(
        // Unwind information as in switch_to_coro1.
        ".cfi_startproc",
        // mov [main_context], rsp
        "mov [rip + {main_context}], rsp",
        // mov rsp, [coro2_context]: now on COROUTINE2_STACK.
        "mov rsp, [rip + {coro2_context}]",
        ".cfi_endproc",
        "1:",
        // call coroutine2_func
        "call {coroutine2_func}",
        // mov rsp, [main_context]: back on main's stack.
        "mov rsp, [rip + {main_context}]",
        "2:",
        ".cfi_startproc",
        // ret
        "ret",
        ".cfi_endproc",
        // The signal-frame CIE and the FDE of labels 1 to 2, byte for byte
        // those of switch_to_coro1: CFA = [MAIN_CONTEXT] + 8.
        ".pushsection .debug_frame, \"\", @progbits",
        "3:",
        ".long 5f - 4f",
        "4:",
        ".long 0xffffffff",
        ".byte 1",
        ".asciz \"S\"",
        ".uleb128 1",
        ".sleb128 -8",
        ".byte 16",
        ".balign 8, 0",
        "5:",
        ".long 7f - 6f",
        "6:",
        ".long 3b",
        ".quad 1b",
        ".quad 2b - 1b",
        ".byte 0x0f, 0x0c, 0x03",
        ".quad {main_context}",
        ".byte 0x06, 0x23, 0x08",
        ".byte 0x90, 0x01",
        ".balign 8, 0",
        "7:",
        ".popsection",
        main_context = sym MAIN_CONTEXT,
        coro2_context = sym CORO2_CONTEXT,
        coroutine2_func = sym coroutine2_func,
    )
}

/// The original `coroutine1_func`: `mov rax, 1; ret`, plus the log line that
/// shows it runs on COROUTINE1_STACK.
extern "sysv64" fn coroutine1_func() -> u64 {
    RUNNING.store(COROUTINE1, Ordering::Relaxed);
    log_rsp("coroutine1", "coroutine1_func: mov rax, 1; ret");
    log_slots("coroutine1");
    RUNNING.store(MAIN, Ordering::Relaxed);
    1
}

/// The original `coroutine2_func`: `mov rax, 2; ret`.
extern "sysv64" fn coroutine2_func() -> u64 {
    RUNNING.store(COROUTINE2, Ordering::Relaxed);
    log_rsp("coroutine2", "coroutine2_func: mov rax, 2; ret");
    log_slots("coroutine2");
    RUNNING.store(MAIN, Ordering::Relaxed);
    2
}

/// Logs main's side of a phase 1 switch before it happens; returns main's
/// RSP so that [`log_back_in_main`] can compare.
#[inline(always)]
fn log_call(coroutine: usize, function: &str) -> u64 {
    let step = SWITCHES.fetch_add(1, Ordering::Relaxed) + 1;
    let rsp = stacks::rsp();
    info!(
        "main       | #{step} {function}: save RSP in MAIN_CONTEXT, load {}'s slot, call, RSP={rsp:#018x} ({})",
        NAMES[coroutine],
        locate(rsp)
    );
    rsp
}

/// Logs main's side of a phase 1 switch after the coroutine function
/// returned and RSP was reloaded from `MAIN_CONTEXT`.
#[inline(always)]
fn log_back_in_main(coroutine: usize, rax: u64, before: u64) {
    let step = SWITCHES.fetch_add(1, Ordering::Relaxed) + 1;
    log_slots("main");
    let rsp = stacks::rsp();
    info!(
        "main       | #{step} back from {}: rax={rax}, RSP={rsp:#018x} ({}), {}",
        NAMES[coroutine],
        locate(rsp),
        restored_or_changed(before, rsp)
    );
}

fn restored_or_changed(before: u64, after: u64) -> &'static str {
    if before == after {
        "restored"
    } else {
        "CHANGED"
    }
}

// ---------------------------------------------------------------------------
// Phase 2: the same stacks and slots, with yield
// ---------------------------------------------------------------------------

/// How many times each coroutine yields before it returns.
const ROUNDS: u64 = 3;

/// coroutine1: yields its round counter, returns the sum of what main sent.
fn coroutine1_task(yielder: &Yielder, first: u64) -> u64 {
    rounds(yielder, COROUTINE1, first, |counter| counter)
}

/// coroutine2: the same, yielding the square of its counter.
fn coroutine2_task(yielder: &Yielder, first: u64) -> u64 {
    rounds(yielder, COROUTINE2, first, |counter| counter * counter)
}

/// The body both coroutines share: `ROUNDS` rounds, each yielding
/// `to_yield(counter)` to main. `counter`, `received` and `sum` are locals on
/// the coroutine's own stack: they survive every yield because the switch
/// leaves that stack untouched while main runs.
fn rounds(yielder: &Yielder, who: usize, first: u64, to_yield: fn(u64) -> u64) -> u64 {
    let mut counter = 0;
    let mut received = first;
    let mut sum = 0;
    switched_in(who);
    while counter < ROUNDS {
        counter += 1;
        sum += received;
        log_round(who, counter, received);
        received = yield_logged(yielder, who, to_yield(counter));
    }
    sum += received;
    info!(
        "{:<10} | done after {counter} rounds: return {sum}",
        NAMES[who]
    );
    sum
}

/// main's side of phase 2: set both coroutines up on the original stacks and
/// slots, then resume them alternately until both have returned.
fn run_with_yields() {
    // SAFETY: phase 1 is over, so the stacks and slots are free again; each
    // coroutine gets its own stack and slot, and neither resumes the other,
    // so sharing MAIN_CONTEXT as the resumer's slot is fine.
    let coroutines = unsafe {
        [
            Coroutine::new(
                COROUTINE1_STACK,
                &CORO1_CONTEXT,
                &MAIN_CONTEXT,
                coroutine1_task,
            ),
            Coroutine::new(
                COROUTINE2_STACK,
                &CORO2_CONTEXT,
                &MAIN_CONTEXT,
                coroutine2_task,
            ),
        ]
    };
    info!("main       | init: both stacks painted, canaries set, trampolines in place");
    log_slots("main");

    let mut value = 0;
    while coroutines.iter().any(|c| !c.is_finished()) {
        for (index, coroutine) in coroutines.iter().enumerate() {
            if coroutine.is_finished() {
                continue;
            }
            value += 1;
            resume_logged(coroutine, COROUTINE1 + index, value);
        }
    }
}

/// Resumes `coroutine` with `value` and logs both sides of the switch back.
fn resume_logged(coroutine: &Coroutine, who: usize, value: u64) {
    let name = NAMES[who];
    let step = SWITCHES.fetch_add(1, Ordering::Relaxed) + 1;
    let before = stacks::rsp();
    info!(
        "main       | #{step} resume {name} with {value}, RSP={before:#018x} ({})",
        locate(before)
    );
    // `switched_in` names the coroutine once it runs; until then (and in
    // `resume`'s own checks) main is the one running.
    let result = coroutine.resume(value);
    RUNNING.store(MAIN, Ordering::Relaxed);
    log_slots("main");
    let after = stacks::rsp();
    match result {
        Resumed::Yielded(v) => info!("main       | {name} yielded {v}"),
        Resumed::Returned(v) => info!("main       | {name} returned {v}, finished"),
    }
    info!(
        "main       | RSP={after:#018x} ({}), {}",
        locate(after),
        restored_or_changed(before, after)
    );
}

/// Logs the switch from coroutine `who` back to main and makes it.
fn yield_logged(yielder: &Yielder, who: usize, value: u64) -> u64 {
    let step = SWITCHES.fetch_add(1, Ordering::Relaxed) + 1;
    info!("{:<10} | #{step} yield {value} to main", NAMES[who]);
    let received = yielder.suspend(value);
    switched_in(who);
    received
}

/// Called by a coroutine whenever a switch has brought it in (first entry and
/// every return from a yield): from now on faults and panics name it, and the
/// transcript shows what the switch left in the slots.
fn switched_in(who: usize) {
    RUNNING.store(who, Ordering::Relaxed);
    log_slots(NAMES[who]);
}

fn log_round(who: usize, counter: u64, received: u64) {
    let rsp = stacks::rsp();
    info!(
        "{:<10} | round {counter}: received {received}, counter={counter}, RSP={rsp:#018x} ({})",
        NAMES[who],
        locate(rsp)
    );
}

// ---------------------------------------------------------------------------
// The summary
// ---------------------------------------------------------------------------

/// Round trips timed for the cycles-per-switch figure.
const TIMED_ROUND_TRIPS: u64 = 10_000;

fn summary() {
    let switches = SWITCHES.load(Ordering::Relaxed);
    let used1 = COROUTINE1_STACK.high_water_mark();
    let used2 = COROUTINE2_STACK.high_water_mark();
    let cycles = cycles_per_switch();
    info!("== summary ==");
    info!("switches made: {switches}");
    info!("coroutine1 stack high-water mark: {used1} of {STACK_SIZE} bytes");
    info!("coroutine2 stack high-water mark: {used2} of {STACK_SIZE} bytes");
    info!(
        "cycles per switch: {cycles} (rdtsc over {} switches; EMULATED by QEMU TCG, not a hardware figure)",
        2 * TIMED_ROUND_TRIPS
    );
    info!("all coroutines finished: exiting with success");
}

/// Times `TIMED_ROUND_TRIPS` resume/yield round trips on COROUTINE1_STACK
/// with the very switch used above, and returns TSC ticks per switch.
fn cycles_per_switch() -> u64 {
    fn ping(yielder: &Yielder, mut value: u64) -> u64 {
        for _ in 0..TIMED_ROUND_TRIPS {
            value = yielder.suspend(value + 1);
        }
        value
    }
    // SAFETY: coroutine1 has finished, its stack and slot are free again.
    let timed = unsafe { Coroutine::new(COROUTINE1_STACK, &CORO1_CONTEXT, &MAIN_CONTEXT, ping) };
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

/// Reads the time-stamp counter with `lfence` on both sides, so that it is
/// neither read early nor late relative to the code being timed.
fn rdtsc_serialized() -> u64 {
    let (low, high): (u32, u32);
    // SAFETY: lfence and rdtsc only read the TSC into edx:eax.
    unsafe {
        asm!(
            "lfence",
            "rdtsc",
            "lfence",
            out("eax") low,
            out("edx") high,
            options(nomem, nostack, preserves_flags),
        );
    }
    (u64::from(high) << 32) | u64::from(low)
}

// ---------------------------------------------------------------------------
// Who runs, and what the transcript shows of the stacks
// ---------------------------------------------------------------------------

const MAIN: usize = 0;
const COROUTINE1: usize = 1;
const COROUTINE2: usize = 2;
const NAMES: [&str; 3] = ["main", "coroutine1", "coroutine2"];

/// Which routine runs now (an index into `NAMES`), for the panic handler.
static RUNNING: AtomicUsize = AtomicUsize::new(MAIN);
/// Switches made so far, phase 1 counting 2 per call-and-return.
static SWITCHES: AtomicU64 = AtomicU64::new(0);

/// Registers the three stacks for `locate` and logs their bounds.
fn name_the_stacks(boot_info: &BootInfo) {
    let main_bottom = boot_info.kernel_stack_bottom;
    let main_top = main_bottom + boot_info.kernel_stack_len;
    stacks::register("main stack", main_bottom, main_top);
    stacks::register(
        "COROUTINE1_STACK",
        COROUTINE1_STACK.bottom(),
        COROUTINE1_STACK.top(),
    );
    stacks::register(
        "COROUTINE2_STACK",
        COROUTINE2_STACK.bottom(),
        COROUTINE2_STACK.top(),
    );
    info!("stack main stack       [{main_bottom:#018x}, {main_top:#018x})");
    for (name, stack) in [
        ("COROUTINE1_STACK", &COROUTINE1_STACK),
        ("COROUTINE2_STACK", &COROUTINE2_STACK),
    ] {
        info!(
            "stack {name:<16} [{:#018x}, {:#018x})",
            stack.bottom(),
            stack.top()
        );
    }
}

fn log_rsp(who: &str, what: &str) {
    let rsp = stacks::rsp();
    info!("{who:<10} | {what}, RSP={rsp:#018x} ({})", locate(rsp));
}

fn log_slots(who: &str) {
    let slot = |c: &Context| {
        let rsp = c.saved_rsp();
        (rsp, locate(rsp))
    };
    let (m, c1, c2) = (
        slot(&MAIN_CONTEXT),
        slot(&CORO1_CONTEXT),
        slot(&CORO2_CONTEXT),
    );
    info!(
        "{who:<10} | slots MAIN_CONTEXT={:#018x} ({}) CORO1_CONTEXT={:#018x} ({}) CORO2_CONTEXT={:#018x} ({})",
        m.0, m.1, c1.0, c1.1, c2.0, c2.1
    );
}

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    // "coroutine1 panicked at switch #5: ...", naming who ran (RUNNING).
    kernel::report_panic_while_running(info)
}
