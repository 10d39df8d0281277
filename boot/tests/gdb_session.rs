//! A scripted gdb session against a real paused QEMU: `boot --gdb-server`
//! starts it, `gdb -batch` attaches with gdb/kernel.gdb, breaks on the
//! switches, steps through them with `coro-switch`, and this test checks what
//! gdb saw: RSP moving from main's stack into COROUTINE1_STACK, back, into
//! COROUTINE2_STACK and back; each switch's saved slot equal to RSP after its
//! pushes; rbx, rbp and RSP the same after a round trip; and the `kill` that
//! ends the session reported as such by the boot tool.
//!
//! QEMU never outlives a test: the boot tool is killed when the test ends
//! (pass or fail), and the boot tool's QEMU dies with it (PR_SET_PDEATHSIG).

mod common;

use common::{GdbServer, KernelCopy, hex_after, run_gdb};
use std::time::Duration;

/// The stack name in `... (NAME top-0x..)`.
fn stack_of(line: &str) -> &str {
    let open = line.find(" (").expect("location") + 2;
    let rest = &line[open..];
    rest[..rest.find(" top-").unwrap_or(rest.len())].trim_end_matches(')')
}

/// One `coro-switch`, as printed.
struct Switch {
    before_rsp: u64,
    before_stack: String,
    /// RSP when the switch stored it: the line of `mov [rdi], rsp`.
    stored_rsp: u64,
    after_rsp: u64,
    after_stack: String,
    after_slots: String,
}

fn switches(output: &str) -> Vec<Switch> {
    let lines: Vec<&str> = output.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if !line.starts_with("before: RSP=") {
            continue;
        }
        let rest = &lines[i..];
        let find = |prefix: &str| {
            *rest
                .iter()
                .find(|l| l.trim_start().starts_with(prefix))
                .expect(prefix)
        };
        let stored = find("mov    QWORD PTR [rdi],rsp");
        let after = find("after:  RSP=");
        found.push(Switch {
            before_rsp: hex_after(line, "RSP="),
            before_stack: stack_of(line).to_owned(),
            stored_rsp: hex_after(stored, "RSP="),
            after_rsp: hex_after(after, "RSP="),
            after_stack: stack_of(after).to_owned(),
            after_slots: find("after:  slots").to_owned(),
        });
    }
    found
}

/// `rbx=.. rbp=.. rsp=..` from a `coro-regs` line.
fn regs(line: &str) -> [u64; 3] {
    [
        hex_after(line, "rbx="),
        hex_after(line, "rbp="),
        hex_after(line, "rsp="),
    ]
}

/// What the boot tool says when a gdb `kill` ended QEMU.
const GDB_KILLED: &str =
    "boot: the gdb session ended (kill) before the kernel finished; QEMU stopped";

fn step_through_the_switches(uefi: bool) {
    // A copy of our own: the image the boot tool writes next to it is ours alone.
    let kernel = KernelCopy::new("kernel");
    let mut server = GdbServer::start(kernel.elf(), uefi);
    let output = run_gdb(
        kernel.elf(),
        server.port,
        &[
            "continue", // phase 1: switch_to_coro1
            "coro-where",
            "continue", // phase 2: switch_into, main -> coroutine1
            "coro-regs",
            "coro-switch",
            "continue", // switch_back, coroutine1 -> main
            "coro-switch",
            "coro-regs",
            "continue", // switch_into, main -> coroutine2
            "coro-switch",
            "continue", // switch_back, coroutine2 -> main
            "coro-switch",
            "kill",
        ],
    );

    // The session ended with gdb's `kill`: the boot tool says so, and does
    // not take QEMU's exit status 0 for a triple fault.
    let (status, said) = server.wait(Duration::from_secs(60));
    assert!(said.contains(GDB_KILLED), "{said}");
    assert!(!said.contains("triple fault"), "{said}");
    assert_eq!(status.code(), Some(0), "{said}");

    // Stopped in the original's first switch, on main's stack.
    assert!(output.contains("switch_to_coro1"), "{output}");
    let where_line = output
        .lines()
        .find(|l| l.starts_with("RSP="))
        .expect("coro-where output");
    assert_eq!(stack_of(where_line), "main stack", "{where_line}");

    let seen = switches(&output);
    let path: Vec<(&str, &str)> = seen
        .iter()
        .map(|s| (s.before_stack.as_str(), s.after_stack.as_str()))
        .collect();
    assert_eq!(
        path,
        [
            ("main stack", "COROUTINE1_STACK"),
            ("COROUTINE1_STACK", "main stack"),
            ("main stack", "COROUTINE2_STACK"),
            ("COROUTINE2_STACK", "main stack"),
        ],
        "{output}"
    );
    // Each switch stores RSP after pushing rbp and rbx in the slot of the side
    // that leaves: main's slot on a resume, the coroutine's on a yield.
    let from_slots = [
        "MAIN_CONTEXT=",
        "CORO1_CONTEXT=",
        "MAIN_CONTEXT=",
        "CORO2_CONTEXT=",
    ];
    for (switch, slot) in seen.iter().zip(from_slots) {
        assert_eq!(switch.stored_rsp, switch.before_rsp - 16, "{output}");
        assert_eq!(
            hex_after(&switch.after_slots, slot),
            switch.stored_rsp,
            "{slot} {output}"
        );
    }
    // A round trip gives main back its rbx and rbp, and RSP where it was
    // before the resume's `call` pushed the continue address.
    let reg_lines: Vec<&str> = output.lines().filter(|l| l.starts_with("regs ")).collect();
    assert_eq!(reg_lines.len(), 2, "{output}");
    let (before, after) = (regs(reg_lines[0]), regs(reg_lines[1]));
    assert_eq!(
        before[..2],
        after[..2],
        "rbx, rbp after the round trip: {output}"
    );
    assert_eq!(
        after[2],
        before[2] + 8,
        "RSP after the round trip: {output}"
    );
    assert_eq!(seen[1].after_rsp, before[2] + 8, "{output}");
}

#[test]
fn gdb_steps_through_the_switches_under_bios() {
    step_through_the_switches(false);
}

#[test]
fn gdb_steps_through_the_switches_under_uefi() {
    step_through_the_switches(true);
}
