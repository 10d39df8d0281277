//! The one error type of the tool: a message for stderr and an exit code.
//!
//! Every module returns `Result<_, Failure>`; only `main` prints the message
//! (prefixed with `boot: `) and exits, after QEMU has been killed and reaped.
//!
//! Exit statuses: 0 the kernel reported success (or the user ended the gdb
//! session, see [`EXIT_GDB_ENDED`]); 1 the kernel failed, crashed or hung, or
//! a step failed; 2 bad input or a missing program; 130 Ctrl-C.

use std::fmt;
use std::process::ExitCode;

/// Exit code for usage and environment errors (the same code clap uses).
pub const EXIT_USAGE: u8 = 2;
/// Exit code when the kernel failed, crashed or hung, or a step failed.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code after Ctrl-C, as a shell reports for SIGINT (128 + 2).
pub const EXIT_INTERRUPTED: u8 = 130;
/// Exit code when the user ended the gdb session (`kill`, `quit`, `detach`)
/// before the kernel finished: 0, because the tool did what was asked (the
/// same as leaving gdb always gave), and never the triple-fault failure (1),
/// which a gdb `kill` used to be mistaken for (QEMU exits with 0 on both).
pub const EXIT_GDB_ENDED: u8 = 0;

/// Why the tool stops before the kernel reported success: with a non-zero
/// exit code, except for [`Failure::ended_from_gdb`].
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

    /// The kernel or one of the steps failed (exit 1).
    pub fn failed(message: impl Into<String>) -> Self {
        Self {
            code: EXIT_FAILURE,
            message: message.into(),
        }
    }

    /// The user ended the gdb session before the kernel finished: not an
    /// error, but worth a line ([`EXIT_GDB_ENDED`]).
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
