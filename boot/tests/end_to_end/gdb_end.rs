//! Ending a debugging session from gdb is not a crash: after a gdb `kill`,
//! QEMU exits with status 0, as after a triple fault, but says "Terminated
//! via GDBstub" on stderr; the boot tool must report the end of the session
//! and exit 0, not report a triple fault. Checked in both gdb modes:
//! `--gdb-server` with a `gdb -batch` attached from outside, and `--gdb`,
//! whose own gdb reads its commands from the tool's stdin here. Nor is a
//! QEMU ended by a signal from outside, which says so on stderr too
//! ("terminating on signal 15") or dies of it.

use crate::common;

use boot::error::{EXIT_ENDED_FROM_OUTSIDE, EXIT_GDB_ENDED};
use common::{GdbServer, KernelCopy, assert_no_qemu_left, output_within, run_gdb};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

/// What the boot tool says when a gdb `kill` ended QEMU.
const GDB_KILLED: &str =
    "boot: the gdb session ended (kill) before the kernel finished; QEMU stopped";

#[test]
fn gdb_kill_ends_a_gdb_server_session() {
    let kernel = KernelCopy::new("kernel");
    let _sharing = common::sharing_the_machine();
    let mut server = GdbServer::start(kernel.elf(), false);
    let gdb_said = run_gdb(kernel.elf(), server.port, &["kill"]);
    assert!(gdb_said.contains("killed"), "{gdb_said}");
    let (status, said) = server.wait(Duration::from_secs(60));
    assert_no_qemu_left(&kernel.image(false));
    assert!(said.contains(GDB_KILLED), "{said}");
    assert!(!said.contains("triple fault"), "{said}");
    assert_eq!(status.code(), Some(EXIT_GDB_ENDED.into()), "{said}");
}

#[test]
fn gdb_kill_ends_a_gdb_session() {
    let kernel = KernelCopy::new("kernel");
    let _sharing = common::sharing_the_machine();
    let mut child = Command::new(env!("CARGO_BIN_EXE_boot"))
        .arg("--gdb")
        .arg(kernel.elf())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start boot --gdb");
    // gdb reads commands from a stdin that is not a terminal, answers its
    // own "Kill the program being debugged?" with yes, and quits at EOF.
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"kill\n")
        .expect("write to gdb");
    let output = output_within(child, Duration::from_secs(180), "boot --gdb");
    assert_no_qemu_left(&kernel.image(false));
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains(GDB_KILLED), "{said}");
    assert!(!said.contains("triple fault"), "{said}");
    assert_eq!(output.status.code(), Some(EXIT_GDB_ENDED.into()), "{said}");
}

#[test]
fn qemu_ended_by_a_signal_from_outside_is_said_so() {
    let kernel = KernelCopy::new("kernel");
    let _sharing = common::sharing_the_machine();
    // SIGTERM: QEMU catches it, says "terminating on signal 15" and exits
    // with 0, as after a triple fault. SIGKILL: it dies of the signal.
    for signal in [15, 9] {
        let mut server = GdbServer::start(kernel.elf(), false);
        let killed = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(server.qemu_pid().to_string())
            .status()
            .expect("run kill");
        assert!(killed.success());
        let (status, said) = server.wait(Duration::from_secs(60));
        assert_no_qemu_left(&kernel.image(false));
        // QEMU waits for gdb before the kernel's first instruction.
        let expected = format!(
            "boot: QEMU was killed by signal {signal} from outside; the kernel had printed 0 lines"
        );
        assert!(said.contains(&expected), "signal {signal}: {said}");
        assert!(!said.contains("triple fault"), "signal {signal}: {said}");
        assert_eq!(
            status.code(),
            Some(EXIT_ENDED_FROM_OUTSIDE.into()),
            "signal {signal}: {said}"
        );
    }
}
