//! Fault kernel: a page fault with no page-fault handler installed, which
//! the CPU turns into a double fault.
//!
//! `interrupts::load_double_fault_only_idt` leaves only the double-fault
//! handler (on its IST stack). coroutine1 then touches an unmapped address:
//! the page fault cannot be delivered (its IDT entry is not present), the
//! resulting segment-not-present fault during that delivery is a double
//! fault, and the double-fault handler reports it. Without that handler the
//! CPU would triple-fault and QEMU would reset silently (see
//! `test_triple_fault.rs`).
//!
//! Expected: "double fault: a fault occurred while the CPU was delivering
//! another one (...) while coroutine1 was running at switch #N."

#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn)]

use kernel::scenario;

use coroutine_switch::Yielder;

/// Unmapped, as in `fault_page_fault.rs`.
const DANGLING: u64 = 0x0000_7fff_dead_0000;

kernel::scenario_kernel! {
    name: "fault_double_fault",
    what: "a page fault with no page-fault handler",
    coroutines: (read_dangling, scenario::yield_three_times),
    before: {
        kernel::interrupts::load_double_fault_only_idt();
    },
}

fn read_dangling(yielder: &Yielder, first: u64) -> u64 {
    let received = scenario::step(yielder, first);
    let address = core::hint::black_box(DANGLING) as *const u64;
    // SAFETY: not safe at all: nothing is mapped there and the read faults,
    // which is what this kernel is for. It never completes.
    received + unsafe { address.read_volatile() }
}
