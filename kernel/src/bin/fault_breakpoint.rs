//! Fault kernel: coroutine1 executes `int3` with no debugger attached.
//!
//! Expected: "breakpoint (int3) hit at RIP 0x... while coroutine1 was
//! running at switch #N and no debugger is attached, so the kernel stops."

#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn)]

use kernel::scenario;

use coroutine_switch::Yielder;

kernel::scenario_kernel! {
    name: "fault_breakpoint",
    what: "coroutine1 executes int3",
    coroutines: (breakpoint, scenario::yield_three_times),
}

fn breakpoint(yielder: &Yielder, first: u64) -> u64 {
    let received = scenario::step(yielder, first);
    x86_64::instructions::interrupts::int3();
    received
}
