//! Ending a debugging session from gdb is not a crash: after a gdb `kill`,
//! QEMU exits with status 0, as after a triple fault, but says "Terminated
//! via GDBstub" on stderr; the boot tool must report the end of the session
//! and exit 0, not report a triple fault. Checked in both gdb modes:
//! `--gdb-server` with a `gdb -batch` attached from outside, and `--gdb`,
//! whose own gdb reads its commands from the tool's stdin here.

mod common;

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
    let mut server = GdbServer::start(kernel.elf(), false);
    let gdb_said = run_gdb(kernel.elf(), server.port, &["kill"]);
    assert!(gdb_said.contains("killed"), "{gdb_said}");
    let (status, said) = server.wait(Duration::from_secs(60));
    assert_no_qemu_left(&kernel.image(false));
    assert!(said.contains(GDB_KILLED), "{said}");
    assert!(!said.contains("triple fault"), "{said}");
    assert_eq!(status.code(), Some(0), "{said}");
}

#[test]
fn gdb_kill_ends_a_gdb_session() {
    let kernel = KernelCopy::new("kernel");
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
    assert_eq!(output.status.code(), Some(0), "{said}");
}
