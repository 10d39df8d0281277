//! Fault kernel: coroutine1 never yields again and spins forever.
//!
//! Nothing inside the kernel can notice (no timer interrupt is enabled), so
//! the host tool's `--timeout` is what catches it: it kills QEMU, says it
//! timed out, shows the last serial lines (this kernel's last words name
//! the stuck coroutine) and fails the run.

#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn)]

use kernel::scenario;

use coroutine_switch::Yielder;
use kernel::serial_println;

kernel::scenario_kernel! {
    name: "fault_hang",
    what: "coroutine1 spins without yielding",
    coroutines: (spin_forever, scenario::yield_three_times),
}

fn spin_forever(yielder: &Yielder, first: u64) -> u64 {
    let received = scenario::step(yielder, first);
    serial_println!("fault_hang: coroutine1 enters a loop that never yields");
    loop {
        core::hint::black_box(received);
        core::hint::spin_loop();
    }
}
