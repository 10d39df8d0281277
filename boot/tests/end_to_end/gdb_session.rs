//! A scripted gdb session against a real paused QEMU: `boot --gdb-server`
//! starts it, `gdb -batch` attaches with gdb/kernel.gdb, breaks on the
//! switches, steps through them with `coro-switch`, and this test checks what
//! gdb saw: RSP moving from main's stack into coroutine1_stack, back, into
//! coroutine2_stack and back; each switch's saved slot equal to RSP after its
//! pushes; rbx, rbp and RSP the same after a round trip; and the `kill` that
//! ends the session reported as such by the boot tool. A second session
//! checks what gdb shows of the coroutines: the listing's labels, backtraces
//! across the switch, `coro-list` and `coro-bt` (with a user's own `rsp`
//! defined in gdb's Python, which the helpers must not collide with).
//!
//! QEMU never outlives a test: the boot tool is killed when the test ends
//! (pass or fail), and the boot tool's QEMU dies with it (PR_SET_PDEATHSIG).

use crate::common;

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
    let _sharing = common::sharing_the_machine();
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
    assert_eq!(
        status.code(),
        Some(boot::error::EXIT_GDB_ENDED.into()),
        "{said}"
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
    let kernel = KernelCopy::new("kernel");
    let _sharing = common::sharing_the_machine();
    let server = GdbServer::start(kernel.elf(), uefi);
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
            // A user's own names in gdb's one shared `__main__`: the helpers
            // once lived there, and `rsp = 1` broke coro-bt ("'int' object
            // is not callable"). coro-list and coro-bt below run with them.
            "python rsp, state, locate, routines = 1, 2, 3, 4",
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
            "echo @@user-names\\n",
            "python print(rsp, state, locate, routines)",
            "echo @@end\\n",
            "kill",
        ]
        .map(str::to_owned),
    );
    let commands: Vec<&str> = commands.iter().map(String::as_str).collect();
    let output = run_gdb(kernel.elf(), server.port, &commands);
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
        "kernel::roster::switches::Coroutines::resume",
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

    // coro-bt 1 from main: coroutine1's frames as if it ran, down to its
    // trampoline (below it, its last resumer's frames are stale while main
    // runs, and coro-bt says so), then every register and the selected
    // frame as they were.
    let coro_bt = section(&all, "coro-bt");
    for frame in [
        "kernel::rounds",
        "coroutine_main",
        "coroutine_trampoline",
        "(below coroutine_trampoline",
    ] {
        assert!(
            coro_bt.contains(frame),
            "no {frame:?} in coro-bt 1:\n{coro_bt}"
        );
    }
    for bad in [
        "??",
        "cdcdcdcd",
        "Backtrace stopped",
        "Cannot access memory",
        "kernel_main",
    ] {
        assert!(!coro_bt.contains(bad), "{bad:?} in coro-bt 1:\n{coro_bt}");
    }
    assert!(section(&all, "frame-after").starts_with("#1 "), "{output}");
    let regs_line = |name: &str| section(&all, name).lines().next().unwrap_or("").to_owned();
    assert_eq!(
        regs_line("regs-before"),
        regs_line("regs-after"),
        "{output}"
    );
    assert!(regs_line("regs-before").starts_with("regs "), "{output}");
    // The user's names are theirs still.
    assert_eq!(section(&all, "user-names"), "1 2 3 4\n", "{output}");
}

#[test]
fn gdb_sees_the_coroutines_under_bios() {
    gdb_sees_the_coroutines(false);
}

#[test]
fn gdb_sees_the_coroutines_under_uefi() {
    gdb_sees_the_coroutines(true);
}

/// The gdb commands read the coroutine set from the kernel's roster, so
/// they work unchanged on `round_robin`'s eight coroutines (which has no
/// `switch_to_coro1` for `coro-break`).
#[test]
fn gdb_lists_the_round_robin_kernels_eight_coroutines() {
    let kernel = KernelCopy::new("round_robin");
    let _sharing = common::sharing_the_machine();
    let server = GdbServer::start(kernel.elf(), false);
    // Resume 1, yield 1, resume 2, yield 2, resume 3: stopped entering it.
    let output = run_gdb(
        kernel.elf(),
        server.port,
        &[
            "continue",
            "continue",
            "continue",
            "continue",
            "continue",
            "echo @@list\\n",
            "coro-list",
            "echo @@prefix-list\\n",
            "coro list",
            "echo @@end\\n",
            "kill",
        ],
    );
    let all = sections(&output);
    // `coro list` and its older name `coro-list` are one command.
    assert_eq!(
        section(&all, "prefix-list"),
        section(&all, "list"),
        "{output}"
    );
    let states: Vec<String> = section(&all, "list")
        .lines()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .collect();
    let mut expected = vec![
        "0 main running".to_owned(),
        "1 coroutine1 suspended".to_owned(),
        "2 coroutine2 suspended".to_owned(),
    ];
    expected.extend((3..=8).map(|i| format!("{i} coroutine{i} not")));
    assert_eq!(states, expected, "{output}");
}
