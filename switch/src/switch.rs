//! The switch: two naked functions, `switch_into` (resume) and `switch_back`
//! (yield), and the tombstone a finished coroutine's slot points at.
//!
//! Written once: the save/swap/restore and its unwind rows are the macros
//! `save_and_swap!` and `restore!`, which both switches (and the tombstone's
//! exit) expand; only the way out differs.
//!
//! ## The switch on one page
//!
//! ```text
//!   switch_into(from, to, value)  resume: main -> coroutine, entered by `call`
//!   switch_back(from, to, value)  yield:  coroutine -> main, entered by `jmp`
//!
//!      the side that leaves                      the side that continues
//!      (e.g. main's stack)                       (e.g. COROUTINE1_STACK)
//!      +-------------------+                     +-------------------+
//!      | ...its frames     |                     | ...its frames     |
//!      | where to continue | <- `call`/`push`    | where to continue |
//!      | rbp               |                     | rbp               |
//!      | rbx               | <- RSP stored in    | rbx               | <- RSP loaded
//!      +-------------------+    *from            +-------------------+    from *to
//!
//!   push rbp; push rbx            the leaving side's frame, on its own stack
//!   mov rcx, [rsi]                the other side's RSP, from its slot (`to`)
//!   mov [rdi], rsp                this side's RSP into its slot (`from`)
//!   mov rsp, rcx                  onto the other side's stack
//!   pop rbx; pop rbp              its registers back
//!   pop rcx; jmp rcx  (into)      to its continue address, or
//!   ret               (back)
//! ```
//!
//! Register state on entry: rdi = `from`, rsi = `to`, rax = the value handed
//! across, `[rsp]` = where the leaving side continues. On exit, on the other
//! side: its rbx, rbp and RSP restored, rax = the value, rdi and rsi as they
//! came in.
//!
//! ## Why the other side's slot is read before this side's is written
//!
//! The two slots are the caller's (`Context`s anywhere in memory). If their
//! addresses differ by a multiple of 4 KiB, a load from one that follows a
//! store to the other looks, to the CPU's first check (address bits 0–11),
//! like a load of the value just stored ("4K aliasing"). Written the plain
//! way, `mov [rdi], rsp` then `mov rsp, [rsi]`, every switch is such a
//! pair, and on the Xeon of docs/measuring.md a round trip then takes 23 TSC
//! ticks instead of 5.3, in every round of the process (the lab's
//! `real_safe_api_slots_4k`: 3.6× corosensei). Two statics that each start
//! a page are such a pair: the kernel's `main_context` and `coro1_context`
//! are, in the build of this writing (`.bss` starts a page, and
//! `main_context` follows a page-aligned stack). Reading `*to` first leaves
//! no store of the switch before the load that everything after it waits
//! for: the same slots then cost nothing (5.3 ticks). The price is one
//! register move per switch, `mov rsp, rcx`.
//!
//! ## Which registers, and why only rbp and rbx
//!
//! The System V ABI makes rbx, rbp and r12–r15 callee-saved: whoever switches
//! away must get them back. The switches are entered only from the `asm!`
//! blocks of `context.rs` (`call_into` and [`Context::return_to`]), and those
//! declare r12–r15 clobbered, so the compiler itself keeps anything live in
//! them safe, once per function and only if something is live there (the
//! benchmark loop has nothing). rbp and rbx cannot be declared clobbered
//! (LLVM reserves them), so the switches push and pop them. Everything else
//! (rax, rcx, rdx, rsi, rdi, r8–r11, flags) is caller-saved and declared
//! clobbered too. corosensei makes the same choice; pushing r12–r15 in the
//! switch as well costs about a third of a round trip (docs/measuring.md).
//!
//! The price: the naked functions are not plain `extern "sysv64"` functions.
//! A caller that does not declare r12–r15 clobbered gets the other side's
//! values in them. Their `# Safety` sections say so, and only the two `asm!`
//! blocks of `context.rs` call them.
//!
//! **Not saved**: the x87 control word and MXCSR, callee-saved too. The
//! kernel is built soft-float and never touches them, and a coroutine that
//! changes them on the host changes them for everyone, as with corosensei.
//! Saving them costs two stores and two loads per switch for a case this
//! project never has.
//!
//! ## How the switch is entered and left: one `call`, one `ret`
//!
//! A `call` pushes its return address on the CPU's return stack buffer (RSB)
//! and a `ret` predicts its target from the top of it. A switch called and
//! left like a function (`call` ... `ret`) lands every `ret` on the other
//! stack, not after the `call` the RSB remembers: two mispredictions per
//! round trip. But a round trip is a detour: main resumes, the coroutine runs
//! and hands control back to just after the resume. So the switch pairs them
//! the way a function call does (corosensei does the same):
//!
//! ```text
//!   Coroutine::resume  call switch_into            RSB: push "after the call"
//!   switch_into        ... pop rcx; jmp rcx        into the coroutine; RSB kept
//!   (the coroutine runs; its own calls and returns balance out)
//!   Yielder::suspend   lea; push; jmp switch_back  RSB untouched
//!   switch_back        ... ret                     pops "after the call": predicted
//! ```
//!
//! Both functions restore the same three-word frame, so either one switches
//! correctly to any saved side; the pairing only decides what the CPU
//! predicts. It is exact when a coroutine suspends at the call depth at which
//! it was last resumed, as the kernel's and the benchmark's do; otherwise a
//! few returns are mispredicted until the RSB agrees again.
//!
//! ## Where the two switches lie: one 128-byte block
//!
//! ```text
//!   128-byte boundary ->  switch_back   push rbp ... ret     (11 bytes)
//!   + 64                  switch_into   push rbp ... jmp rcx (13 bytes)
//! ```
//!
//! A round trip runs both, so both are on one page and in two adjacent
//! cache lines: `switch_back` starts a 128-byte block (`.p2align 7`) and
//! `switch_into` takes its second line (`.p2align 6`), where the linker puts
//! it, right after `switch_back`. A 128-byte block never crosses a page.
//! When only each line was aligned, a build in which `switch_back` ended a
//! page put the two on two pages, and there some processes ran the safe
//! API at 1.00× corosensei instead of 0.84–0.88, the bare switch at 0.86
//! instead of 0.78 (docs/measuring.md, "Where the code lands").
//! `tests/switch.rs` checks the block on the host, and the boot tool's
//! tests in the kernel.
//!
//! ## Backtraces across the switch
//!
//! A debugger finds the caller of a frame with the frame's DWARF call frame
//! information (CFI): for every instruction, a rule for the CFA (canonical
//! frame address: the caller's RSP just after its `call` returned) and for
//! where the caller's registers are saved. The compiler writes it for Rust
//! functions; naked functions get none, so each carries its own, with a
//! comment per directive giving the bytes it emits. `.cfi_*` directives end
//! up in `.eh_frame` on the host and in `.debug_frame` in the kernel (built
//! without unwind tables); gdb reads both. (How a coroutine's outermost
//! frame leads back to its resumer: `trampoline.rs`.)
//!
//! **The switches.** Both push the same three-word frame on the leaving side
//! and pop it on the other, so one set of rows serves both:
//!
//! ```text
//!   stopped at            CFA        rbx at    rbp at    return address
//!   push rbp (entry)      rsp + 8    -         -         [CFA - 8]
//!   push rbx              rsp + 16   -         CFA - 16  [CFA - 8]
//!   mov rcx, [rsi]        rsp + 24   CFA - 24  CFA - 16  [CFA - 8]
//!   mov [rdi], rsp        rsp + 24   CFA - 24  CFA - 16  [CFA - 8]
//!   mov rsp, rcx          rsp + 24   CFA - 24  CFA - 16  [CFA - 8]
//!   pop rbx               rsp + 24   CFA - 24  CFA - 16  [CFA - 8]
//!   pop rbp               rsp + 16   -         CFA - 16  [CFA - 8]
//!   pop rcx (switch_into) rsp + 8    -         -         [CFA - 8]
//!   jmp rcx (switch_into) rsp + 0    -         -         rcx
//!   ret     (switch_back) rsp + 8    -         -         [CFA - 8]
//! ```
//!
//! ("-": the register holds the caller's value.) The row does not change
//! at `mov rsp, rcx`: before it, RSP points at the
//! leaving side's frame; after it, at the arriving side's, which has the same
//! layout. So until the `mov` a backtrace lists the side that leaves, and from
//! then on the side the switch is about to continue, as if the switch were
//! already returning into it. From then on the registers that side declared
//! clobbered are also marked undefined: they hold the other side's values,
//! and gdb shows `<optimized out>` rather than pass those off as its own.
//!
//! **The suspend block.** [`Context::return_to`] pushes the continue address
//! and `jmp`s: for the `jmp`, the enclosing function's CFA is 8 bytes further
//! from RSP than the compiler's rule says, which `.cfi_adjust_cfa_offset 8`
//! tells the unwinder. That directive adjusts an RSP-based CFA; were the
//! function compiled with frame pointers forced (CFA based on rbp), the row
//! of that one `jmp` would be 8 bytes off. The directive also needs the
//! enclosing function to have CFI at all, which the compiler gives every
//! function with unwind tables (the host) or debug info: a target without
//! unwinding must be built with debug info, line tables at least (the
//! kernel's release profile does so), or the assembler rejects the block.
//! After the `jmp`, an `int3` that never runs keeps "continue address − 1",
//! where gdb looks up the frame once the switch is entered, out of the
//! `jmp`'s adjusted row.
//!
//! `tests/backtrace.rs` runs a coroutine under gdb, steps every instruction
//! of six resumes (two of them from a coroutine whose stack lies below the
//! one it resumes) and checks each `bt`.

use core::arch::naked_asm;

#[cfg(doc)]
use crate::{Context, Coroutine};

/// The words of a saved side's frame: rbx, rbp, and the continue address.
pub const FRAME_WORDS: usize = 3;

/// A three-word frame as the switches save and restore it, lowest address
/// first.
#[repr(C)]
pub(crate) struct Frame {
    rbx: u64,
    rbp: u64,
    continue_at: unsafe extern "sysv64" fn() -> !,
}
const _: () = assert!(size_of::<Frame>() == FRAME_WORDS * 8);

/// The frame a finished coroutine's slot points at: a resume of it pops
/// two zeros and continues at [`coroutine_tombstone`], which goes straight
/// back to the resumer. Read-only: nothing ever pushes onto it.
// An unmangled symbol, so that gdb's `coro-list` recognises it.
#[unsafe(export_name = "coroutine_tombstone_frame")]
pub(crate) static TOMBSTONE: Frame = Frame {
    rbx: 0,
    rbp: 0,
    continue_at: coroutine_tombstone,
};

/// The CFI rows that mark every register the switches' callers declare
/// clobbered (their `asm!` blocks' clobber lists) as undefined, for the
/// instructions after `mov rsp, rcx`: those registers now hold the
/// leaving side's values, so gdb shows `<optimized out>` for them in the
/// continued side's frames rather than values that are not theirs. rax (the
/// value handed across) is left as it is. Each row is two bytes,
/// DW_CFA_undefined (0x07) and the DWARF register number: rdx 1, rcx 2,
/// rsi 4, rdi 5, r8–r15 8–15.
macro_rules! clobbers_undefined {
    () => {
        concat!(
            ".cfi_undefined rdx\n",
            ".cfi_undefined rcx\n",
            ".cfi_undefined rsi\n",
            ".cfi_undefined rdi\n",
            ".cfi_undefined r8\n",
            ".cfi_undefined r9\n",
            ".cfi_undefined r10\n",
            ".cfi_undefined r11\n",
            ".cfi_undefined r12\n",
            ".cfi_undefined r13\n",
            ".cfi_undefined r14\n",
            ".cfi_undefined r15\n",
        )
    };
}

/// What both switches do first: save the leaving side (rbp and rbx below
/// its continue address, then RSP in `*rdi`) and move onto the other side's
/// stack (`*rsi`). Entered with the continue address at `[rsp]`, where a
/// `call` puts it (`switch_into`) or `return_to`'s `push` (`switch_back`),
/// so the CIE's initial row (CFA = rsp + 8, return address at CFA − 8)
/// holds at the first instruction.
macro_rules! save_and_swap {
    () => {
        concat!(
            ".cfi_startproc\n",
            // Save this side's rbp and rbx on its own stack, below its
            // continue address.
            "push rbp\n",
            // DW_CFA_def_cfa_offset 16 (0x0e 0x10): the CFA is now rsp + 16.
            ".cfi_def_cfa_offset 16\n",
            // DW_CFA_offset rbp, 2 (0x86 0x02): rbp saved at CFA + 2 × (−8).
            ".cfi_offset rbp, -16\n",
            "push rbx\n",
            // DW_CFA_def_cfa_offset 24 (0x0e 0x18).
            ".cfi_def_cfa_offset 24\n",
            // DW_CFA_offset rbx, 3 (0x83 0x03): rbx saved at CFA − 24.
            ".cfi_offset rbx, -24\n",
            // The other side's RSP, read before this side's is stored: the
            // load that every later instruction waits for follows no store
            // of ours, so slots 4 KiB apart do not stall it (header, "Why
            // the other side's slot is read before this side's is written").
            "mov rcx, [rsi]\n",
            // This side is now fully described by RSP: save it in its slot.
            "mov [rdi], rsp\n",
            // The other side's stack. From here on we run on it.
            //
            // No new row: the other side's frame is the same three words at
            // RSP (rbx, rbp, where to continue), so "CFA = rsp + 24, rbx at
            // CFA − 24, rbp at CFA − 16, return address at CFA − 8" now
            // describes the side we are about to continue, and a backtrace
            // from here on lists its frames.
            "mov rsp, rcx\n",
            // What the continued side declared clobbered now holds this
            // side's values: marked undefined.
            clobbers_undefined!(),
        )
    };
}

/// What both switches (and the tombstone) do next, on the continued side's
/// stack with RSP at its three-word frame: pop its rbx and rbp, in the
/// reverse order of its pushes, leaving its continue address at `[rsp]`.
macro_rules! restore {
    () => {
        concat!(
            // The continued side's rbx and rbp, in the reverse order of its
            // pushes.
            "pop rbx\n",
            // DW_CFA_def_cfa_offset 16 (0x0e 0x10).
            ".cfi_def_cfa_offset 16\n",
            // DW_CFA_restore rbx (0xc3): back to the CIE's rule, "unchanged":
            // the register now holds the value of the frame we continue.
            ".cfi_restore rbx\n",
            "pop rbp\n",
            // DW_CFA_def_cfa_offset 8 (0x0e 0x08): the CIE's row again.
            ".cfi_def_cfa_offset 8\n",
            // DW_CFA_restore rbp (0xc6).
            ".cfi_restore rbp\n",
        )
    };
}

/// The switch into a coroutine (resume). Entered with `call` by
/// [`Context::call_into`]; leaves with `pop rcx; jmp rcx`, so the RSB keeps
/// the entry of that `call` for the `ret` of [`switch_back`].
///
/// Register state on entry: rdi = `from` (the slot to save this side in),
/// rsi = `to` (the slot to continue), rax = the value to hand across,
/// `[rsp]` = where to continue this side. On exit, on the other side: its
/// rbx, rbp and RSP restored, rax = the value, rcx = its continue address,
/// rdi and rsi unchanged (`from` and `to`; [`Coroutine::resume`] reads rdi).
///
/// # Safety
///
/// `from` must be valid for a write of one `u64`. `*to` must hold an RSP
/// stored by one of the two switches (or prepared by [`Coroutine::new`]) on a
/// stack that is still alive and not running, and must not be switched to
/// twice. `from` may be `to`: `*to` is read before `*from` is written. Not a plain System V function: the caller must treat every
/// register but rbx, rbp and RSP as clobbered, r12–r15 included.
#[unsafe(naked)]
// An unmangled symbol: gdb shows it without the crate hash of a v0 name
// (naked functions have no debug info to name them), and `break NAME` works.
#[unsafe(no_mangle)]
pub unsafe extern "sysv64" fn switch_into(from: *mut u64, to: *const u64) -> u64 {
    naked_asm!(
        // Emits no padding: rustc gives each function a section of its own
        // and this is its offset 0. It raises the section's alignment to a
        // cache line, the second of `switch_back`'s block ("Where the two
        // switches lie").
        ".p2align 6",
        save_and_swap!(),
        restore!(),
        // Its continue address. `pop; jmp` rather than `ret`: the RSB's
        // top is our caller's `call`, kept for the `ret` that comes back.
        "pop rcx",
        // DW_CFA_def_cfa_offset 0 (0x0e 0x00): nothing of ours is left on
        // the stack; RSP is already the continued side's.
        ".cfi_def_cfa_offset 0",
        // DW_CFA_register rip, rcx (0x09 0x10 0x02): the return address is
        // in rcx, not on the stack.
        ".cfi_register rip, rcx",
        "jmp rcx",
        ".cfi_endproc",
    )
}

/// The switch from a coroutine back to the side that resumed it (yield, and
/// the final return). Entered with `lea; push; jmp` by
/// [`Context::return_to`]; leaves with `ret`, which pops the continue address
/// that the resumer's `call` pushed and that the RSB has on top: predicted.
///
/// Register state on entry and exit as for [`switch_into`], but rcx = the
/// continued side's RSP (its continue address is still on the stack, for
/// the `ret`).
///
/// # Safety
///
/// As for [`switch_into`].
#[unsafe(naked)]
// An unmangled symbol, as `switch_into`.
#[unsafe(no_mangle)]
pub unsafe extern "sysv64" fn switch_back(from: *mut u64, to: *const u64) -> u64 {
    naked_asm!(
        // No padding either: its section starts a 128-byte block, whose
        // second line `switch_into` takes ("Where the two switches lie").
        ".p2align 7",
        save_and_swap!(),
        restore!(),
        // Pops the continue address the resumer's `call` pushed, which the
        // RSB predicts.
        "ret",
        ".cfi_endproc",
    )
}

/// Where a resume of a finished coroutine continues: the tombstone frame's
/// continue address. It returns to the resumer at once, as if the coroutine
/// had returned, but with rdi = 0, which [`Coroutine::resume`] turns into
/// its "resumed a finished coroutine" panic, on the resumer's stack.
///
/// On entry (from `switch_into`'s `jmp rcx`): RSP = the end of
/// [`TOMBSTONE`], in read-only memory; rdi = the resumer's slot, where
/// `switch_into` just saved its RSP; rbx = rbp = 0.
///
/// From `switch_into`'s `pop`s to the `mov rsp` here, RSP points into
/// read-only memory (four instructions). Nothing is pushed there, but a
/// signal handler (host) or an interrupt (kernel) taken on that stack in that
/// window would fault instead of reaching the panic. The kernel runs with
/// interrupts off; a host program only meets the window when it resumes a
/// finished coroutine, which is already a bug.
#[unsafe(naked)]
// An unmangled symbol: gdb shows it without the crate hash of a v0 name,
// and `break coroutine_tombstone` works.
#[unsafe(no_mangle)]
unsafe extern "sysv64" fn coroutine_tombstone() -> ! {
    naked_asm!(
        ".cfi_startproc",
        // The tombstone has no frame worth showing: from the first
        // instruction, the caller is the resumer. DW_CFA_def_cfa_expression
        // (0x0f), 5 bytes: DW_OP_breg5 0 (0x75 0x00), DW_OP_deref (0x06),
        // DW_OP_plus_uconst 24 (0x23 0x18): CFA = [rdi] + 24, just above the
        // resumer's three-word frame...
        ".cfi_escape 0x0f, 0x05, 0x75, 0x00, 0x06, 0x23, 0x18",
        // ...whose rbp (DW_CFA_offset rbp, 2: 0x86 0x02) and rbx
        // (DW_CFA_offset rbx, 3: 0x83 0x03) lie below its continue address.
        ".cfi_offset rbp, -16",
        ".cfi_offset rbx, -24",
        // What the resumer declared clobbered holds other values.
        clobbers_undefined!(),
        // Back onto the resumer's stack, at the frame `switch_into` pushed.
        "mov rsp, [rdi]",
        // DW_CFA_def_cfa rsp, 24 (0x0c 0x07 0x18): the switches' row.
        ".cfi_def_cfa rsp, 24",
        // From here on, `switch_back`'s exit: the resumer's rbx and rbp...
        restore!(),
        // ...rdi = 0: "saved nowhere, finished before this resume"...
        "xor edi, edi",
        // ...and to just after the resumer's `call`, which the RSB predicts.
        "ret",
        ".cfi_endproc",
    )
}
