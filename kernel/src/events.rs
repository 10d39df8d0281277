//! The event lines on COM2: one line per switch, fault and summary figure,
//! in the format `protocol::event` defines, for programs rather than people.
//!
//! Why a second serial port: the transcript on COM1 is for reading and may be
//! reworded; the host tool saves COM2 to a file (QEMU's second `-serial`),
//! turns it into a trace and a picture, and the tests read it. Nothing here
//! allocates: an event is formatted straight into the UART, so a coroutine
//! can emit one from its 4096-byte stack and a fault handler from its IST
//! stack.

use core::fmt::{self, Write};
use protocol::COM2;
use protocol::event::Event;
use spin::Mutex;
use uart_16550::backend::PioBackend;
use uart_16550::{Config, Uart16550Tty};

/// The port, `None` until [`init`] ran (events before that are dropped).
static EVENTS: Mutex<Option<Uart16550Tty<PioBackend>>> = Mutex::new(None);

/// Initialises COM2. Called by `serial::init`, so every kernel has it.
pub(crate) fn init() {
    // SAFETY: COM2 is a standard PC port that only this module touches, and
    // it stays valid for the whole run of the kernel.
    let port = unsafe { Uart16550Tty::new_port(COM2, Config::default()) };
    // QEMU always has a COM2 (the host tool gives it a file); if a machine
    // had none, events are simply not written.
    *EVENTS.lock() = port.ok();
}

/// Writes `event` as one line.
pub fn emit(event: &Event<'_>) {
    if let Some(port) = EVENTS.lock().as_mut() {
        // A UART write cannot fail (see `serial::_print`).
        let _ = writeln!(port, "{event}");
    }
}

/// Writes `event` from a fault or panic handler: like [`emit`], but if the
/// code that faulted held the port's lock, the lock is broken rather than
/// waited for (that holder will never run again on this single CPU).
pub fn emit_from_handler(event: &Event<'_>) {
    if EVENTS.is_locked() {
        // SAFETY: one CPU, no interrupts enabled: the holder of the lock is
        // the code that faulted, which will never resume.
        unsafe { EVENTS.force_unlock() };
    }
    emit(event);
}

/// The time-stamp counter, for the `tsc` field of events. Not serialised
/// (no `lfence`): an event marks a point in a log, not a timed interval.
pub fn tsc() -> u64 {
    // SAFETY: rdtsc only reads the TSC into edx:eax; every x86_64 CPU has it.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// A line formatted into a fixed buffer on the stack: the fault handlers
/// need the sentence twice (on COM1 and in the fault event) and cannot
/// allocate. Text beyond the capacity is cut, never an error.
pub struct LineBuf<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> LineBuf<N> {
    /// `args` formatted, cut to at most `N` bytes on a character boundary.
    pub fn format(args: fmt::Arguments<'_>) -> Self {
        let mut line = Self {
            bytes: [0; N],
            len: 0,
        };
        let _ = line.write_fmt(args);
        line
    }

    /// The text written so far.
    pub fn as_str(&self) -> &str {
        // `write_str` only ever copies whole UTF-8 characters.
        core::str::from_utf8(&self.bytes[..self.len]).unwrap_or("")
    }
}

impl<const N: usize> Write for LineBuf<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            let mut encoded = [0; 4];
            let encoded = c.encode_utf8(&mut encoded).as_bytes();
            let Some(room) = self.bytes.get_mut(self.len..self.len + encoded.len()) else {
                return Ok(());
            };
            room.copy_from_slice(encoded);
            self.len += encoded.len();
        }
        Ok(())
    }
}
