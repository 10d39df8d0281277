//! What the kernel and the host tool (`boot/`) must agree on, defined once.
//!
//! Both sides compile this crate: the kernel for `x86_64-target.json`, the
//! host tool for the host. If a value here changes, both change with it; a
//! copy on either side could drift without anything failing to build.
//!
//! - [`QEMU_EXIT_PORT`] and [`ExitCode`]: how the kernel ends QEMU and what
//!   exit status QEMU then has.
//! - [`COM1`] and [`COM2`]: the serial ports. COM1 carries the human
//!   transcript, COM2 the machine-readable [`event`] lines.
//! - [`event`]: one line per switch, fault and summary figure, which the host
//!   tool turns into a trace and a picture, and the tests read instead of
//!   the prose.

#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod event;

/// The I/O port of QEMU's `isa-debug-exit` device, which the host tool
/// attaches (`-device isa-debug-exit,iobase=0xf4,iosize=0x04`).
pub const QEMU_EXIT_PORT: u16 = 0xf4;

/// The width in bytes of the `isa-debug-exit` register (`iosize`): the
/// kernel writes a `u32`.
pub const QEMU_EXIT_IOSIZE: u8 = 4;

/// The standard PC I/O port of the first serial port: the transcript.
pub const COM1: u16 = 0x3f8;

/// The standard PC I/O port of the second serial port: the event lines.
pub const COM2: u16 = 0x2f8;

/// Values the kernel writes to the `isa-debug-exit` device.
///
/// QEMU exits with `(value << 1) | 1` ([`ExitCode::qemu_status`]): 33 for
/// success, 35 for failure. No value written there can give an even status;
/// status 0 with `-no-reboot` means the guest reset (a triple fault).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum ExitCode {
    /// The kernel finished its work: QEMU exits with 33.
    Success = 0x10,
    /// The kernel hit an error: QEMU exits with 35.
    Failed = 0x11,
}

impl ExitCode {
    /// Both codes, for parsing and for tests.
    pub const ALL: [ExitCode; 2] = [ExitCode::Success, ExitCode::Failed];

    /// The word for it in event lines, the trace and the picture.
    pub const fn word(self) -> &'static str {
        match self {
            ExitCode::Success => "success",
            ExitCode::Failed => "failed",
        }
    }

    /// The value written to the device.
    pub const fn value(self) -> u32 {
        self as u32
    }

    /// QEMU's exit status after the kernel wrote this code.
    pub const fn qemu_status(self) -> i32 {
        ((self as i32) << 1) | 1
    }

    /// The code that makes QEMU exit with `status`, if any.
    pub const fn from_qemu_status(status: i32) -> Option<ExitCode> {
        if status == ExitCode::Success.qemu_status() {
            Some(ExitCode::Success)
        } else if status == ExitCode::Failed.qemu_status() {
            Some(ExitCode::Failed)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qemu_statuses_are_33_and_35_and_map_back() {
        assert_eq!(ExitCode::Success.qemu_status(), 33);
        assert_eq!(ExitCode::Failed.qemu_status(), 35);
        for code in [ExitCode::Success, ExitCode::Failed] {
            assert_eq!(ExitCode::from_qemu_status(code.qemu_status()), Some(code));
        }
        assert_eq!(ExitCode::from_qemu_status(0), None);
        assert_eq!(ExitCode::from_qemu_status(1), None);
    }

    #[test]
    fn the_two_codes_have_two_words() {
        assert_eq!(ExitCode::Success.word(), "success");
        assert_eq!(ExitCode::Failed.word(), "failed");
    }
}
