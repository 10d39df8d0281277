//! Fault kernel: coroutine2 makes a stray write to the lowest word of its
//! own stack, then yields.
//!
//! The write stays inside the mapped stack, so the guard page below cannot
//! see it: this is the overflow that skips the guard page (the deepest
//! frame reaching exactly the bottom, or a buffer indexed below its start).
//! The canary that the switch crate keeps there catches it on the switch
//! back, and `Coroutine::resume` panics.
//!
//! Expected: "coroutine2 panicked at switch #N: the coroutine on the stack
//! at 0x... overflowed it: its canary was overwritten" and the run fails.

#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn)]

use kernel::scenario;

use coroutine_switch::Yielder;

kernel::scenario_kernel! {
    name: "fault_canary",
    what: "coroutine2 overwrites the bottom of its stack",
    coroutines: (scenario::yield_three_times, clobber_bottom),
}

fn clobber_bottom(yielder: &Yielder, first: u64) -> u64 {
    let received = scenario::step(yielder, first);
    let bottom = COROUTINE2_STACK.bottom() as *mut u64;
    // SAFETY: the lowest word of our own, mapped stack; nothing lives there
    // but the canary, which is the point of this kernel.
    unsafe { bottom.write_volatile(0) };
    scenario::step(yielder, received)
}
