//! How every kernel here ends: the exit code written to QEMU's isa-debug-exit
//! device, after the last event line.

use crate::{events, roster};
use protocol::event::Event;
use protocol::{ExitCode, QEMU_EXIT_PORT};
use x86_64::instructions::port::Port;

/// Asks QEMU to exit with `code`, then halts forever in case no exit device is
/// present (for example on real hardware).
///
/// The exit device, its port and the codes are defined once, in the
/// `protocol` crate that the host tool reads them from too. The last event
/// line says how the run ended.
pub fn exit_qemu(code: ExitCode) -> ! {
    events::emit_from_handler(&Event::Exit {
        code,
        switches: roster::switches(),
        tsc: events::tsc(),
    });
    let mut port = Port::<u32>::new(QEMU_EXIT_PORT);
    // SAFETY: QEMU_EXIT_PORT is the isa-debug-exit device that boot/ always
    // attaches; writing to it has no effect on memory. Without the device the
    // write is ignored and we fall through to the halt loop.
    unsafe { port.write(code.value()) };
    hlt_loop()
}

/// Halts the CPU until the next interrupt, forever.
pub fn hlt_loop() -> ! {
    loop {
        x86_64::instructions::hlt();
    }
}
