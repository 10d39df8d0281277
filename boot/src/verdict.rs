//! The tool's one verdict on a run, whichever emulator ran it, and the exit
//! status that says it.
//!
//! Both emulators report how a run ended as an [`End`]: QEMU from its exit
//! status and what it says on stderr ([`crate::emulator::qemu`]), Bochs
//! from the kernel's last event line and its own exit
//! ([`crate::emulator::bochs`]). [`verdict`] turns that into the tool's
//! exit status by the table below, the one place the exit statuses are
//! documented: it is the file `exit_statuses.md`, which `boot --help` shows
//! too (the constants are in [`crate::error`]).
//!
#![doc = include_str!("exit_statuses.md")]
//!
//! What the tool says, for example: `the kernel reported a failure (QEMU
//! exit status 35)`; `QEMU exited with status 0 without the kernel writing
//! to isa-debug-exit: the guest reset, most likely a triple fault`; `timed
//! out after 30 s; QEMU killed. Last serial lines: ...`; `the gdb session
//! ended (kill) before the kernel finished; QEMU stopped`; `QEMU was killed
//! by signal 15 from outside; the kernel had printed 12 lines`;
//! `interrupted; QEMU killed`.
//!
//! How QEMU's ends are told apart: the kernel writes a
//! `protocol::ExitCode` to the isa-debug-exit device, and QEMU exits with
//! `(value << 1) | 1`, 33 or 35. Status 0 cannot come from that device;
//! with `-no-reboot` it means the guest reset, which a kernel does not do
//! on purpose here: a triple fault. Except that QEMU also exits with 0
//! after a gdb `kill` and after a SIGTERM, SIGINT or SIGHUP from outside;
//! it then says so on stderr ("Terminated via GDBstub", "terminating on
//! signal 15"), which is how [`crate::emulator::qemu`] tells them apart.
//! Bochs, headless, catches a SIGTERM or SIGINT in its display (SDL) and
//! exits with 1, saying "User requested shutdown": the only way that
//! display is asked to quit without a window.

use crate::error::{
    EXIT_EMULATOR_FAILED, EXIT_ENDED_FROM_OUTSIDE, EXIT_FAILURE, EXIT_GDB_ENDED, EXIT_INTERRUPTED,
    EXIT_TIMED_OUT, EXIT_TRIPLE_FAULT, Failure,
};
use protocol::ExitCode;
use std::fmt;
use std::path::PathBuf;

/// QEMU's exit status when the kernel wrote [`ExitCode::Success`].
pub const QEMU_SUCCESS: i32 = ExitCode::Success.qemu_status();
/// QEMU's exit status when the kernel wrote [`ExitCode::Failed`].
pub const QEMU_FAILURE: i32 = ExitCode::Failed.qemu_status();

/// The emulator that ran the kernel: the verdict names it, and reads its
/// exit status its own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emulator {
    Qemu,
    Bochs,
}

impl fmt::Display for Emulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Emulator::Qemu => "QEMU",
            Emulator::Bochs => "Bochs",
        })
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// The kernel said how it ended: through QEMU's exit device, or in its
    /// last event line (Bochs, which has no exit device).
    Kernel(ExitCode),
    /// The emulator exited by itself with `status` before the kernel said
    /// how it ended; `reason` is what it said about it, if anything, and
    /// `messages` where its messages went, if not to our stderr.
    Exited {
        status: i32,
        reason: Option<String>,
        messages: Option<PathBuf>,
    },
    /// A signal from outside ended the emulator, after the kernel had
    /// printed `printed` lines. `signal` is `None` when the emulator caught
    /// it and only said it was asked to stop (Bochs's display, SDL, turns a
    /// SIGTERM or SIGINT into "User requested shutdown").
    EndedFromOutside { signal: Option<i32>, printed: usize },
    /// We stopped the emulator after `secs` seconds; `last_lines` is the
    /// serial tail.
    TimedOut { secs: u64, last_lines: Vec<String> },
    /// We stopped the emulator because the user pressed Ctrl-C.
    Interrupted,
    /// A gdb `kill` (QEMU said "Terminated via GDBstub"), or the end of
    /// Bochs's debugger, ended the run before the kernel finished.
    EndedByDebugger,
}

impl End {
    /// The end of a QEMU run that exited by itself with `status`: the
    /// kernel's exit if the status is one it writes.
    pub fn of_qemu_status(status: i32) -> End {
        match ExitCode::from_qemu_status(status) {
            Some(code) => End::Kernel(code),
            None => End::Exited {
                status,
                reason: None,
                messages: None,
            },
        }
    }

    /// QEMU's exit status for this end, if QEMU exited by itself.
    pub fn qemu_status(&self) -> Option<i32> {
        match self {
            End::Kernel(code) => Some(code.qemu_status()),
            End::Exited { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// `Ok(())` when the kernel reported success, otherwise the failure to
/// report, with its exit status from the table above.
pub fn verdict(emulator: Emulator, end: &End) -> Result<(), Failure> {
    let fail = |code: u8, message: String| Err(Failure { code, message });
    match end {
        End::Kernel(ExitCode::Success) => Ok(()),
        End::Kernel(ExitCode::Failed) => fail(
            EXIT_FAILURE,
            match emulator {
                Emulator::Qemu => {
                    format!("the kernel reported a failure (QEMU exit status {QEMU_FAILURE})")
                }
                Emulator::Bochs => {
                    "the kernel reported a failure (its last event line: exit code=failed)".into()
                }
            },
        ),
        End::Exited {
            status,
            reason,
            messages,
        } => {
            let (code, message) = match emulator {
                Emulator::Qemu => qemu_exited(*status),
                Emulator::Bochs => bochs_exited(*status, reason.as_deref(), messages.as_ref()),
            };
            fail(code, message)
        }
        End::EndedFromOutside { signal, printed } => fail(
            EXIT_ENDED_FROM_OUTSIDE,
            format!(
                "{emulator} was {} from outside; the kernel had printed {printed} line{}",
                match signal {
                    Some(signal) => format!("killed by signal {signal}"),
                    None => "ended by a signal (SIGTERM or SIGINT)".into(),
                },
                if *printed == 1 { "" } else { "s" }
            ),
        ),
        End::TimedOut { secs, last_lines } => Err(timed_out(*secs, emulator, last_lines)),
        End::Interrupted => fail(EXIT_INTERRUPTED, format!("interrupted; {emulator} killed")),
        End::EndedByDebugger => fail(
            EXIT_GDB_ENDED,
            match emulator {
                Emulator::Qemu => {
                    "the gdb session ended (kill) before the kernel finished; QEMU stopped".into()
                }
                Emulator::Bochs => {
                    "the Bochs debugger session ended before the kernel finished; Bochs stopped"
                        .into()
                }
            },
        ),
    }
}

/// QEMU exited by itself with `status`, which the kernel did not write.
fn qemu_exited(status: i32) -> (u8, String) {
    match status {
        0 => (
            EXIT_TRIPLE_FAULT,
            "QEMU exited with status 0 without the kernel writing to isa-debug-exit: \
             the guest reset, most likely a triple fault (-no-reboot turns the reboot into an exit)"
                .into(),
        ),
        1 => (
            EXIT_EMULATOR_FAILED,
            "QEMU exited with status 1: QEMU itself failed (see its message above), \
             the kernel did not report anything"
                .into(),
        ),
        status => (
            EXIT_EMULATOR_FAILED,
            format!(
                "QEMU exited with status {status}, which is neither success ({QEMU_SUCCESS}) \
                 nor failure ({QEMU_FAILURE}) as written by the kernel to isa-debug-exit"
            ),
        ),
    }
}

/// Bochs exited by itself with `status` before the kernel's last event
/// line, saying `reason` (if anything) in `messages`.
fn bochs_exited(status: i32, reason: Option<&str>, messages: Option<&PathBuf>) -> (u8, String) {
    let mut message =
        format!("Bochs exited (exit status: {status}) before the kernel reported its end");
    let mut code = EXIT_EMULATOR_FAILED;
    match (reason, messages) {
        (Some(reason), _) => {
            message.push_str(": ");
            message.push_str(reason);
            // Bochs's words for a triple fault under reset_on_triple_fault=0.
            if reason.contains("3rd") && reason.contains("exception with no resolution") {
                message.push_str(" (a triple fault)");
                code = EXIT_TRIPLE_FAULT;
            }
        }
        (None, Some(messages)) => message.push_str(&format!("; see {}", messages.display())),
        (None, None) => {}
    }
    (code, message)
}

/// The failure after `emulator` was killed at the timeout of `secs`
/// seconds, with the last serial lines.
pub fn timed_out(secs: u64, emulator: Emulator, last_lines: &[String]) -> Failure {
    let mut message = format!("timed out after {secs} s; {emulator} killed. Last serial lines:");
    if last_lines.is_empty() {
        message.push_str("\n  (none)");
    }
    for line in last_lines {
        message.push_str("\n  ");
        message.push_str(line);
    }
    Failure {
        code: EXIT_TIMED_OUT,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::EXIT_USAGE;

    fn qemu(end: End) -> Failure {
        verdict(Emulator::Qemu, &end).unwrap_err()
    }

    #[test]
    fn status_33_is_success() {
        assert_eq!(verdict(Emulator::Qemu, &End::of_qemu_status(33)), Ok(()));
    }

    #[test]
    fn status_35_is_a_kernel_failure() {
        let f = qemu(End::of_qemu_status(35));
        assert_eq!(f.code, EXIT_FAILURE);
        assert_eq!(
            f.message,
            "the kernel reported a failure (QEMU exit status 35)"
        );
    }

    #[test]
    fn status_0_is_a_triple_fault_not_success() {
        let f = qemu(End::of_qemu_status(0));
        assert_eq!(f.code, EXIT_TRIPLE_FAULT);
        assert!(
            f.message
                .starts_with("QEMU exited with status 0 without the kernel")
        );
        assert!(f.message.contains("most likely a triple fault"));
    }

    #[test]
    fn other_statuses_are_qemu_failures_that_name_the_status() {
        for code in [1, 2, 3, 34, 255] {
            let f = qemu(End::of_qemu_status(code));
            assert_eq!(f.code, EXIT_EMULATOR_FAILED, "status {code}");
            assert!(
                f.message.contains(&format!("status {code}")),
                "{}",
                f.message
            );
        }
    }

    #[test]
    fn timeout_lists_the_last_lines() {
        let f = qemu(End::TimedOut {
            secs: 3,
            last_lines: vec!["a".into(), "b".into()],
        });
        assert_eq!(f.code, EXIT_TIMED_OUT);
        assert_eq!(
            f.message,
            "timed out after 3 s; QEMU killed. Last serial lines:\n  a\n  b"
        );
    }

    #[test]
    fn timeout_without_output_says_so() {
        let f = qemu(End::TimedOut {
            secs: 30,
            last_lines: vec![],
        });
        assert!(f.message.ends_with("Last serial lines:\n  (none)"));
    }

    #[test]
    fn the_exit_statuses_are_the_protocol_crates() {
        assert_eq!((QEMU_SUCCESS, QEMU_FAILURE), (33, 35));
        assert_eq!(End::of_qemu_status(33), End::Kernel(ExitCode::Success));
        assert_eq!(End::of_qemu_status(35), End::Kernel(ExitCode::Failed));
        assert_eq!(End::Kernel(ExitCode::Failed).qemu_status(), Some(35));
        assert_eq!(End::Interrupted.qemu_status(), None);
    }

    #[test]
    fn a_gdb_kill_is_not_a_triple_fault() {
        let f = qemu(End::EndedByDebugger);
        assert_eq!(f.code, EXIT_GDB_ENDED);
        assert_eq!(
            f.message,
            "the gdb session ended (kill) before the kernel finished; QEMU stopped"
        );
    }

    #[test]
    fn interrupt_exits_130() {
        let f = qemu(End::Interrupted);
        assert_eq!(f.code, 130);
        assert_eq!(f.message, "interrupted; QEMU killed");
    }

    #[test]
    fn every_end_has_its_own_exit_status() {
        let ends = [
            qemu(End::Kernel(ExitCode::Failed)).code,
            EXIT_USAGE,
            qemu(End::of_qemu_status(0)).code,
            qemu(End::TimedOut {
                secs: 1,
                last_lines: vec![],
            })
            .code,
            qemu(End::of_qemu_status(1)).code,
            qemu(End::EndedByDebugger).code,
            qemu(End::EndedFromOutside {
                signal: Some(15),
                printed: 0,
            })
            .code,
            qemu(End::Interrupted).code,
        ];
        assert_eq!(ends, [1, 2, 3, 4, 5, 6, 7, 130]);
    }

    /// Each end under either emulator: its exit status and what is said.
    #[test]
    fn what_is_said_of_each_end() {
        let bochs_exited = |reason: Option<&str>| End::Exited {
            status: 1,
            reason: reason.map(str::to_owned),
            messages: Some("/t/k.bochs.out".into()),
        };
        let triple = "[CPU0  ] exception(): 3rd (13) exception with no resolution";
        let cases = [
            (
                Emulator::Qemu,
                End::EndedFromOutside {
                    signal: Some(15),
                    printed: 12,
                },
                EXIT_ENDED_FROM_OUTSIDE,
                "QEMU was killed by signal 15 from outside; the kernel had printed 12 lines",
            ),
            (
                Emulator::Bochs,
                End::EndedFromOutside {
                    signal: Some(9),
                    printed: 1,
                },
                EXIT_ENDED_FROM_OUTSIDE,
                "Bochs was killed by signal 9 from outside; the kernel had printed 1 line",
            ),
            (
                Emulator::Bochs,
                End::EndedFromOutside {
                    signal: None,
                    printed: 2,
                },
                EXIT_ENDED_FROM_OUTSIDE,
                "Bochs was ended by a signal (SIGTERM or SIGINT) from outside; the kernel had printed 2 lines",
            ),
            (
                Emulator::Bochs,
                bochs_exited(Some(triple)),
                EXIT_TRIPLE_FAULT,
                "Bochs exited (exit status: 1) before the kernel reported its end: \
                 [CPU0  ] exception(): 3rd (13) exception with no resolution (a triple fault)",
            ),
            (
                Emulator::Bochs,
                bochs_exited(None),
                EXIT_EMULATOR_FAILED,
                "Bochs exited (exit status: 1) before the kernel reported its end; see /t/k.bochs.out",
            ),
            (
                Emulator::Bochs,
                End::Kernel(ExitCode::Failed),
                EXIT_FAILURE,
                "the kernel reported a failure (its last event line: exit code=failed)",
            ),
            (
                Emulator::Bochs,
                End::TimedOut {
                    secs: 3,
                    last_lines: vec!["a".into()],
                },
                EXIT_TIMED_OUT,
                "timed out after 3 s; Bochs killed. Last serial lines:\n  a",
            ),
            (
                Emulator::Bochs,
                End::Interrupted,
                EXIT_INTERRUPTED,
                "interrupted; Bochs killed",
            ),
            (
                Emulator::Bochs,
                End::EndedByDebugger,
                EXIT_GDB_ENDED,
                "the Bochs debugger session ended before the kernel finished; Bochs stopped",
            ),
        ];
        for (emulator, end, code, message) in cases {
            let failure = verdict(emulator, &end).unwrap_err();
            assert_eq!((failure.code, failure.message.as_str()), (code, message));
        }
        assert_eq!(
            verdict(Emulator::Bochs, &End::Kernel(ExitCode::Success)),
            Ok(())
        );
    }
}
