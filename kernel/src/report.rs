//! What a panic or a CPU fault tells the user: one sentence on COM1 naming
//! the routine that ran and the switch, the same as a `fault` event line on
//! COM2, then a failing exit.

use crate::exit::exit_qemu;
use crate::{events, roster, serial, stacks};
use core::fmt;
use core::panic::PanicInfo;
use protocol::ExitCode;
use protocol::event::Event;

/// Prints the panic message and its location over serial, then exits QEMU
/// with [`ExitCode::Failed`].
///
/// Each kernel binary calls this from its `#[panic_handler]`; `main.rs` first
/// adds which coroutine was running.
pub fn report_panic(info: &PanicInfo) -> ! {
    // The fault event line first (for --trace/--svg), then the two lines
    // people read.
    let sentence = panic_sentence(format_args!("PANIC"), info);
    emit_fault(stacks::rsp(), sentence.as_str());
    serial::panic_println(format_args!("PANIC: {}", info.message()));
    if let Some(location) = info.location() {
        serial::panic_println(format_args!(
            "  at {}:{}:{}",
            location.file(),
            location.line(),
            location.column()
        ));
    }
    exit_qemu(ExitCode::Failed)
}

/// "while coroutine1 was running at switch #7", or nothing if the kernel
/// installed no roster. Lock-free: safe in any handler.
pub fn who_runs() -> impl fmt::Display {
    struct Who;
    impl fmt::Display for Who {
        fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
            if roster::installed().is_none() {
                return Ok(());
            }
            let name = roster::name(roster::running());
            write!(
                f,
                " while {name} was running at switch #{}",
                roster::switches()
            )
        }
    }
    Who
}

/// Writes the fault event for `sentence` (the routine that runs, the switch,
/// `rsp`), then prints the sentence on COM1, from a panic or fault handler.
pub fn report_fault(rsp: u64, sentence: &str) {
    emit_fault(rsp, sentence);
    serial::panic_println(format_args!("{sentence}"));
}

/// The `fault` event line: `sentence`, with who runs, the switch count and
/// `rsp`, written without waiting for a lock.
fn emit_fault(rsp: u64, sentence: &str) {
    events::emit_from_handler(&Event::Fault {
        who: roster::running(),
        switch: roster::switches(),
        rsp,
        tsc: events::tsc(),
        what: sentence,
    });
}

/// `<prefix>: <message> (<file>:<line>:<column>)`, formatted on the stack.
fn panic_sentence(prefix: fmt::Arguments<'_>, info: &PanicInfo) -> events::LineBuf<512> {
    match info.location() {
        Some(at) => events::LineBuf::format(format_args!(
            "{prefix}: {} ({}:{}:{})",
            info.message(),
            at.file(),
            at.line(),
            at.column()
        )),
        None => events::LineBuf::format(format_args!("{prefix}: {}", info.message())),
    }
}

/// Reports a panic as one line naming the running routine and the step,
/// e.g. `coroutine1 panicked at switch #3: <message> (src/x.rs:1:2)`, then
/// exits QEMU with [`ExitCode::Failed`]. Falls back to [`report_panic`]
/// when the kernel installed no roster.
pub fn report_panic_while_running(info: &PanicInfo) -> ! {
    if roster::installed().is_none() {
        report_panic(info)
    }
    let name = roster::name(roster::running());
    let step = roster::switches();
    let sentence = panic_sentence(format_args!("{name} panicked at switch #{step}"), info);
    report_fault(stacks::rsp(), sentence.as_str());
    exit_qemu(ExitCode::Failed)
}
