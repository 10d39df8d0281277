//! The coroutine's side: the [`Yielder`] at the top of its stack, with
//! which it suspends, and [`coroutine_main`], which the trampoline calls to
//! run its body and end it.

use core::sync::atomic::Ordering;

use crate::context::Context;
use crate::stack::{CANARY, FINISHED};
use crate::switch::TOMBSTONE;

/// The body of a coroutine: it receives its [`Yielder`] and the value of the
/// first [`Coroutine::resume`](crate::Coroutine::resume), and returns its final value.
pub type Body = fn(&Yielder, u64) -> u64;

/// What a running coroutine uses to give control back to its resumer. It
/// lives at the top of the coroutine's own stack, written there by
/// [`Coroutine::new`](crate::Coroutine::new).
#[repr(C)]
pub struct Yielder {
    /// The coroutine's own slot, where suspending saves its RSP.
    pub(crate) own: *const Context,
    /// The resumer's slot, saved by [`Coroutine::resume`](crate::Coroutine::resume).
    pub(crate) caller: *const Context,
    /// The function the trampoline runs.
    pub(crate) body: Body,
    /// The canary at the bottom of the stack, which `coroutine_main`
    /// replaces with [`FINISHED`] when the body returns.
    pub(crate) canary: *mut u64,
}

impl Yielder {
    /// Suspends the coroutine and hands `value` to the [`Coroutine::resume`](crate::Coroutine::resume)
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

/// Runs the body, marks the coroutine finished and switches back to its
/// resumer for the last time.
pub(crate) extern "sysv64" fn coroutine_main(yielder: &Yielder, first: u64) -> ! {
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
