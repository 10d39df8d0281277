//! Fault kernel: coroutine1 writes through a dangling pointer to an
//! unmapped address that is not a guard page.
//!
//! Expected: "page fault at 0x7fffdead0000 outside every guard page (...)
//! while coroutine1 was running at switch #N."

#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn)]

use kernel::scenario;

use coroutine_switch::Yielder;

/// Canonical, in the lower half, never mapped by the bootloader (which
/// places its mappings in the lowest free level-4 entries and the kernel at
/// 0xffffffff80000000).
const DANGLING: u64 = 0x0000_7fff_dead_0000;

kernel::scenario_kernel! {
    name: "fault_page_fault",
    what: "coroutine1 writes through a dangling pointer",
    coroutines: (write_dangling, scenario::yield_three_times),
}

fn write_dangling(yielder: &Yielder, first: u64) -> u64 {
    let received = scenario::step(yielder, first);
    let address = core::hint::black_box(DANGLING) as *mut u64;
    // SAFETY: not safe at all: nothing is mapped there and the write faults,
    // which is what this kernel is for. It never completes.
    unsafe { address.write_volatile(received) };
    received
}
