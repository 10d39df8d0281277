//! # The stack switch of the bare-metal coroutines kernel
//!
//! Stackful coroutines for x86_64 (System V ABI), `no_std`, no allocation:
//! a [`Stack`] you provide, a [`Context`] slot per side, and two naked
//! functions that switch between them.
//!
//! ## Example
//!
//! A coroutine on a stack of its own, values handed both ways, run to its
//! end (this is `examples/ping_pong.rs`; `cargo run -p coroutine-switch
//! --example ping_pong` prints what happens):
//!
//! ```
#![doc = include_str!("../examples/ping_pong.rs")]
//! ```
//!
//! ## Where it comes from
//!
//! The NASM program this project starts from keeps one saved stack pointer per
//! routine (`main_context`, `coro1_context`, `coro2_context`) and a 4096-byte
//! `.bss` stack per coroutine. It moves RSP onto a coroutine's stack, *calls*
//! the coroutine and moves RSP back: the coroutine can only run to its end.
//!
//! This crate keeps exactly those pieces — a [`Stack`] and a [`Context`] slot
//! holding one saved RSP — and adds what a real coroutine needs: a way to
//! leave in the middle ([`Yielder::suspend`]) and to come back later
//! ([`Coroutine::resume`]). Both are one naked function each, the same
//! save/swap/restore with a different way in and out:
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
//! ```
//!
//! A suspended side is nothing but its stack: the registers it needs back and
//! the address to continue at are on it, and its [`Context`] holds the RSP
//! that points at them. The value handed across travels in rax, as
//! `coroutine1_func`'s result did in the original.
//!
//! ## Which registers, and why only rbp and rbx
//!
//! The System V ABI makes rbx, rbp and r12–r15 callee-saved: whoever switches
//! away must get them back. The switches are entered only from the `asm!`
//! blocks of [`Context::call_into`] and [`Context::return_to`], and those
//! declare r12–r15 clobbered, so the compiler itself keeps anything live in
//! them safe, once per function and only if something is live there (the
//! benchmark loop has nothing). rbp and rbx cannot be declared clobbered (LLVM
//! reserves them), so the switches push and pop them. Everything else (rax,
//! rcx, rdx, rsi, rdi, r8–r11, flags) is caller-saved and declared clobbered
//! too. corosensei makes the same choice; pushing r12–r15 in the switch as
//! well costs about a third of a round trip (`BENCHMARKS.md`, `v6_pair`).
//!
//! The price: the naked functions are not plain `extern "sysv64"` functions.
//! A caller that does not declare r12–r15 clobbered gets the other side's
//! values in them. Their `# Safety` sections say so, and only the two `asm!`
//! blocks here call them.
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
//! ## A fresh stack
//!
//! [`Coroutine::new`] paints the stack (to measure its high-water mark later),
//! writes a canary at the bottom and builds the frame the switches expect to
//! find, so the first switch into it continues at the trampoline's entry
//! (`coroutine_trampoline` + 1, see "Backtraces across the switch"):
//!
//! ```text
//!   top = stack base + N (16-byte aligned)
//!   +-------------------------------+ top
//!   | Yielder { own, caller, body } |   32 bytes; the trampoline passes its
//!   |                               |   address to the body as `&Yielder`
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
//! points the coroutine's slot at the tombstone (below) and switches back
//! for the last time; nothing ever switches onto its stack again, so the
//! body never runs off the top of it. The trampoline's `ud2` after the call
//! is the guard: if that promise were ever broken, the CPU traps instead of
//! executing whatever follows.
//!
//! ## One check per round trip: the canary
//!
//! After every switch back `resume` must catch an overflow that skipped the
//! guard page, tell a yield from a return, and panic if the coroutine had
//! finished before this resume. One load and one compare do all three, and
//! only when the compare fails does `resume` go out of line (`#[cold]`):
//!
//! - **The canary** is the stack's bottom word, [`CANARY`]: a sign-extended
//!   32-bit immediate, so the compare needs no `movabs`. Intact, it means
//!   the coroutine yielded.
//! - **A return**: when the body returns, `coroutine_main` replaces an
//!   intact canary with [`FINISHED`] (an overwritten one it leaves as it
//!   is) before its final switch back. Out of line, `FINISHED` means
//!   "returned"; any other word, an overflow.
//! - **A finished coroutine**: `coroutine_main` also points the slot at
//!   `TOMBSTONE`, a static three-word frame (rbx = rbp = 0) whose continue
//!   address is `coroutine_tombstone`. A later resume pops it like any
//!   other side's frame and lands there; `coroutine_tombstone` moves RSP
//!   straight back to the resumer's frame (its slot is in rdi, just written
//!   by `switch_into`) and returns to it with rdi = 0. The word is still
//!   `FINISHED`, so `resume` goes out of line, where rdi = 0 (the switches
//!   leave rdi as they got it: the slot the leaving side saved itself in,
//!   never 0) means "finished before this resume": the panic "resumed a
//!   finished coroutine". No check before the switch, and none of the slot.
//!
//! Earlier designs also compared rdi with the own slot, or loaded the slot
//! around the switch: `BENCHMARKS.md` ("The safe API without its loads",
//! "Issue 17, second pass") has what each cost.
//!
//! From the tombstone's `pop`s to its `mov rsp`, RSP points into read-only
//! memory (four instructions). Nothing is pushed there, but a signal handler
//! (host) or an interrupt (kernel) taken on that stack in that window would
//! fault instead of reaching the panic. The kernel runs with interrupts off;
//! a host program only meets the window when it resumes a finished
//! coroutine, which is already a bug.
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
//! without unwind tables); gdb reads both.
//!
//! **The switches.** Both push the same three-word frame on the leaving side
//! and pop it on the other, so one set of rows serves both:
//!
//! ```text
//!   stopped at            CFA        rbx at    rbp at    return address
//!   push rbp (entry)      rsp + 8    -         -         [CFA - 8]
//!   push rbx              rsp + 16   -         CFA - 16  [CFA - 8]
//!   mov [rdi], rsp        rsp + 24   CFA - 24  CFA - 16  [CFA - 8]
//!   mov rsp, [rsi]        rsp + 24   CFA - 24  CFA - 16  [CFA - 8]
//!   pop rbx               rsp + 24   CFA - 24  CFA - 16  [CFA - 8]
//!   pop rbp               rsp + 16   -         CFA - 16  [CFA - 8]
//!   pop rcx (switch_into) rsp + 8    -         -         [CFA - 8]
//!   jmp rcx (switch_into) rsp + 0    -         -         rcx
//!   ret     (switch_back) rsp + 8    -         -         [CFA - 8]
//! ```
//!
//! ("-": the register holds the caller's value.) The row does not change
//! at `mov rsp, [rsi]`: before it, RSP points at the
//! leaving side's frame; after it, at the arriving side's, which has the same
//! layout. So until the `mov` a backtrace lists the side that leaves, and from
//! then on the side the switch is about to continue, as if the switch were
//! already returning into it. From then on the registers that side declared
//! clobbered are also marked undefined: they hold the other side's values,
//! and gdb shows `<optimized out>` rather than pass those off as its own.
//!
//! **The trampoline links the two stacks.** It is the outermost frame of
//! every coroutine; its "caller" is the resumer, suspended in the `caller`
//! slot of the [`Yielder`] that RSP points at:
//!
//! ```text
//!   coroutine stack                          resumer's stack
//!   +-------------------------+ top          |  ...its frames     |
//!   | (padding)               |              +--------------------+ <- CFA
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
//!
//! ## What is not saved
//!
//! The x87 control word and MXCSR are callee-saved too. The kernel is built
//! soft-float and never touches them, and a coroutine that changes them on the
//! host changes them for everyone, as with corosensei. Saving them costs two
//! stores and two loads per switch for a case this project never has.

#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]

#[cfg(not(target_arch = "x86_64"))]
compile_error!("coroutine-switch switches x86_64 stacks only");

use core::arch::{asm, naked_asm};
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU64, Ordering};

/// The size of each coroutine stack in the original program (`resb 4096`).
pub const STACK_SIZE: usize = 4096;

/// The byte pattern painted over a fresh stack; [`Stack::high_water_mark`]
/// counts how far from the top it was overwritten.
pub const PAINT: u8 = 0xCD;

/// The word written at the lowest address of a stack. If it changes, the
/// coroutine wrote below the end of its stack: an overflow.
///
/// `0xDEADC0DE` sign-extended to 64 bits: it fits the 32-bit immediate of
/// `cmp`, so [`Coroutine::resume`] compares the canary with it directly
/// instead of first loading it into a register with a 10-byte `movabs`
/// (`BENCHMARKS.md`, issue 17).
pub const CANARY: u64 = 0xFFFF_FFFF_DEAD_C0DE;
const _: () = assert!(
    CANARY == CANARY as i32 as i64 as u64,
    "CANARY must fit a sign-extended imm32"
);

/// The word that replaces an intact [`CANARY`] when the coroutine's body
/// returns: the one compare [`Coroutine::resume`] makes after a switch back
/// then fails for a finished coroutine too, so it need not also check
/// whether the coroutine yielded. An overwritten canary is left as it is.
pub const FINISHED: u64 = 0xFFFF_FFFF_F1E1_5EED;

/// The words of a saved side's frame: rbx, rbp, and the continue address.
pub const FRAME_WORDS: usize = 3;

/// The number of bytes [`Coroutine::new`] places on a fresh stack: the
/// [`Yielder`] (32) plus the frame the switches pop (24).
pub const INITIAL_FRAME_SIZE: usize = YIELDER_SLOT + FRAME_WORDS * 8;

/// Where the trampoline's code starts, in bytes from its symbol: after the
/// `int3` that keeps gdb's lookups inside its unwind information (see
/// "Backtraces across the switch" in the crate docs). Public for debuggers,
/// which recognise a fresh stack by this continue address.
pub const TRAMPOLINE_ENTRY: u64 = 1;

/// Space reserved for the [`Yielder`] at the top of a coroutine stack; a
/// multiple of 16 so the trampoline's RSP stays 16-byte aligned.
const YIELDER_SLOT: usize = 32;

/// A coroutine stack: `N` bytes, 16-byte aligned, zero-initialised so that a
/// `static` of this type lands in `.bss` like the original's `resb 4096`.
#[repr(C, align(16))]
pub struct Stack<const N: usize = STACK_SIZE> {
    bytes: UnsafeCell<[u8; N]>,
}

// SAFETY: the bytes are only written through raw pointers by
// `Coroutine::new` (whose contract gives it exclusive use of the stack) and by
// the coroutine running on it; `Stack`'s own methods only read. Sharing the
// address between threads is what a `static` stack needs.
unsafe impl<const N: usize> Sync for Stack<N> {}

impl<const N: usize> Stack<N> {
    // Checked at compile time for every N that is used.
    const VALID: () = assert!(
        N % 16 == 0 && N >= INITIAL_FRAME_SIZE + 8,
        "a stack must be a multiple of 16 bytes and hold the initial frame and the canary"
    );

    /// A zeroed stack (all of it in `.bss` when used as a `static`).
    pub const fn new() -> Self {
        let () = Self::VALID;
        Self {
            bytes: UnsafeCell::new([0; N]),
        }
    }

    /// The lowest address of the stack; the canary lives here.
    #[inline]
    pub fn bottom(&self) -> u64 {
        self.bytes.get() as u64
    }

    /// One past the highest address: where RSP starts, as in the original's
    /// `coroutine1_stack + 4096`.
    #[inline]
    pub fn top(&self) -> u64 {
        self.bottom() + N as u64
    }

    /// Whether `rsp` points into this stack. RSP equal to [`top`](Self::top)
    /// counts as inside: it is an empty stack, not a neighbouring one.
    #[inline]
    pub fn contains(&self, rsp: u64) -> bool {
        (self.bottom()..=self.top()).contains(&rsp)
    }

    /// Whether the canary at the bottom is intact ([`FINISHED`] counts: it
    /// replaced an intact canary when the body returned).
    #[inline]
    pub fn canary_intact(&self) -> bool {
        matches!(self.bottom_word(), CANARY | FINISHED)
    }

    /// The word at the bottom: [`CANARY`], [`FINISHED`] once the body has
    /// returned, or what an overflow wrote there.
    #[inline]
    fn bottom_word(&self) -> u64 {
        // SAFETY: the bottom is 16-byte aligned and inside the stack; a
        // volatile read because the coroutine wrote it behind the compiler's
        // back.
        unsafe { (self.bottom() as *const u64).read_volatile() }
    }

    /// How many bytes below the top were ever written since
    /// [`Coroutine::new`] painted the stack: the deepest the coroutine got.
    ///
    /// A byte that happens to be written with [`PAINT`] is not seen; the
    /// figure can only be low by the length of such a run at the very edge.
    pub fn high_water_mark(&self) -> usize {
        let base = self.bottom() as *const u8;
        // The canary is not paint, so start just above it.
        let untouched = (8..N)
            // SAFETY: `i < N`, so every address read is inside the stack.
            .take_while(|&i| unsafe { base.add(i).read_volatile() } == PAINT)
            .count();
        N - 8 - untouched
    }
}

impl<const N: usize> Default for Stack<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// A context slot: the saved RSP of a routine that is not running, like the
/// original's `main_context`, `coro1_context` and `coro2_context`.
///
/// 0 means "never set up". A finished coroutine's slot holds the address of
/// the tombstone frame (see "One check per round trip" in the crate docs),
/// which [`saved_rsp`](Self::saved_rsp) also reports as 0: nothing to
/// resume. It is an atomic only so that it can be a plain `static` and be
/// read safely; the switch itself writes it with a plain `mov`.
#[repr(transparent)]
pub struct Context {
    rsp: AtomicU64,
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
    fn holds_tombstone(&self) -> bool {
        self.rsp.load(Ordering::Relaxed) == &raw const TOMBSTONE as u64
    }

    /// Stores `rsp` in the slot, as the original's `init_coroutines` does
    /// with `mov [coro1_context], rax`.
    ///
    /// # Safety
    ///
    /// The slot must not belong to a live [`Coroutine`], and whoever switches
    /// to it later must find a stack there that suits them (the original's
    /// `switch_to_coro1` only loads the value into RSP and `call`s).
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
    /// [`Coroutine::new`]) on a stack that is still alive and not running,
    /// and nothing else may switch to that RSP afterwards. Something must
    /// later switch back to `self`, or this call never returns (and the
    /// frames on the current stack are never dropped).
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
                // is without forced frame pointers (see "Backtraces across
                // the switch" in the crate docs).
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

/// The CFI rows that mark every register the switches' callers declare
/// clobbered (their `asm!` blocks' clobber lists) as undefined, for the
/// instructions after `mov rsp, [rsi]`: those registers now hold the
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
            ".cfi_undefined r15",
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
/// twice. Not a plain System V function: the caller must treat every
/// register but rbx, rbp and RSP as clobbered, r12–r15 included.
#[unsafe(naked)]
// An unmangled symbol: gdb shows it without the crate hash of a v0 name
// (naked functions have no debug info to name them), and `break NAME` works.
#[unsafe(no_mangle)]
pub unsafe extern "sysv64" fn switch_into(from: *mut u64, to: *const u64) -> u64 {
    naked_asm!(
        // Emits no padding: rustc gives each function a section of its own
        // and this is its offset 0, already aligned. It raises the
        // section's alignment to 64 bytes, so the linker starts the switch
        // on a cache line of its own, wherever it places it (`BENCHMARKS.md`,
        // "Issue 17, second pass"). `tests/switch.rs` checks both.
        ".p2align 6",
        // The unwind rows of every instruction: see "Backtraces across the
        // switch" in the crate docs. The CIE's initial row is the one of any
        // function entered by `call`: CFA = rsp + 8, return address at
        // CFA - 8.
        ".cfi_startproc",
        // Save this side's rbp and rbx on its own stack, below the continue
        // address our caller's `call` pushed.
        "push rbp",
        // DW_CFA_def_cfa_offset 16 (0x0e 0x10): the CFA is now rsp + 16.
        ".cfi_def_cfa_offset 16",
        // DW_CFA_offset rbp, 2 (0x86 0x02): rbp saved at CFA + 2 × (−8).
        ".cfi_offset rbp, -16",
        "push rbx",
        // DW_CFA_def_cfa_offset 24 (0x0e 0x18).
        ".cfi_def_cfa_offset 24",
        // DW_CFA_offset rbx, 3 (0x83 0x03): rbx saved at CFA − 24.
        ".cfi_offset rbx, -24",
        // This side is now fully described by RSP: save it in its slot.
        "mov [rdi], rsp",
        // The other side's stack. From here on we run on it.
        //
        // No new row: the other side's frame is the same three words at
        // RSP (rbx, rbp, where to continue), so "CFA = rsp + 24, rbx at
        // CFA − 24, rbp at CFA − 16, return address at CFA − 8" now
        // describes the side we are about to continue, and a backtrace
        // from here on lists its frames.
        "mov rsp, [rsi]",
        // What the continued side declared clobbered now holds this side's
        // values: marked undefined (see `clobbers_undefined!`).
        clobbers_undefined!(),
        // Restore its registers, in the reverse order of its pushes.
        "pop rbx",
        // DW_CFA_def_cfa_offset 16 (0x0e 0x10).
        ".cfi_def_cfa_offset 16",
        // DW_CFA_restore rbx (0xc3): back to the CIE's rule, "unchanged":
        // the register now holds the value of the frame we continue.
        ".cfi_restore rbx",
        "pop rbp",
        // DW_CFA_def_cfa_offset 8 (0x0e 0x08).
        ".cfi_def_cfa_offset 8",
        // DW_CFA_restore rbp (0xc6).
        ".cfi_restore rbp",
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
/// Register state on entry and exit as for [`switch_into`].
///
/// # Safety
///
/// As for [`switch_into`].
#[unsafe(naked)]
// An unmangled symbol: gdb shows it without the crate hash of a v0 name
// (naked functions have no debug info to name them), and `break NAME` works.
#[unsafe(no_mangle)]
pub unsafe extern "sysv64" fn switch_back(from: *mut u64, to: *const u64) -> u64 {
    naked_asm!(
        // Emits no padding: rustc gives each function a section of its own
        // and this is its offset 0, already aligned. It raises the
        // section's alignment to 64 bytes, so the linker starts the switch
        // on a cache line of its own, wherever it places it (`BENCHMARKS.md`,
        // "Issue 17, second pass"). `tests/switch.rs` checks both.
        ".p2align 6",
        // The same rows as in `switch_into`, up to the exit. On entry the
        // continue address that `return_to` pushed is at [rsp], exactly
        // where a `call` would have put it, so the CIE's initial row (CFA =
        // rsp + 8, return address at CFA − 8) holds.
        ".cfi_startproc",
        // Save this side's rbp and rbx below the continue address that
        // `return_to` pushed.
        "push rbp",
        // DW_CFA_def_cfa_offset 16 (0x0e 0x10).
        ".cfi_def_cfa_offset 16",
        // DW_CFA_offset rbp, 2 (0x86 0x02): rbp at CFA − 16.
        ".cfi_offset rbp, -16",
        "push rbx",
        // DW_CFA_def_cfa_offset 24 (0x0e 0x18).
        ".cfi_def_cfa_offset 24",
        // DW_CFA_offset rbx, 3 (0x83 0x03): rbx at CFA − 24.
        ".cfi_offset rbx, -24",
        // This side is now fully described by RSP: save it in its slot.
        "mov [rdi], rsp",
        // The resumer's stack. From here on we run on it. As in
        // `switch_into`, the row stays: the resumer's frame is the same
        // three words at RSP, so from here on a backtrace lists the
        // resumer's frames.
        "mov rsp, [rsi]",
        // What the continued side declared clobbered now holds this side's
        // values: marked undefined (see `clobbers_undefined!`).
        clobbers_undefined!(),
        // Restore its registers, in the reverse order of its pushes.
        "pop rbx",
        // DW_CFA_def_cfa_offset 16 (0x0e 0x10).
        ".cfi_def_cfa_offset 16",
        // DW_CFA_restore rbx (0xc3).
        ".cfi_restore rbx",
        "pop rbp",
        // DW_CFA_def_cfa_offset 8 (0x0e 0x08): the CIE's row again.
        ".cfi_def_cfa_offset 8",
        // DW_CFA_restore rbp (0xc6).
        ".cfi_restore rbp",
        // Pops the continue address the resumer's `call` pushed, which the
        // RSB predicts.
        "ret",
        ".cfi_endproc",
    )
}

/// [`Context::call_into`] (`from` is its `self`), returning also the slot
/// address that the side that switched back left in rdi. The resume's
/// `asm!` block: [`Coroutine::resume`] calls it directly.
///
/// # Safety
///
/// As for [`Context::call_into`].
#[inline(always)]
unsafe fn call_into(from: &Context, to: &Context, value: u64) -> SwitchedBack {
    let mut value = value;
    let saved_in: *mut u64;
    // SAFETY: the caller guarantees `to` is resumable. The `call` pushes
    // the continue address where the switch expects it, and the switch
    // back pops it (`ret`), so RSP is unchanged at the end. rbp and rbx
    // come back from our frame; every other register is declared
    // clobbered, r12–r15 included (see the crate docs).
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
struct SwitchedBack {
    /// rax: the value handed back.
    value: u64,
    /// rdi: the slot the side that switched back saved itself in: the
    /// coroutine's own on a yield; a slot on its stack that nothing switches
    /// to when its body returned; null from [`coroutine_tombstone`] (it had
    /// finished before). `resume` reads it only out of line.
    saved_in: *mut u64,
}

/// A three-word frame as the switches save and restore it, lowest address
/// first.
#[repr(C)]
struct Frame {
    rbx: u64,
    rbp: u64,
    continue_at: unsafe extern "sysv64" fn() -> !,
}

/// The frame a finished coroutine's slot points at: a resume of it pops
/// two zeros and continues at [`coroutine_tombstone`], which goes straight
/// back to the resumer. Read-only: nothing ever pushes onto it.
// An unmangled symbol, so that gdb's `coro-list` recognises it.
#[unsafe(export_name = "coroutine_tombstone_frame")]
static TOMBSTONE: Frame = Frame {
    rbx: 0,
    rbp: 0,
    continue_at: coroutine_tombstone,
};

/// What a coroutine handed back to [`Coroutine::resume`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resumed {
    /// It called [`Yielder::suspend`] with this value and can be resumed.
    Yielded(u64),
    /// Its body returned this value; it is finished.
    Returned(u64),
}

/// The body of a coroutine: it receives its [`Yielder`] and the value of the
/// first [`Coroutine::resume`], and returns its final value.
pub type Body = fn(&Yielder, u64) -> u64;

/// What a running coroutine uses to give control back to its resumer. It
/// lives at the top of the coroutine's own stack, written there by
/// [`Coroutine::new`].
#[repr(C)]
pub struct Yielder {
    /// The coroutine's own slot, where suspending saves its RSP.
    own: *const Context,
    /// The resumer's slot, saved by [`Coroutine::resume`].
    caller: *const Context,
    /// The function the trampoline runs.
    body: Body,
    /// The canary at the bottom of the stack, which `coroutine_main`
    /// replaces with [`FINISHED`] when the body returns.
    canary: *mut u64,
}

impl Yielder {
    /// Suspends the coroutine and hands `value` to the [`Coroutine::resume`]
    /// that started this run. Returns the value passed to the next `resume`.
    #[inline(always)]
    pub fn suspend(&self, value: u64) -> u64 {
        // SAFETY: a `Yielder` only exists on a coroutine stack that
        // `Coroutine::new` set up, and only the running coroutine can reach
        // it. Its resumer stored its RSP in `caller` when it resumed us and is
        // suspended until we switch back; `own` outlives the coroutine (the
        // `Coroutine` borrows it).
        unsafe { (*self.own).return_to(&*self.caller, value) }
    }

    /// The coroutine's own context slot.
    #[inline]
    pub fn context(&self) -> &Context {
        // SAFETY: see `suspend`: `own` outlives the coroutine.
        unsafe { &*self.own }
    }
}

/// A coroutine on a borrowed [`Stack`], with its own [`Context`] slot and the
/// slot of whoever resumes it (`main_context` in the original).
pub struct Coroutine<'a, const N: usize = STACK_SIZE> {
    stack: &'a Stack<N>,
    own: &'a Context,
    caller: &'a Context,
}

impl<'a, const N: usize> Coroutine<'a, N> {
    /// Prepares `stack` so that the first [`resume`](Self::resume) runs
    /// `body` on it: paints it, writes the canary, the [`Yielder`] and the
    /// frame the switches pop (see the crate docs for the layout), and
    /// stores the resulting RSP in `own`.
    ///
    /// # Safety
    ///
    /// For as long as the returned coroutine is used, `stack` and `own` must
    /// belong to it alone (no other coroutine set up on them, no other code
    /// writing them), and `caller` must not be the slot of a coroutine that
    /// is running when this one is resumed (in the original, main resumes
    /// both coroutines through the one `main_context`: that is fine, because
    /// neither coroutine resumes the other).
    pub unsafe fn new(
        stack: &'a Stack<N>,
        own: &'a Context,
        caller: &'a Context,
        body: Body,
    ) -> Self {
        let base = stack.bottom() as *mut u8;
        let top = stack.top();
        let yielder = Yielder {
            own,
            caller,
            body,
            canary: base as *mut u64,
        };
        // The frame a switch pops, lowest address first (rbx is popped
        // first, the continue address last).
        let frame: [u64; FRAME_WORDS] = [
            // rbx.
            0,
            // rbp: ends the frame chain.
            0,
            // The continue address: the trampoline's entry.
            coroutine_trampoline as *const () as u64 + TRAMPOLINE_ENTRY,
        ];
        let yielder_at = top - YIELDER_SLOT as u64;
        let frame_at = yielder_at - size_of_val(&frame) as u64;
        // SAFETY: the caller gives us exclusive use of the stack. All writes
        // are inside its N bytes (N >= INITIAL_FRAME_SIZE + 8 is checked at
        // compile time) and aligned: the base is 16-byte aligned and every
        // offset is a multiple of 8.
        unsafe {
            base.write_bytes(PAINT, N);
            (base as *mut u64).write_volatile(CANARY);
            (yielder_at as *mut Yielder).write(yielder);
            (frame_at as *mut [u64; FRAME_WORDS]).write(frame);
        }
        own.rsp.store(frame_at, Ordering::Relaxed);
        Self { stack, own, caller }
    }

    /// Switches into the coroutine, handing it `value` (the first resume
    /// passes it to the body, later ones return it from
    /// [`Yielder::suspend`]), and returns what it handed back.
    ///
    /// # Panics
    ///
    /// If the coroutine has finished, and if its canary was overwritten while
    /// it ran (it overflowed its stack).
    #[inline(always)]
    pub fn resume(&self, value: u64) -> Resumed {
        // No "finished?" check before the switch: a finished coroutine's
        // slot holds the tombstone, whose code comes straight back here. And
        // after it only the canary's (see "One check per round trip" in the
        // crate docs).
        //
        // SAFETY: `own` holds an RSP prepared by `new`, saved by the
        // coroutine's last `suspend`, or the tombstone's; on a stack that
        // `new`'s contract keeps to this coroutine, not running (we are). The
        // coroutine always switches back to `caller`: on `suspend`, at the
        // end from `coroutine_main`, and from the tombstone.
        let back = unsafe { call_into(self.caller, self.own, value) };
        // The one check on the hot path: a load and a compare with an
        // immediate. The canary is intact only after a yield: a return
        // replaced it with `FINISHED` (and it stays so for the tombstone's
        // resumes), an overflow with whatever it wrote.
        if self.stack.bottom_word() != CANARY {
            return self.did_not_yield(back);
        }
        Resumed::Yielded(back.value)
    }

    /// The rest of [`resume`](Self::resume) when the canary was not intact:
    /// the body returned (`FINISHED`), the coroutine had finished before and
    /// the tombstone sent us back (`FINISHED`, rdi = 0), or it overflowed
    /// its stack (anything else).
    #[cold]
    #[inline(never)]
    fn did_not_yield(&self, back: SwitchedBack) -> Resumed {
        if self.stack.bottom_word() != FINISHED {
            overflowed(self.stack.bottom());
        }
        if back.saved_in.is_null() {
            resumed_finished(self.stack.bottom());
        }
        Resumed::Returned(back.value)
    }

    /// Whether the body has returned (its slot holds the tombstone).
    // Inlined: it is one load and a compare.
    #[inline]
    pub fn is_finished(&self) -> bool {
        self.own.holds_tombstone()
    }

    /// The stack the coroutine runs on.
    pub fn stack(&self) -> &'a Stack<N> {
        self.stack
    }
}

/// The panic of [`Coroutine::resume`] on a finished coroutine.
#[cold]
#[inline(never)]
fn resumed_finished(stack_bottom: u64) -> ! {
    panic!("resumed a finished coroutine (stack at {stack_bottom:#x})")
}

/// The panic of [`Coroutine::resume`] when the canary was overwritten.
#[cold]
#[inline(never)]
fn overflowed(stack_bottom: u64) -> ! {
    panic!(
        "the coroutine on the stack at {stack_bottom:#x} overflowed it: its canary was overwritten"
    )
}

/// The first code a coroutine runs: [`switch_into`] jumps here on the first
/// resume.
///
/// On entry: RSP = top − 32, pointing at the [`Yielder`]; rax = the value of
/// the first resume; rbx = rbp = 0 (popped from the fresh frame).
#[unsafe(naked)]
// An unmangled symbol: gdb shows it without the crate hash of a v0 name
// (naked functions have no debug info to name them), and `break NAME` works.
#[unsafe(no_mangle)]
unsafe extern "sysv64" fn coroutine_trampoline() -> ! {
    naked_asm!(
        // The start of the function, for the FDE below.
        "0:",
        // Never executed: the entry is the next byte (`TRAMPOLINE_ENTRY`).
        // See "Backtraces across the switch" in the crate docs: gdb looks
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
        // the crate docs for the frame it describes, and for why the
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

/// Runs the body, marks the coroutine finished and switches back to its
/// resumer for the last time.
extern "sysv64" fn coroutine_main(yielder: &Yielder, first: u64) -> ! {
    let result = (yielder.body)(yielder, first);
    // What tells `resume` that we returned, in the word it checks anyway.
    // An overwritten canary stays as it is, so that the overflow is what
    // `resume` reports.
    //
    // SAFETY: `canary` is the bottom word of the stack we run on, inside it
    // and aligned; volatile, as every access to it.
    unsafe {
        if yielder.canary.read_volatile() == CANARY {
            yielder.canary.write_volatile(FINISHED);
        }
    }
    // From now on a resume continues at the tombstone, not on this stack.
    yielder
        .context()
        .rsp
        .store(&raw const TOMBSTONE as u64, Ordering::Relaxed);
    // The switch saves our final RSP somewhere: in a slot that nobody ever
    // loads.
    let discarded = Context::new();
    // SAFETY: as in `Yielder::suspend`: the resumer is suspended in
    // `caller`. Nothing can switch to `discarded`, so this never returns.
    // The body has returned, so the RSB's top is again the resumer's `call`.
    unsafe { discarded.return_to(&*yielder.caller, result) };
    unreachable!("a coroutine's final switch was continued")
}

/// Where a resume of a finished coroutine continues: the tombstone frame's
/// continue address. It returns to the resumer at once, as if the coroutine
/// had returned, but with rdi = 0, which [`Coroutine::resume`] turns into
/// its "resumed a finished coroutine" panic, on the resumer's stack.
///
/// On entry (from `switch_into`'s `jmp rcx`): RSP = the end of
/// [`TOMBSTONE`], in read-only memory; rdi = the resumer's slot, where
/// `switch_into` just saved its RSP; rbx = rbp = 0.
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
        "pop rbx",
        // DW_CFA_def_cfa_offset 16 (0x0e 0x10); DW_CFA_restore rbx (0xc3).
        ".cfi_def_cfa_offset 16",
        ".cfi_restore rbx",
        "pop rbp",
        // DW_CFA_def_cfa_offset 8 (0x0e 0x08); DW_CFA_restore rbp (0xc6).
        ".cfi_def_cfa_offset 8",
        ".cfi_restore rbp",
        // ...rdi = 0: "saved nowhere, finished before this resume"...
        "xor edi, edi",
        // ...and to just after the resumer's `call`, which the RSB predicts.
        "ret",
        ".cfi_endproc",
    )
}

/// The code blocks of `README.md`, run as doc tests so that its example
/// stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
