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
//! Every step is logged on COM1 (docs/output.md reads a transcript), and each
//! switch is also an event line on COM2 for the host tool's trace and
//! picture. The file follows the order of the NASM listing: `.bss` first,
//! then `_start`, then the functions in the order the listing defines them,
//! under the listing's own labels: `switch_to_coro1`, `main_context`,
//! `coroutine1_stack`... are the symbols of the ELF, so gdb knows them.
//!
//! The coroutine set is data: the `roster!` below declares the stacks and
//! slots and lists the coroutines; the library's counted, logged switches
//! (`kernel::roster`), its stack names and its fault reports all read it.

#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn)]

use bootloader_api::{BootInfo, entry_point};
use core::arch::naked_asm;
use core::panic::PanicInfo;
use coroutine_switch::Yielder;
use kernel::BOOTLOADER_CONFIG;
use kernel::exit::exit_qemu;
use kernel::measure::summary;
use kernel::roster::{self, Coroutines, MAIN, locate};
use kernel::stacks;
use log::info;
use protocol::ExitCode;
use protocol::event::{Event, Id, Kind};

// ---------------------------------------------------------------------------
// section .bss
// ---------------------------------------------------------------------------

kernel::roster! {
    /// The program's routines: main and the two coroutines, with the stacks
    /// (`coroutine1_stack: resb 4096`, each above an unmapped guard page)
    /// and the context slots (`main_context`, `coro1_context`,
    /// `coro2_context`: `resq 1` each) of the listing, under its labels.
    static ROSTER;
    main: MAIN_CONTEXT = "main_context";
    coroutine1: COROUTINE1_STACK = "coroutine1_stack", CORO1_CONTEXT = "coro1_context", coroutine1_task;
    coroutine2: COROUTINE2_STACK = "coroutine2_stack", CORO2_CONTEXT = "coro2_context", coroutine2_task;
}

/// coroutine1's and coroutine2's numbers in the roster (main is 0).
const COROUTINE1: Id = 1;
const COROUTINE2: Id = 2;

// ---------------------------------------------------------------------------
// _start
// ---------------------------------------------------------------------------

entry_point!(kernel_main, config = &BOOTLOADER_CONFIG);

/// The original `_start`: initialise the coroutines, switch to coroutine1,
/// then to coroutine2. Then phase 2 does the same with yields.
fn kernel_main(boot_info: &'static mut BootInfo) -> ! {
    kernel::serial::init();
    // GDT/TSS, IDT, the roster, and the guard pages below its stacks.
    kernel::init(boot_info, Some(&ROSTER));
    roster::announce();

    phase(1, "as in the document (call and return, no yield)");
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

    phase(2, "with yield");
    run_with_yields();

    // SAFETY: coroutine1 has returned: its stack and slot are free again,
    // and main, which runs this, owns main_context.
    unsafe { summary(&COROUTINE1_STACK, &CORO1_CONTEXT, &MAIN_CONTEXT) };
    exit_qemu(ExitCode::Success)
}

// ---------------------------------------------------------------------------
// Phase 1: the original functions
// ---------------------------------------------------------------------------

/// The original `init_coroutines`: each coroutine's RSP starts at the top of
/// its stack (`mov rax, coroutine1_stack + 4096; mov [coro1_context], rax`).
#[unsafe(export_name = "init_coroutines")]
fn init_coroutines() {
    // SAFETY: no coroutine uses these slots yet; the switch functions below
    // only load the value into RSP, and the top of an unused stack is a valid
    // (empty) stack.
    unsafe {
        CORO1_CONTEXT.set_saved_rsp(COROUTINE1_STACK.top());
        CORO2_CONTEXT.set_saved_rsp(COROUTINE2_STACK.top());
    }
    info!("main       | init_coroutines");
    roster::log_slots("main");
}

/// The original `switch_to_coro1`, instruction for instruction.
///
/// Register state on entry: RSP on main's stack, `[rsp]` = return address
/// into `kernel_main`. The return value is the rax left by
/// `coroutine1_func`.
///
/// # Safety
///
/// `coro1_context` must hold the top of a stack nobody else uses
/// (`init_coroutines` does that). `coroutine1_func` must return (it does):
/// there is no way to leave it halfway, which is the flaw phase 2 fixes.
///
/// The operands are the listing's labels, which are the ELF's symbols here
/// (see `roster!` above and the `export_name` of `coroutine1_func`).
#[unsafe(naked)]
#[unsafe(export_name = "switch_to_coro1")]
unsafe extern "sysv64" fn switch_to_coro1() -> u64 {
    naked_asm!(
        // Unwind information, so that gdb's `bt` inside coroutine1_func
        // reaches kernel_main: on main's stack, an ordinary function's rule
        // (`.cfi_startproc`: CFA = rsp + 8, return address at CFA - 8); on
        // the coroutine's stack, main's RSP is only in main_context, where
        // the entry written out at the end finds it.
        ".cfi_startproc",
        // mov [main_context], rsp: remember where main's stack is.
        "mov [rip + main_context], rsp",
        // mov rsp, [coro1_context]: from here on we run on coroutine1_stack.
        "mov rsp, [rip + coro1_context]",
        ".cfi_endproc",
        "1:",
        // call coroutine1_func: its return address goes on coroutine1_stack;
        // the stack top is 16-byte aligned, so the callee starts with
        // RSP + 8 ≡ 0 (mod 16) as the ABI requires.
        "call coroutine1_func",
        // mov rsp, [main_context]: back on main's stack, rax untouched.
        "mov rsp, [rip + main_context]",
        "2:",
        ".cfi_startproc",
        // ret: to kernel_main, with coroutine1_func's rax as our result.
        "ret",
        ".cfi_endproc",
        // The unwind entry of the `call` and the `mov` (labels 1 to 2): main's
        // frame is found through main_context (kernel/src/unwind.rs).
        kernel::call_on_other_stack_fde!("main_context"),
    )
}

/// The original `switch_to_coro2`: `switch_to_coro1` with the other slot and
/// function.
///
/// # Safety
///
/// As for [`switch_to_coro1`], with `coro2_context`.
#[unsafe(naked)]
#[unsafe(export_name = "switch_to_coro2")]
unsafe extern "sysv64" fn switch_to_coro2() -> u64 {
    naked_asm!(
        // Unwind information as in switch_to_coro1.
        ".cfi_startproc",
        // mov [main_context], rsp
        "mov [rip + main_context], rsp",
        // mov rsp, [coro2_context]: now on coroutine2_stack.
        "mov rsp, [rip + coro2_context]",
        ".cfi_endproc",
        "1:",
        // call coroutine2_func
        "call coroutine2_func",
        // mov rsp, [main_context]: back on main's stack.
        "mov rsp, [rip + main_context]",
        "2:",
        ".cfi_startproc",
        // ret
        "ret",
        ".cfi_endproc",
        kernel::call_on_other_stack_fde!("main_context"),
    )
}

/// The original `coroutine1_func`: `mov rax, 1; ret`, plus the log line that
/// shows it runs on coroutine1_stack.
#[unsafe(export_name = "coroutine1_func")]
extern "sysv64" fn coroutine1_func() -> u64 {
    roster::arrived(Kind::Call, MAIN, COROUTINE1, None);
    log_rsp("coroutine1", "coroutine1_func: mov rax, 1; ret");
    // The side that leaves counts the switch, as everywhere: here the
    // return to main.
    roster::departing(roster::next_switch(), COROUTINE1, stacks::rsp());
    1
}

/// The original `coroutine2_func`: `mov rax, 2; ret`.
#[unsafe(export_name = "coroutine2_func")]
extern "sysv64" fn coroutine2_func() -> u64 {
    roster::arrived(Kind::Call, MAIN, COROUTINE2, None);
    log_rsp("coroutine2", "coroutine2_func: mov rax, 2; ret");
    roster::departing(roster::next_switch(), COROUTINE2, stacks::rsp());
    2
}

/// Logs main's side of a phase 1 switch before it happens; returns main's
/// RSP so that [`log_back_in_main`] can compare.
#[inline(always)]
fn log_call(coroutine: Id, function: &str) -> u64 {
    let step = roster::next_switch();
    let rsp = stacks::rsp();
    roster::departing(step, MAIN, rsp);
    info!(
        "main       | #{step} {function}: save RSP in {}, load {}'s slot, call, RSP={rsp:#018x} ({})",
        MAIN_CONTEXT.name(),
        roster::name(coroutine),
        locate(rsp)
    );
    rsp
}

/// Logs main's side of a phase 1 switch after the coroutine function
/// returned and RSP was reloaded from `main_context`.
#[inline(always)]
fn log_back_in_main(coroutine: Id, rax: u64, before: u64) {
    // Counted by the coroutine function as it left.
    let step = roster::switches();
    roster::arrived(Kind::Return, coroutine, MAIN, Some(rax));
    let rsp = stacks::rsp();
    info!(
        "main       | #{step} back from {}: rax={rax}, RSP={rsp:#018x} ({}), {}",
        roster::name(coroutine),
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
    rounds(yielder, "coroutine1", first, |counter| counter)
}

/// coroutine2: the same, yielding the square of its counter.
fn coroutine2_task(yielder: &Yielder, first: u64) -> u64 {
    rounds(yielder, "coroutine2", first, |counter| counter * counter)
}

/// The body both coroutines share: `ROUNDS` rounds, each yielding
/// `to_yield(counter)` to main. `counter`, `received` and `sum` are locals on
/// the coroutine's own stack: they survive every yield because the switch
/// leaves that stack untouched while main runs.
fn rounds(yielder: &Yielder, who: &str, first: u64, to_yield: fn(u64) -> u64) -> u64 {
    let mut counter = 0;
    let mut received = first;
    let mut sum = 0;
    while counter < ROUNDS {
        counter += 1;
        sum += received;
        let rsp = stacks::rsp();
        info!(
            "{who:<10} | round {counter}: received {received}, counter={counter}, RSP={rsp:#018x} ({})",
            locate(rsp)
        );
        received = roster::suspend(yielder, to_yield(counter));
    }
    sum += received;
    info!("{who:<10} | done after {counter} rounds: return {sum}");
    sum
}

/// main's side of phase 2: set the roster's coroutines up on the original
/// stacks and slots, then resume them in turn until all have returned.
fn run_with_yields() {
    // SAFETY: phase 1 is over, so the stacks and slots are free again.
    let coroutines = unsafe { Coroutines::start() };
    info!("main       | init: both stacks painted, canaries set, trampolines in place");
    roster::log_slots("main");
    coroutines.round_robin();
}

/// Starts a part of the program: a heading in the transcript, a `phase`
/// event line.
fn phase(number: u32, title: &str) {
    info!("== phase {number}: {title} ==");
    kernel::events::emit(&Event::Phase { number, title });
}

// ---------------------------------------------------------------------------
// What the transcript shows of the stacks
// ---------------------------------------------------------------------------

fn log_rsp(who: &str, what: &str) {
    let rsp = stacks::rsp();
    info!("{who:<10} | {what}, RSP={rsp:#018x} ({})", locate(rsp));
}

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    // "coroutine1 panicked at switch #5: ...", naming who ran (the roster keeps track).
    kernel::report::report_panic_while_running(info)
}
