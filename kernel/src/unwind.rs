//! Unwind information for the original program's switches, so that gdb's
//! `bt` inside `coroutine1_func` reaches `kernel_main`.
//!
//! `switch_to_coro1` moves RSP onto the coroutine's stack and `call`s the
//! coroutine function there. While the `call` and the `mov rsp,
//! [main_context]` after it are the current instructions of that frame,
//! main's RSP is nowhere but in `main_context`: no rule of the form "CFA =
//! rsp + n" can find it. [`call_on_other_stack_fde!`] writes the unwind entry
//! of those two instructions by hand: CFA = `[main_context] + 8`.
//!
//! Two things need writing out byte by byte instead of `.cfi_*`
//! directives: a CFA read from a symbol's address, which only the linker
//! knows (`DW_OP_addr` with a relocation; `.cfi_escape` takes only
//! constants); and the signal-frame mark (augmentation "S"), which LLVM
//! drops from `.debug_frame`, the only unwind section the kernel has. gdb
//! needs the mark to accept main's frames, whose stack lies *below* the
//! coroutine's, as callers; it prints the frame as `<signal handler
//! called>`. The switch crate's trampoline uses the same layout
//! (`coroutine_switch`, "Backtraces across the switch").

/// The `.debug_frame` entry (a signal-frame CIE and one FDE) covering the
/// code between the local labels `1:` and `2:` of the naked function it is
/// placed in, whose canonical frame address is the value saved in the
/// 8-byte slot `$slot` plus 8, with the return address just below it: what
/// a `mov [slot], rsp` at the function's entry leaves. Uses the local
/// labels `3:` to `7:`. A string literal for `naked_asm!`.
#[macro_export]
macro_rules! call_on_other_stack_fde {
    ($slot:literal) => {
        concat!(
            ".pushsection .debug_frame, \"\", @progbits\n",
            // CIE: its length; id 0xffffffff (a CIE, in .debug_frame);
            // version 1; augmentation "S" (signal frame); code alignment 1;
            // data alignment -8; return address in column 16 (rip); no
            // initial instructions; DW_CFA_nop (0) padding to 8 bytes.
            "3:\n",
            ".long 5f - 4f\n",
            "4:\n",
            ".long 0xffffffff\n",
            ".byte 1\n",
            ".asciz \"S\"\n",
            ".uleb128 1\n",
            ".sleb128 -8\n",
            ".byte 16\n",
            ".balign 8, 0\n",
            "5:\n",
            // FDE: its length; the CIE's offset (relocated by the linker);
            // the code it covers, labels 1 to 2.
            ".long 7f - 6f\n",
            "6:\n",
            ".long 3b\n",
            ".quad 1b\n",
            ".quad 2b - 1b\n",
            // DW_CFA_def_cfa_expression (0x0f), 12 bytes (0x0c):
            //   0x03 <8 bytes>  DW_OP_addr of the slot (relocated)
            //   0x06            DW_OP_deref: the RSP saved at the entry,
            //                   pointing at the return address
            //   0x23 0x08       DW_OP_plus_uconst 8: RSP after the `ret`
            ".byte 0x0f, 0x0c, 0x03\n",
            ".quad ",
            $slot,
            "\n",
            ".byte 0x06, 0x23, 0x08\n",
            // DW_CFA_offset rip, 1 (0x90 0x01): return address at CFA - 8.
            ".byte 0x90, 0x01\n",
            // DW_CFA_nop padding.
            ".balign 8, 0\n",
            "7:\n",
            ".popsection",
        )
    };
}
