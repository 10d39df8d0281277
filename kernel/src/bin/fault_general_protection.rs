//! Fault kernel: coroutine2 writes to a non-canonical address.
//!
//! Bits 63..48 of an x86_64 address must copy bit 47; 0x8000_0000_0000_0000
//! breaks that rule, so the write raises a general protection fault (not a
//! page fault: the address cannot even be looked up).
//!
//! Expected: "general protection fault (error code 0x0) at RIP 0x... while
//! coroutine2 was running at switch #N."

#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn)]

use kernel::scenario;

use coroutine_switch::Yielder;

kernel::scenario_kernel! {
    name: "fault_general_protection",
    what: "coroutine2 writes to a non-canonical address",
    coroutines: (scenario::yield_three_times, write_non_canonical),
}

fn write_non_canonical(yielder: &Yielder, first: u64) -> u64 {
    let received = scenario::step(yielder, first);
    let address = core::hint::black_box(0x8000_0000_0000_0000_u64) as *mut u64;
    // SAFETY: not safe at all: the address is non-canonical and the write
    // faults, which is what this kernel is for. It never completes.
    unsafe { address.write_volatile(received) };
    received
}
