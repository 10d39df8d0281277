//! The safe API: [`Coroutine`] (set up, resume, finished?) and [`Yielder`]
//! (suspend), on a [`Stack`] and two [`Context`] slots.
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
//!   address is `coroutine_tombstone` (both in `switch.rs`). A later resume
//!   pops it like any other side's frame and lands there;
//!   `coroutine_tombstone` moves RSP straight back to the resumer's frame
//!   (its slot is in rdi, just written by `switch_into`) and returns to it
//!   with rdi = 0. The word is still `FINISHED`, so `resume` goes out of
//!   line, where rdi = 0 (the switches leave rdi as they got it: the slot
//!   the leaving side saved itself in, never 0) means "finished before this
//!   resume": the panic "resumed a finished coroutine". No check before the
//!   switch, and none of the slot.
//!
//! Earlier designs also compared rdi with the own slot, or loaded the slot
//! around the switch: docs/measuring.md has what each cost.

use core::sync::atomic::Ordering;

use crate::context::{Context, SwitchedBack, call_into};
use crate::stack::{CANARY, FINISHED, PAINT, STACK_SIZE, Stack};
use crate::switch::FRAME_WORDS;
use crate::trampoline::{TRAMPOLINE_ENTRY, coroutine_trampoline};
use crate::yielder::{Body, Yielder};

/// The number of bytes [`Coroutine::new`] places on a fresh stack: the
/// [`Yielder`] (32) plus the frame the switches pop (24).
pub const INITIAL_FRAME_SIZE: usize = YIELDER_SLOT + FRAME_WORDS * 8;

/// Space reserved for the [`Yielder`] at the top of a coroutine stack; a
/// multiple of 16 so the trampoline's RSP stays 16-byte aligned.
const YIELDER_SLOT: usize = 32;

/// What a coroutine handed back to [`Coroutine::resume`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resumed {
    /// It called [`Yielder::suspend`] with this value and can be resumed.
    Yielded(u64),
    /// Its body returned this value; it is finished.
    Returned(u64),
}

/// A coroutine on a borrowed [`Stack`], with its own [`Context`] slot and the
/// slot of whoever resumes it (`main_context` in the original).
pub struct Coroutine<'a, const N: usize = STACK_SIZE> {
    stack: &'a Stack<N>,
    own: &'a Context,
    caller: &'a Context,
}

impl<'a, const N: usize> Coroutine<'a, N> {
    // Checked at compile time for every N a coroutine is set up on.
    const FITS: () = assert!(
        N >= INITIAL_FRAME_SIZE + 8,
        "a coroutine's stack must hold its first frame and the canary"
    );

    /// Prepares `stack` so that the first [`resume`](Self::resume) runs
    /// `body` on it: paints it, writes the canary, the [`Yielder`] and the
    /// frame the switches pop (see "A fresh stack" in trampoline.rs), and
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
        let () = Self::FITS;
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
        // after it only the canary's (see "One check per round trip" above).
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
