//! COM1 (I/O port 0x3F8) behind a spin lock, the `serial_print!` macros and a
//! `log` backend that writes `[LEVEL] message` lines.
//!
//! QEMU connects COM1 to its standard output (`-serial stdio`), so every line
//! written here appears on the terminal of `cargo run` / `make run`.

use core::fmt::{self, Write};
use spin::Mutex;
use uart_16550::backend::PioBackend;
use uart_16550::{Config, Uart16550Tty};

use protocol::COM1;

/// The port, `None` until [`init`] ran.
static SERIAL: Mutex<Option<Uart16550Tty<PioBackend>>> = Mutex::new(None);

/// Initialises COM1 and installs the `log` backend at `Trace` level; also
/// initialises COM2 for the event lines ([`crate::events`]).
///
/// Call once, first thing in the kernel entry point.
pub fn init() {
    // SAFETY: COM1 is a standard PC port that only this module touches, and it
    // stays valid for the whole run of the kernel.
    let port = unsafe { Uart16550Tty::new_port(COM1, Config::default()) }
        .expect("COM1 did not pass its loopback self-test");
    *SERIAL.lock() = Some(port);
    crate::events::init();
    // A second call would find the logger already set; that is harmless.
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(log::LevelFilter::Trace);
}

/// Writes formatted text to COM1; used by [`serial_print!`] and
/// [`serial_println!`]. Output before [`init`] is dropped.
#[doc(hidden)]
pub fn _print(args: fmt::Arguments) {
    if let Some(port) = SERIAL.lock().as_mut() {
        // A UART write cannot fail; `fmt::Error` can only come from a
        // `Display` impl, and there is nowhere to report it anyway.
        let _ = port.write_fmt(args);
    }
}

/// Writes one line from the panic handler without waiting for the lock.
///
/// If the panic happened while the port was locked (inside `_print`), the
/// holder will never run again on this single CPU: spinning would hang the
/// kernel instead of reporting the panic, so the lock is broken instead.
pub fn panic_println(args: fmt::Arguments) {
    if SERIAL.is_locked() {
        // SAFETY: one CPU, no interrupts enabled: the holder of the lock is
        // the code that panicked, which will never resume.
        unsafe { SERIAL.force_unlock() };
    }
    _print(format_args!("{args}\n"));
}

/// Prints to COM1, like `print!`.
#[macro_export]
macro_rules! serial_print {
    ($($arg:tt)*) => ($crate::serial::_print(format_args!($($arg)*)));
}

/// Prints a line to COM1, like `println!`.
#[macro_export]
macro_rules! serial_println {
    () => ($crate::serial_print!("\n"));
    ($($arg:tt)*) => ($crate::serial::_print(format_args!("{}\n", format_args!($($arg)*))));
}

/// The `log` backend: one `[LEVEL] message` line per record.
struct SerialLogger;

static LOGGER: SerialLogger = SerialLogger;

impl log::Log for SerialLogger {
    fn enabled(&self, _metadata: &log::Metadata) -> bool {
        true
    }

    fn log(&self, record: &log::Record) {
        _print(format_args!("[{:<5}] {}\n", record.level(), record.args()));
    }

    fn flush(&self) {}
}
