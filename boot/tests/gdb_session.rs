//! A scripted gdb session against a real paused QEMU: `boot --gdb-server`
//! starts it, `gdb -batch` attaches with gdb/kernel.gdb, breaks on the
//! switches, steps through them with `coro-switch`, and this test checks what
//! gdb saw: RSP moving from main's stack into coroutine1_stack, back, into
//! coroutine2_stack and back; each switch's saved slot equal to RSP after its
//! pushes; rbx, rbp and RSP the same after a round trip.
//!
//! QEMU never outlives a test: the boot tool is killed when the test ends
//! (pass or fail), and the boot tool's QEMU dies with it (PR_SET_PDEATHSIG).

mod common;

use common::{hex_after, workspace_root};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Builds the kernel and copies it to a directory of this test's own, so
/// that the disk image the boot tool writes next to it is ours alone.
fn private_kernel(tag: &str) -> PathBuf {
    let dir = workspace_root()
        .join("target/test-kernels")
        .join(format!("gdb-{tag}"));
    std::fs::create_dir_all(&dir).expect("create test kernel dir");
    let elf = dir.join("kernel");
    std::fs::copy(common::kernel("kernel"), &elf).expect("copy kernel");
    elf
}

/// Kills the child when dropped, so a failing assertion leaves nothing
/// running.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `boot --gdb-server` and returns it with the gdbstub's port, read
/// from the attach command it prints once QEMU listens.
fn start_gdb_server(elf: &Path, uefi: bool) -> (KillOnDrop, u16) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_boot"));
    command.arg(elf).arg("--gdb-server");
    if uefi {
        command.arg("--uefi");
    }
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start boot --gdb-server");
    let stderr = child.stderr.take().expect("stderr");
    let server = KillOnDrop(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| {
                panic!(
                    "no attach command from boot --gdb-server; it said:\n{}",
                    seen.join("\n")
                )
            });
        if let Some(at) = line.find("127.0.0.1:") {
            let digits: String = line[at + "127.0.0.1:".len()..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            return (server, digits.parse().expect("port number"));
        }
        seen.push(line);
    }
}

/// Runs gdb in batch mode with gdb/kernel.gdb and `commands`; returns what
/// it printed. Killed after two minutes.
fn run_gdb(elf: &Path, port: u16, commands: &[&str]) -> String {
    let script = workspace_root().join("gdb/kernel.gdb");
    let mut command = Command::new("gdb");
    command.args(["-q", "-nx", "-batch"]).arg(elf);
    command.args(["-ex", &format!("target remote 127.0.0.1:{port}")]);
    command.arg("-x").arg(&script);
    for c in commands {
        command.args(["-ex", c]);
    }
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start gdb (is it installed? make setup installs it)");
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let output = match rx.recv_timeout(Duration::from_secs(120)) {
        Ok(output) => output.expect("gdb output"),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("gdb did not finish within two minutes");
        }
    };
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "gdb failed: {text}");
    text
}

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

fn step_through_the_switches(uefi: bool) {
    let elf = private_kernel(if uefi { "uefi" } else { "bios" });
    let (_server, port) = start_gdb_server(&elf, uefi);
    let output = run_gdb(
        &elf,
        port,
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

    // Stopped in the original's first switch, on main's stack.
    assert!(output.contains("switch_to_coro1"), "{output}");
    let where_line = output
        .lines()
        .find(|l| l.starts_with("RSP="))
        .expect("coro-where output");
    assert_eq!(stack_of(where_line), "main_stack", "{where_line}");

    let seen = switches(&output);
    let path: Vec<(&str, &str)> = seen
        .iter()
        .map(|s| (s.before_stack.as_str(), s.after_stack.as_str()))
        .collect();
    assert_eq!(
        path,
        [
            ("main_stack", "coroutine1_stack"),
            ("coroutine1_stack", "main_stack"),
            ("main_stack", "coroutine2_stack"),
            ("coroutine2_stack", "main_stack"),
        ],
        "{output}"
    );
    // Each switch stores RSP after pushing rbp and rbx in the slot of the side
    // that leaves: main's slot on a resume, the coroutine's on a yield.
    let from_slots = [
        "main_context=",
        "coro1_context=",
        "main_context=",
        "coro2_context=",
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

/// The output of each `echo @@NAME\n` section: the lines after the marker
/// up to the next marker.
fn sections(output: &str) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = Vec::new();
    for line in output.lines() {
        if let Some(name) = line.strip_prefix("@@") {
            found.push((name.to_owned(), String::new()));
        } else if let Some((_, text)) = found.last_mut() {
            text.push_str(line);
            text.push('\n');
        }
    }
    found
}

fn section<'a>(all: &'a [(String, String)], name: &str) -> &'a str {
    &all.iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no section {name}: {all:#?}"))
        .1
}

/// A backtrace that reaches `kernel_main` and has no unknown frame, no frame
/// read from paint or garbage, and no unwinding error.
fn assert_whole_backtrace(name: &str, bt: &str) {
    assert!(
        bt.contains("kernel::kernel_main"),
        "{name}: does not reach kernel_main:\n{bt}"
    );
    for bad in [
        "??",
        "cdcdcdcd",
        "Backtrace stopped",
        "Cannot access memory",
    ] {
        assert!(!bt.contains(bad), "{name}: {bad:?} in the backtrace:\n{bt}");
    }
}

/// gdb sees the coroutines: the listing's labels, backtraces that cross the
/// switch from any instruction of it, `coro-list` and `coro-bt`.
fn gdb_sees_the_coroutines(uefi: bool) {
    let elf = private_kernel(if uefi {
        "uefi-coroutines"
    } else {
        "bios-coroutines"
    });
    let (_server, port) = start_gdb_server(&elf, uefi);
    // switch_back has 7 instructions; `bt` after each `si`, the last of
    // which (`ret`) lands back in main.
    let mut stepping = Vec::new();
    for i in 1..=7 {
        stepping.push("si".to_owned());
        stepping.push(format!("echo @@bt-si{i}\\n"));
        stepping.push("bt".to_owned());
    }
    let mut commands: Vec<String> = [
        "continue", // switch_to_coro1
        "echo @@main-context\\n",
        "x/gx &main_context",
        "continue", // switch_into: main resumes coroutine1
        "continue", // switch_back: coroutine1 yields
        "echo @@bt-yield\\n",
        "bt",
        "echo @@symbol\\n",
        "info symbol $rsp",
    ]
    .map(str::to_owned)
    .to_vec();
    commands.extend(stepping);
    commands.extend(
        [
            "echo @@list\\n",
            "coro-list",
            "echo @@regs-before\\n",
            "coro-regs",
            "frame 1",
            "echo @@coro-bt\\n",
            "coro-bt 1",
            "echo @@frame-after\\n",
            "frame",
            "frame 0",
            "echo @@regs-after\\n",
            "coro-regs",
            "echo @@end\\n",
            "kill",
        ]
        .map(str::to_owned),
    );
    let commands: Vec<&str> = commands.iter().map(String::as_str).collect();
    let output = run_gdb(&elf, port, &commands);
    let all = sections(&output);

    // The listing's labels: main_context is readable by name, and RSP
    // inside coroutine1 is "coroutine1_stack + N".
    assert!(
        section(&all, "main-context").contains("<main_context>:"),
        "{output}"
    );
    assert!(
        section(&all, "symbol").starts_with("coroutine1_stack + "),
        "{output}"
    );

    // From coroutine1's yield and from every instruction of the switch
    // back to main: the whole chain down to kernel_main.
    let at_yield = section(&all, "bt-yield");
    assert_whole_backtrace("bt-yield", at_yield);
    for frame in [
        "kernel::rounds",
        "coroutine_trampoline",
        "kernel::roster::Coroutines::resume",
    ] {
        assert!(
            at_yield.contains(frame),
            "no {frame} in the yield's backtrace:\n{at_yield}"
        );
    }
    for i in 1..=7 {
        assert_whole_backtrace(&format!("bt-si{i}"), section(&all, &format!("bt-si{i}")));
    }

    // coro-list: main runs, coroutine1 waits in its yield, coroutine2 has
    // not run yet.
    let list: Vec<Vec<&str>> = section(&all, "list")
        .lines()
        .map(|l| l.split_whitespace().take(3).collect())
        .collect();
    assert_eq!(
        list,
        [
            vec!["0", "main", "running"],
            vec!["1", "coroutine1", "suspended"],
            vec!["2", "coroutine2", "not"],
        ],
        "{output}"
    );

    // coro-bt 1 from main: coroutine1's frames as if it ran, then every
    // register and the selected frame as they were.
    let coro_bt = section(&all, "coro-bt");
    assert_whole_backtrace("coro-bt 1", coro_bt);
    assert!(coro_bt.contains("kernel::rounds"), "{coro_bt}");
    assert!(section(&all, "frame-after").starts_with("#1 "), "{output}");
    let regs_line = |name: &str| section(&all, name).lines().next().unwrap_or("").to_owned();
    assert_eq!(
        regs_line("regs-before"),
        regs_line("regs-after"),
        "{output}"
    );
    assert!(regs_line("regs-before").starts_with("regs "), "{output}");
}

#[test]
fn gdb_sees_the_coroutines_under_bios() {
    gdb_sees_the_coroutines(false);
}

#[test]
fn gdb_sees_the_coroutines_under_uefi() {
    gdb_sees_the_coroutines(true);
}
