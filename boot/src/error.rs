//! The one error type of the tool: a message for stderr and an exit code.
//!
//! Every module returns `Result<_, Failure>`; only `main` prints the message
//! (prefixed with `boot: `) and exits, after QEMU has been killed and reaped.
//!
//! The exit statuses are documented in one table, in [`crate::verdict`].

use std::fmt;
use std::process::ExitCode;

/// Exit code when the kernel reported a failure (a panic, or a CPU
/// exception its handlers caught), or a step of the tool failed.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code for usage and environment errors (the same code clap uses).
pub const EXIT_USAGE: u8 = 2;
/// Exit code after a triple fault: the guest reset.
pub const EXIT_TRIPLE_FAULT: u8 = 3;
/// Exit code when the kernel hung and the timeout stopped it.
pub const EXIT_TIMED_OUT: u8 = 4;
/// Exit code when the emulator stopped by itself for a reason of its own.
pub const EXIT_EMULATOR_FAILED: u8 = 5;
/// Exit code when the user ended the gdb session (`kill`, `quit`,
/// `detach`), or Bochs's debugger, before the kernel finished.
pub const EXIT_GDB_ENDED: u8 = 6;
/// Exit code when a signal from outside ended the emulator.
pub const EXIT_ENDED_FROM_OUTSIDE: u8 = 7;
/// Exit code after Ctrl-C, as a shell reports for SIGINT (128 + 2).
pub const EXIT_INTERRUPTED: u8 = 130;

/// Why the tool stops before the kernel reported success, with a non-zero
/// exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The process exit code.
    pub code: u8,
    /// What to tell the user, without the `boot: ` prefix; may span lines.
    pub message: String,
}

impl Failure {
    /// A usage or environment error: bad input, missing program (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            code: EXIT_USAGE,
            message: message.into(),
        }
    }

    /// The kernel reported a failure, or one of the steps failed (exit 1).
    pub fn failed(message: impl Into<String>) -> Self {
        Self {
            code: EXIT_FAILURE,
            message: message.into(),
        }
    }

    /// The user ended the gdb session before the kernel finished
    /// ([`EXIT_GDB_ENDED`]).
    pub fn ended_from_gdb(message: impl Into<String>) -> Self {
        Self {
            code: EXIT_GDB_ENDED,
            message: message.into(),
        }
    }

    /// The process exit code for this failure.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "boot: {}", self.message)
    }
}
