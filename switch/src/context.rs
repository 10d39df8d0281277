//! The context slot (one saved RSP) and the two `asm!` blocks that enter the
//! switches: [`call_into`] for a resume (`call switch_into`) and
//! [`Context::return_to`] for a yield (`lea; push; jmp switch_back`). Why one
//! is a `call` and the other a `jmp`, and which registers they declare
//! clobbered: `switch.rs`.

use core::arch::asm;
use core::sync::atomic::{AtomicU64, Ordering};

use crate::switch::{TOMBSTONE, switch_back, switch_into};

/// A context slot: the saved RSP of a routine that is not running, like the
/// original's `main_context`, `coro1_context` and `coro2_context`.
///
/// 0 means "never set up". A finished coroutine's slot holds the address of
/// the tombstone frame (see "One check per round trip" in `coroutine.rs`),
/// which [`saved_rsp`](Self::saved_rsp) also reports as 0: nothing to
/// resume. It is an atomic only so that it can be a plain `static` and be
/// read safely; the switch itself writes it with a plain `mov`.
#[repr(transparent)]
pub struct Context {
    pub(crate) rsp: AtomicU64,
}

impl Context {
    /// An empty slot (in `.bss` when used as a `static`).
    pub const fn new() -> Self {
        Self {
            rsp: AtomicU64::new(0),
        }
    }

    /// The stack pointer stored in the slot; 0 if there is nothing to
    /// resume: a slot never set up, or a finished coroutine's (which holds
    /// the tombstone's address).
    // Inlined, as it was when it was a plain load: the kernel reads the slots
    // for its transcript on the coroutines' own stacks, and an out-of-line
    // call there deepened their high-water mark by 48 bytes.
    #[inline]
    pub fn saved_rsp(&self) -> u64 {
        if self.holds_tombstone() {
            0
        } else {
            self.rsp.load(Ordering::Relaxed)
        }
    }

    /// Whether the slot holds the tombstone: its coroutine has finished.
    #[inline]
    pub(crate) fn holds_tombstone(&self) -> bool {
        self.rsp.load(Ordering::Relaxed) == &raw const TOMBSTONE as u64
    }

    /// Stores `rsp` in the slot, as the original's `init_coroutines` does
    /// with `mov [coro1_context], rax`.
    ///
    /// # Safety
    ///
    /// The slot must not belong to a live [`Coroutine`](crate::Coroutine),
    /// and whoever switches to it later must find a stack there that suits
    /// them (the original's `switch_to_coro1` only loads the value into RSP
    /// and `call`s).
    pub unsafe fn set_saved_rsp(&self, rsp: u64) {
        self.rsp.store(rsp, Ordering::Relaxed);
    }

    /// The slot's address, as the switches take it.
    #[inline]
    pub fn as_ptr(&self) -> *mut u64 {
        self.rsp.as_ptr()
    }

    /// Saves the current side in `self` and continues the coroutine saved in
    /// `to`, handing it `value`: a resume. Returns the value handed back when
    /// the coroutine switches back to `self` (normally by
    /// [`return_to`](Self::return_to), whose `ret` pairs with the `call`
    /// here).
    ///
    /// # Safety
    ///
    /// `to` must hold an RSP saved by one of the switches (or prepared by
    /// [`Coroutine::new`](crate::Coroutine::new)) on a stack that is still
    /// alive and not running, and nothing else may switch to that RSP
    /// afterwards. Something must later switch back to `self`, or this call
    /// never returns (and the frames on the current stack are never dropped).
    #[inline(always)]
    pub unsafe fn call_into(&self, to: &Context, value: u64) -> u64 {
        // SAFETY: the caller's contract is the same.
        unsafe { call_into(self, to, value) }.value
    }

    /// Saves the current side (a coroutine) in `self` and continues the side
    /// that resumed it, saved in `to`, handing it `value`: a yield. Returns
    /// the value of the next resume.
    ///
    /// # Safety
    ///
    /// As for [`call_into`](Self::call_into).
    #[inline(always)]
    pub unsafe fn return_to(&self, to: &Context, value: u64) -> u64 {
        let mut value = value;
        // SAFETY: as in `call_into`. The block pushes one word (the continue
        // address) that the next resume's `switch_into` pops before it
        // jumps to label 2, so RSP is unchanged at the end; the same clobbers.
        unsafe {
            asm!(
                // Where to continue when we are resumed...
                "lea rcx, [rip + 2f]",
                // ...stored where a `call` would have put its return address.
                "push rcx",
                // The push moved RSP: for the one instruction below, the
                // CFA of the function we are inlined into is 8 bytes
                // further from RSP. The assembler emits
                // DW_CFA_def_cfa_offset (0x0e) with the compiler's offset
                // + 8. This assumes that function's CFA is RSP-based, as it
                // is without forced frame pointers (see "The suspend block"
                // in switch.rs).
                ".cfi_adjust_cfa_offset 8",
                // Enter without a `call`: the RSB's top must stay the
                // resumer's `call`, for `switch_back`'s `ret`.
                "jmp {switch_back}",
                // Undo the adjustment: when we continue at label 2 the
                // address is popped again.
                ".cfi_adjust_cfa_offset -8",
                // Never executed (the `jmp` above skips it). A debugger
                // looks up this frame's unwind row at the return address
                // minus one; without this byte that would be the `jmp`,
                // whose row counts the pushed address the switch has popped.
                "int3",
                // Resumed: `switch_into` popped the address above and jumped
                // here with the value in rax.
                "2:",
                switch_back = sym switch_back,
                in("rdi") self.as_ptr(),
                in("rsi") to.as_ptr(),
                inlateout("rax") value,
                lateout("r12") _, lateout("r13") _, lateout("r14") _, lateout("r15") _,
                clobber_abi("sysv64"),
            );
        }
        value
    }
}

impl Default for Context {
    fn default() -> Self {
        Self::new()
    }
}

/// [`Context::call_into`] (`from` is its `self`), returning also the slot
/// address that the side that switched back left in rdi. The resume's
/// `asm!` block: [`Coroutine::resume`](crate::Coroutine::resume) calls it
/// directly.
///
/// # Safety
///
/// As for [`Context::call_into`].
#[inline(always)]
pub(crate) unsafe fn call_into(from: &Context, to: &Context, value: u64) -> SwitchedBack {
    let mut value = value;
    let saved_in: *mut u64;
    // SAFETY: the caller guarantees `to` is resumable. The `call` pushes
    // the continue address where the switch expects it, and the switch
    // back pops it (`ret`), so RSP is unchanged at the end. rbp and rbx
    // come back from our frame; every other register is declared
    // clobbered, r12–r15 included (see "Which registers" in switch.rs).
    unsafe {
        asm!(
            // Push where to continue (right here) and enter the switch.
            // The RSB entry this pushes is popped by the `ret` of
            // `switch_back` that brings us back.
            "call {switch_into}",
            // Where we continue. While the coroutine runs, a debugger
            // reaches this frame through the trampoline, a signal frame,
            // and so looks up this address itself (not the address
            // before it) to name the function and line: a `nop` keeps
            // that inside this block, so `bt` says `call_into` and not
            // whatever code the compiler placed after it.
            "nop",
            switch_into = sym switch_into,
            // rdi comes back as the side that switched back left it (see
            // `SwitchedBack`).
            inlateout("rdi") from.as_ptr() => saved_in,
            in("rsi") to.as_ptr(),
            inlateout("rax") value,
            lateout("r12") _, lateout("r13") _, lateout("r14") _, lateout("r15") _,
            clobber_abi("sysv64"),
        );
    }
    SwitchedBack { value, saved_in }
}

/// What a switch back into [`call_into`] left in the registers.
pub(crate) struct SwitchedBack {
    /// rax: the value handed back.
    pub(crate) value: u64,
    /// rdi: the slot the side that switched back saved itself in: the
    /// coroutine's own on a yield; a slot on its stack that nothing switches
    /// to when its body returned; null from the tombstone (it had finished
    /// before). `resume` reads it only out of line.
    pub(crate) saved_in: *mut u64,
}
