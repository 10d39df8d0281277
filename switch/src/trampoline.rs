//! The trampoline: the first code a coroutine runs, and its outermost frame,
//! whose hand-written unwind information leads a backtrace from the
//! coroutine's stack to its resumer's.
//!
//! ## A fresh stack
//!
//! [`Coroutine::new`] paints the stack (to measure its high-water mark later),
//! writes a canary at the bottom and builds the frame the switches expect to
//! find, so the first switch into it continues at the trampoline's entry
//! (`coroutine_trampoline` + 1, see "Backtraces across the switch" below):
//!
//! ```text
//!   top = stack base + N (16-byte aligned)
//!   +-------------------------------+ top
//!   | Yielder { own, caller, body,  |   32 bytes; the trampoline passes its
//!   |           canary }            |   address to the body as `&Yielder`
//!   +-------------------------------+ top - 32   (16-byte aligned)
//!   | coroutine_trampoline + 1      |   "where to continue"
//!   | rbp = 0                       |   ends gdb's frame-pointer chain
//!   | rbx = 0                       |
//!   +-------------------------------+ top - 56   = first saved RSP (*own)
//!   | painted with PAINT            |
//!   |            ...                |
//!   | CANARY                        |   checked after every switch back
//!   +-------------------------------+ stack base (lowest address)
//! ```
//!
//! The trampoline starts with RSP = top − 32, a multiple of 16, and `call`s
//! the body: at the body's first instruction RSP + 8 is a multiple of 16, as
//! the System V ABI requires. When the body returns, `coroutine_main`
//! points the coroutine's slot at the tombstone (`switch.rs`) and switches back
//! for the last time; nothing ever switches onto its stack again, so the
//! body never runs off the top of it. The trampoline's `ud2` after the call
//! is the guard: if that promise were ever broken, the CPU traps instead of
//! executing whatever follows.
//!
//! ## Backtraces across the switch
//!
//! The switches' own unwind rows are explained in `switch.rs`.
//!
//! **The trampoline links the two stacks.** It is the outermost frame of
//! every coroutine; its "caller" is the resumer, suspended in the `caller`
//! slot of the [`Yielder`] that RSP points at:
//!
//! ```text
//!   coroutine stack                          resumer's stack
//!   +-------------------------+ top          |  ...its frames     |
//!   | Yielder.canary          |              +--------------------+ <- CFA
//!   | Yielder.body            |              |  continue address  |
//!   | Yielder.caller ---------+--> slot ---+ |  rbp               |
//!   | Yielder.own             |            +>|  rbx               | <- [slot]
//!   +-------------------------+ top - 32: the trampoline's RSP
//!   | return address (ud2)    |   pushed by its `call`
//!   | coroutine_main, body... |
//!
//!   CFA = [[rsp + 8]] + 24: DW_OP_breg7 8, DW_OP_deref, DW_OP_deref,
//!   DW_OP_plus_uconst 24 (corosensei links its stacks the same way)
//! ```
//!
//! `switch_into` writes the slot before the coroutine runs, so the rule holds
//! at every instruction the coroutine executes. gdb refuses a caller whose
//! CFA is below its callee's ("previous frame inner to this frame"), as the
//! kernel's main stack is below its coroutine stacks, unless one of the two
//! frames is a *signal frame*; so the trampoline is one, and gdb prints it as
//! `<signal handler called>`. LLVM writes the signal-frame mark (the
//! augmentation "S" of the CIE) only into `.eh_frame`, and drops it from
//! `.debug_frame`; the trampoline's CIE and FDE are therefore written out
//! byte by byte into `.debug_frame`, the same on the host and in the kernel.
//! That also keeps them out of `.eh_frame`, so the runtime unwinder never
//! crosses the switch (a panic in a body stops at `coroutine_main`, an
//! `extern "sysv64"` function, anyway).
//!
//! Three consequences of the signal frame, and what the code does about
//! them:
//!
//! - gdb looks up a caller frame's rule at its return address minus one,
//!   unless the frame below is a signal frame. Below a fresh coroutine's
//!   trampoline is `switch_into` (stopped after its `mov rsp`), whose
//!   return address is the trampoline's entry, so the lookup would land on
//!   the last byte of whatever function the linker placed before it. The
//!   trampoline therefore starts with an `int3` that never runs, covered by
//!   its FDE, and its entry is the byte after it (`TRAMPOLINE_ENTRY`).
//! - gdb looks up the trampoline's rule at its return address (the `ud2`),
//!   not at the address before it, so the FDE covers the `ud2`.
//! - It looks up the resumer's frame at the continue address itself, which
//!   for a `call` is the next instruction. [`Context::call_into`] ends its
//!   `asm!` block with a `nop` after the `call`, so that address names
//!   `call_into` rather than whatever the compiler placed after the block.

use core::arch::naked_asm;

use crate::yielder::coroutine_main;
#[cfg(doc)]
use crate::{Context, Coroutine, Yielder, switch_into};

/// Where the trampoline's code starts, in bytes from its symbol: after the
/// `int3` that keeps gdb's lookups inside its unwind information (see
/// "Backtraces across the switch" above). Public for debuggers, which
/// recognise a fresh stack by this continue address.
pub const TRAMPOLINE_ENTRY: u64 = 1;

/// The first code a coroutine runs: [`switch_into`] jumps here on the first
/// resume.
///
/// On entry: RSP = top − 32, pointing at the [`Yielder`]; rax = the value of
/// the first resume; rbx = rbp = 0 (popped from the fresh frame).
#[unsafe(naked)]
// An unmangled symbol: gdb shows it without the crate hash of a v0 name
// (naked functions have no debug info to name them), and `break NAME` works.
#[unsafe(no_mangle)]
pub(crate) unsafe extern "sysv64" fn coroutine_trampoline() -> ! {
    naked_asm!(
        // The start of the function, for the FDE below.
        "0:",
        // Never executed: the entry is the next byte (`TRAMPOLINE_ENTRY`).
        // See "Backtraces across the switch" above: gdb looks
        // this frame up at the entry minus one, which this byte keeps inside
        // the FDE below.
        "int3",
        // First argument: &Yielder, which sits right at RSP.
        "mov rdi, rsp",
        // Second argument: the value passed to the first resume.
        "mov rsi, rax",
        // RSP is 16-byte aligned here, so after the call pushes its return
        // address the callee starts with RSP + 8 ≡ 0 (mod 16).
        "call {main}",
        // coroutine_main never returns. If it somehow did, trap here rather
        // than run whatever bytes follow. This is also the return address
        // gdb finds for this frame, and, the frame being a signal frame, the
        // address whose unwind rule it looks up: the FDE covers it.
        "ud2",
        // The end of the function.
        "1:",
        //
        // The unwind information, written out byte by byte rather than
        // with `.cfi_*` directives: see "Backtraces across the switch" in
        // the header for the frame it describes, and for why the
        // assembler's directives cannot say "signal frame" here.
        ".pushsection .debug_frame, \"\", @progbits",
        // --- CIE (Common Information Entry), DWARF version 1 layout.
        "2:",
        // Length of the CIE after this field.
        ".long 4f - 3f",
        "3:",
        // CIE id: 0xffffffff marks a CIE in .debug_frame.
        ".long 0xffffffff",
        // Version 1.
        ".byte 1",
        // Augmentation "S": the frames of this CIE are signal frames.
        ".asciz \"S\"",
        // Code alignment factor 1: DW_CFA_advance_loc counts bytes.
        ".uleb128 1",
        // Data alignment factor −8: DW_CFA_offset N means CFA − 8 × N.
        ".sleb128 -8",
        // Return address column 16: rip in the x86-64 DWARF numbering.
        ".byte 16",
        // No initial instructions; DW_CFA_nop (0) pads to 8 bytes.
        ".balign 8, 0",
        "4:",
        // --- FDE (Frame Description Entry) for this function.
        // Length of the FDE after this field.
        ".long 6f - 5f",
        "5:",
        // CIE pointer: the CIE's offset in .debug_frame (the linker
        // relocates it when it concatenates the sections).
        ".long 2b",
        // initial_location: the `int3` before the entry.
        ".quad 0b",
        // address_range: up to and including the `ud2`.
        ".quad 1b - 0b",
        // DW_CFA_def_cfa_expression: CFA = [[rsp + 8]] + 24, the
        // resumer's RSP just after its `call switch_into`.
        //   0x0f        DW_CFA_def_cfa_expression
        //   0x06        the expression is 6 bytes long:
        //   0x77 0x08   DW_OP_breg7 8: rsp + 8, the address of
        //               `Yielder::caller` (RSP points at the Yielder)
        //   0x06        DW_OP_deref: `caller`, the resumer's slot
        //   0x06        DW_OP_deref: the RSP `switch_into` saved there,
        //               pointing at the resumer's [rbx, rbp, continue]
        //   0x23 0x18   DW_OP_plus_uconst 24: past those three words
        // RSP is top − 32 at every instruction here, and when gdb unwinds
        // out of `coroutine_main` the RSP it gives this frame is
        // `coroutine_main`'s CFA: top − 32 as well. One rule for the whole
        // function, so no DW_CFA_advance_loc.
        ".byte 0x0f, 0x06, 0x77, 0x08, 0x06, 0x06, 0x23, 0x18",
        // DW_CFA_offset rip, 1 (0x80 | 16, 1): the resumer's continue
        // address at CFA − 8.
        ".byte 0x90, 0x01",
        // DW_CFA_offset rbp, 2 (0x80 | 6, 2): its rbp at CFA − 16.
        ".byte 0x86, 0x02",
        // DW_CFA_offset rbx, 3 (0x80 | 3, 3): its rbx at CFA − 24.
        ".byte 0x83, 0x03",
        // DW_CFA_undefined (0x07) for every register the resumer's `asm!`
        // block declares clobbered: rax 0, rdx 1, rcx 2, rsi 4, rdi 5,
        // r8–r15 8–15. Their values in the resumer's frame are lost, and
        // gdb shows `<optimized out>` instead of this side's values.
        ".byte 0x07, 0, 0x07, 1, 0x07, 2, 0x07, 4, 0x07, 5",
        ".byte 0x07, 8, 0x07, 9, 0x07, 10, 0x07, 11",
        ".byte 0x07, 12, 0x07, 13, 0x07, 14, 0x07, 15",
        // DW_CFA_nop padding to 8 bytes.
        ".balign 8, 0",
        "6:",
        ".popsection",
        main = sym coroutine_main,
    )
}
