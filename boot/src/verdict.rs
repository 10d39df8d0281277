//! Turns the way QEMU ended into the tool's verdict.
//!
//! A pure function so the mapping is unit-tested without booting anything.
//! The kernel writes a `protocol::ExitCode` to the isa-debug-exit device,
//! and QEMU exits with `(value << 1) | 1`: 33 or 35. Status 0 cannot come
//! from that device; with `-no-reboot` it means the guest reset, which a
//! kernel does not do on purpose here: almost always a triple fault. The
//! exception is a gdb `kill`, which also makes QEMU exit with 0; QEMU then
//! says so on stderr, and [`crate::emulator::qemu`] reports [`Outcome::EndedByGdb`].

use crate::error::{EXIT_INTERRUPTED, Failure};
use protocol::ExitCode;

/// QEMU's exit status when the kernel wrote [`ExitCode::Success`].
pub const QEMU_SUCCESS: i32 = ExitCode::Success.qemu_status();
/// QEMU's exit status when the kernel wrote [`ExitCode::Failed`].
pub const QEMU_FAILURE: i32 = ExitCode::Failed.qemu_status();

/// How a QEMU run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// QEMU exited by itself with this status.
    Exited(i32),
    /// QEMU was killed by this signal (not by us).
    Signaled(i32),
    /// We killed QEMU after `secs` seconds; `last_lines` is the serial tail.
    TimedOut { secs: u64, last_lines: Vec<String> },
    /// We killed QEMU because the user pressed Ctrl-C.
    Interrupted,
    /// A gdb `kill` ended QEMU (it exited with 0 and said "Terminated via
    /// GDBstub") before the kernel finished.
    EndedByGdb,
}

/// `Ok(())` when the kernel reported success, otherwise the failure to report.
pub fn verdict(outcome: &Outcome) -> Result<(), Failure> {
    match outcome {
        Outcome::Exited(QEMU_SUCCESS) => Ok(()),
        Outcome::Exited(QEMU_FAILURE) => Err(Failure::failed(format!(
            "the kernel reported a failure (QEMU exit status {QEMU_FAILURE})"
        ))),
        Outcome::Exited(0) => Err(Failure::failed(
            "QEMU exited with status 0 without the kernel writing to isa-debug-exit: \
             the guest reset, most likely a triple fault (-no-reboot turns the reboot into an exit)",
        )),
        Outcome::Exited(1) => Err(Failure::failed(
            "QEMU exited with status 1: QEMU itself failed (see its message above), \
             the kernel did not report anything",
        )),
        Outcome::Exited(code) => Err(Failure::failed(format!(
            "QEMU exited with status {code}, which is neither success ({QEMU_SUCCESS}) \
             nor failure ({QEMU_FAILURE}) as written by the kernel to isa-debug-exit"
        ))),
        Outcome::Signaled(signal) => Err(Failure::failed(format!(
            "QEMU was killed by signal {signal} before the kernel reported anything"
        ))),
        Outcome::TimedOut { secs, last_lines } => Err(timed_out(*secs, "QEMU", last_lines)),
        Outcome::Interrupted => Err(Failure {
            code: EXIT_INTERRUPTED,
            message: "interrupted; QEMU killed".into(),
        }),
        Outcome::EndedByGdb => Err(Failure::ended_from_gdb(
            "the gdb session ended (kill) before the kernel finished; QEMU stopped",
        )),
    }
}

/// The failure after `emulator` was killed at the timeout of `secs`
/// seconds, with the last serial lines.
pub fn timed_out(secs: u64, emulator: &str, last_lines: &[String]) -> Failure {
    let mut message = format!("timed out after {secs} s; {emulator} killed. Last serial lines:");
    if last_lines.is_empty() {
        message.push_str("\n  (none)");
    }
    for line in last_lines {
        message.push_str("\n  ");
        message.push_str(line);
    }
    Failure::failed(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{EXIT_FAILURE, EXIT_GDB_ENDED, EXIT_USAGE};

    fn failure(outcome: Outcome) -> Failure {
        verdict(&outcome).unwrap_err()
    }

    #[test]
    fn status_33_is_success() {
        assert_eq!(verdict(&Outcome::Exited(33)), Ok(()));
    }

    #[test]
    fn status_35_is_a_kernel_failure() {
        let f = failure(Outcome::Exited(35));
        assert_eq!(f.code, EXIT_FAILURE);
        assert_eq!(
            f.message,
            "the kernel reported a failure (QEMU exit status 35)"
        );
    }

    #[test]
    fn status_0_is_a_triple_fault_not_success() {
        let f = failure(Outcome::Exited(0));
        assert_eq!(f.code, EXIT_FAILURE);
        assert!(
            f.message
                .starts_with("QEMU exited with status 0 without the kernel")
        );
        assert!(f.message.contains("most likely a triple fault"));
    }

    #[test]
    fn other_statuses_are_failures_that_name_the_status() {
        for code in [1, 2, 3, 34, 255] {
            let f = failure(Outcome::Exited(code));
            assert_eq!(f.code, EXIT_FAILURE, "status {code}");
            assert!(
                f.message.contains(&format!("status {code}")),
                "{}",
                f.message
            );
        }
    }

    #[test]
    fn killed_by_a_signal_is_a_failure() {
        let f = failure(Outcome::Signaled(9));
        assert_eq!(f.code, EXIT_FAILURE);
        assert!(f.message.contains("signal 9"));
    }

    #[test]
    fn timeout_lists_the_last_lines() {
        let f = failure(Outcome::TimedOut {
            secs: 3,
            last_lines: vec!["a".into(), "b".into()],
        });
        assert_eq!(f.code, EXIT_FAILURE);
        assert_eq!(
            f.message,
            "timed out after 3 s; QEMU killed. Last serial lines:\n  a\n  b"
        );
    }

    #[test]
    fn timeout_without_output_says_so() {
        let f = failure(Outcome::TimedOut {
            secs: 30,
            last_lines: vec![],
        });
        assert!(f.message.ends_with("Last serial lines:\n  (none)"));
    }

    #[test]
    fn the_exit_statuses_are_the_protocol_crates() {
        assert_eq!((QEMU_SUCCESS, QEMU_FAILURE), (33, 35));
        assert_eq!(
            ExitCode::from_qemu_status(QEMU_SUCCESS),
            Some(ExitCode::Success)
        );
        assert_eq!(
            ExitCode::from_qemu_status(QEMU_FAILURE),
            Some(ExitCode::Failed)
        );
    }

    #[test]
    fn a_gdb_kill_is_not_a_triple_fault() {
        let f = failure(Outcome::EndedByGdb);
        assert_eq!(f.code, EXIT_GDB_ENDED);
        assert_eq!(
            f.message,
            "the gdb session ended (kill) before the kernel finished; QEMU stopped"
        );
        assert!(!f.message.contains("triple fault"));
    }

    #[test]
    fn interrupt_exits_130() {
        let f = failure(Outcome::Interrupted);
        assert_eq!(f.code, 130);
        assert_ne!(f.code, EXIT_USAGE);
    }
}
