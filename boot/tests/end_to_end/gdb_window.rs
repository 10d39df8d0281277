//! gdb's `coro` TUI window, seen as a learner sees it: gdb runs in a tmux
//! pane on a replay (scripts/tui_capture.py drives it and captures the pane
//! after each command), and the RSP mark moves from main_stack to
//! coroutine1_stack across `mov rsp, [coro1_context]`, back with
//! `reverse-stepi`; after `coro goto 6` coroutine1 is suspended with its
//! slot in its own stack. `coro show` prints the same view in a batch
//! session. Every command of the package, run before the kernel's entry
//! (the reset vector, after `reverse-continue`), in the kernel, and after
//! the end of the run, answers in one line: no memory error, no traceback.
//! Stepping into the trampoline, forwards or backwards, the stop line and
//! `frame` name it (not `<signal handler called>`) and `bt` still reaches
//! the kernel's entry; and `coro list` at the end agrees with the
//! high-water marks the kernel's summary printed.
//!
//! The replays are of the main kernel's BIOS recording that record_replay's
//! tests replay too (`common::recording::bios`).

use crate::common;

use common::recording::bios;
use common::{GdbServer, KernelCopy, assert_no_qemu_left, run_gdb, said, workspace_root};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A replay of the recording under `--gdb-server` and the recorded ELF,
/// with the machine as `take` takes it ([`common::sharing_the_machine`] or
/// [`common::the_machine_alone`]), taken once the recording is made.
fn replay<G>(take: fn() -> G) -> (G, GdbServer, PathBuf) {
    let dir = &bios().dir;
    let machine = take();
    let server = GdbServer::start_with(&["--replay", dir.to_str().expect("UTF-8 path")]);
    (machine, server, dir.join("kernel.elf"))
}

/// The pane after each of `steps`, captured by scripts/tui_capture.py at
/// `width` columns; checks that its tmux server is gone afterwards.
fn captures(port: u16, elf: &Path, steps: &[&str], width: u32) -> Vec<String> {
    let out = tempfile::NamedTempFile::new_in(env!("CARGO_TARGET_TMPDIR")).expect("a file");
    // Its own tmux server: other tests of this process may capture too.
    static CAPTURES: AtomicUsize = AtomicUsize::new(0);
    let n = CAPTURES.fetch_add(1, Ordering::Relaxed);
    let socket = format!("coro-test-{}-{n}", std::process::id());
    let mut command = Command::new("python3");
    command
        .arg(workspace_root().join("scripts/tui_capture.py"))
        .args(["--port", &port.to_string(), "--socket", &socket])
        .arg("--elf")
        .arg(elf)
        .args(["--width", &width.to_string(), "--height", "50", "--out"])
        .arg(out.path());
    for step in steps {
        command.args(["--step", step]);
    }
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start scripts/tui_capture.py");
    let output = common::output_within(child, Duration::from_secs(600), "tui_capture.py");
    let tmux_left = Command::new("tmux")
        .args(["-L", &socket, "list-sessions"])
        .output()
        .expect("run tmux");
    assert!(!tmux_left.status.success(), "a tmux server was left behind");
    assert!(output.status.success(), "{}", said(&output));
    let text = std::fs::read_to_string(out.path()).expect("the captures");
    // Each capture under its heading, `@@ N after `COMMAND` (WxH)`.
    let found: Vec<String> = text
        .split("\n@@ ")
        .map(|c| c.strip_prefix("@@ ").unwrap_or(c).to_owned())
        .collect();
    assert_eq!(found.len(), steps.len(), "{text}");
    found
}

/// The coro window's lines of a capture, without the box around them: the
/// box under the disassembly's (`layout coro`).
fn window(capture: &str) -> Vec<String> {
    capture
        .lines()
        .skip_while(|l| !l.starts_with('└'))
        .skip(1)
        .take_while(|l| !l.starts_with('└'))
        .filter_map(|l| l.strip_prefix('│')?.strip_suffix('│'))
        .map(str::to_owned)
        .collect()
}

/// The stack (third column of its routine's heading) whose words hold the
/// `RSP>` mark, as the window draws it.
fn stack_with_the_rsp_mark(capture: &str) -> String {
    let mut stack = None;
    for line in window(capture) {
        let words: Vec<&str> = line.trim_start_matches('*').split_whitespace().collect();
        if words.len() >= 3 && words[2].ends_with("_stack") {
            stack = Some(words[2].to_owned());
        }
        if words.first() == Some(&"RSP>") {
            return stack.unwrap_or_else(|| panic!("RSP> before any stack:\n{capture}"));
        }
    }
    panic!("no RSP> mark:\n{capture}")
}

/// The heading and slot lines of `routine` in the window.
fn routine_lines(capture: &str, routine: &str) -> (String, String) {
    let lines = window(capture);
    let at = lines
        .iter()
        .position(|l| {
            l.trim_start_matches('*')
                .starts_with(&format!("{routine} "))
        })
        .unwrap_or_else(|| panic!("no {routine}:\n{capture}"));
    (lines[at].clone(), lines[at + 1].clone())
}

#[test]
fn the_rsp_mark_moves_across_the_switch_and_back() {
    // scripts/tui_capture.py gives the TUI half a second to redraw after
    // each command: no other test's guest may slow it down.
    let (_alone, mut server, elf) = replay(common::the_machine_alone);
    let steps = [
        "layout coro",
        // coro break's hardware breakpoint on switch_to_coro1.
        "continue",
        // mov [main_context], rsp
        "stepi",
        // mov rsp, [coro1_context]
        "stepi",
        "reverse-stepi",
        "coro goto 6",
    ];
    let shots = captures(server.port, &elf, &steps, 80);
    server.wait(Duration::from_secs(60));
    for shot in &shots {
        assert!(!shot.contains("Traceback"), "{shot}");
        assert!(
            window(shot).iter().all(|l| l.chars().count() <= 78),
            "{shot}"
        );
    }
    let [_, entry, before, after, reversed, goto] = &shots[..] else {
        unreachable!()
    };
    assert!(entry.contains("<switch_to_coro1>"), "{entry}");
    assert_eq!(stack_with_the_rsp_mark(before), "main_stack", "{before}");
    assert_eq!(
        stack_with_the_rsp_mark(after),
        "coroutine1_stack",
        "{after}"
    );
    // What changed is marked: RSP moved stacks, main is suspended.
    let title = &window(after)[0];
    assert!(
        title.starts_with("*RSP=") && title.contains("(was in main_stack)"),
        "{after}"
    );
    assert!(
        routine_lines(after, "main").0.starts_with("*main "),
        "{after}"
    );
    assert_eq!(
        stack_with_the_rsp_mark(reversed),
        "main_stack",
        "{reversed}"
    );
    let (heading, slot) = routine_lines(goto, "coroutine1");
    assert!(heading.contains("suspended"), "{goto}");
    assert!(
        slot.contains("coro1_context=0x") && slot.contains("coroutine1_stack top-0x"),
        "{goto}"
    );
}

#[test]
fn coro_show_prints_the_window_in_a_batch_session() {
    let kernel = KernelCopy::new("kernel");
    let _sharing = common::sharing_the_machine();
    let mut server = GdbServer::start(kernel.elf(), false);
    let text = run_gdb(
        kernel.elf(),
        server.port,
        &["continue", "stepi 2", "echo @show\\n", "coro show", "kill"],
    );
    server.wait(Duration::from_secs(60));
    assert_no_qemu_left(&kernel.image(false));
    let shown = &text[text.find("@show").expect("coro show ran")..];
    let rsp = shown
        .lines()
        .find(|l| l.contains("RSP>"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(rsp.contains("top-0x0"), "{shown}");
    assert!(
        shown.contains("*coroutine1  running     coroutine1_stack"),
        "{shown}"
    );
    assert!(shown.contains("returns to kernel::kernel_main+"), "{shown}");
}

/// The package's commands, each run in every place below: one line back,
/// never a Python traceback or a bare memory error.
const COMMANDS: [&str; 9] = [
    "coro list",
    "coro bt 1",
    "coro slots",
    "coro where",
    "coro regs",
    "coro switch",
    "coro show",
    "coro snapshot",
    "coro break",
];

/// `COMMANDS`, each after an `echo @PLACE COMMAND` line.
fn every_command(place: &str) -> Vec<String> {
    COMMANDS
        .iter()
        .flat_map(|c| [format!("echo @{place} {c}\\n"), (*c).to_owned()])
        .collect()
}

/// Runs gdb in batch mode with gdb/kernel.gdb and `commands`, as
/// `common::run_gdb` does, but with stderr and stdout in one file, in the
/// order gdb wrote them (it flushes stdout before each error message): an
/// error stays next to the command that printed it.
fn gdb_in_order(elf: &Path, port: u16, commands: &[&str]) -> String {
    let log = tempfile::NamedTempFile::new_in(env!("CARGO_TARGET_TMPDIR")).expect("a file");
    let file = log.reopen().expect("the log");
    let mut command = Command::new("gdb");
    command.args(["-q", "-nx", "-batch"]).arg(elf);
    command.args(["-ex", &format!("target remote 127.0.0.1:{port}")]);
    command
        .arg("-x")
        .arg(workspace_root().join("gdb/kernel.gdb"));
    for c in commands {
        command.args(["-ex", c]);
    }
    let child = command
        .stdin(Stdio::null())
        .stdout(file.try_clone().expect("the log again"))
        .stderr(file)
        .spawn()
        .expect("start gdb");
    common::output_within(child, Duration::from_secs(300), "gdb");
    std::fs::read_to_string(log.path()).expect("gdb's output")
}

/// What `command` printed at `place`, up to the next marker.
fn answer<'a>(text: &'a str, place: &str, command: &str) -> &'a str {
    let marker = format!("@{place} {command}\n");
    let start = text
        .find(&marker)
        .unwrap_or_else(|| panic!("{marker} not run:\n{text}"))
        + marker.len();
    let end = text[start..]
        .find("\n@")
        .map_or(text.len(), |e| start + e + 1);
    &text[start..end]
}

#[test]
fn every_command_says_where_the_run_is_before_the_kernel_and_after_the_end() {
    let (_sharing, mut server, elf) = replay(common::sharing_the_machine);
    let mut commands: Vec<String> = vec!["delete".into(), "reverse-continue".into()];
    commands.extend(every_command("reset"));
    commands.extend(["echo @reset goto\\n".into(), "coro goto 6".into()]);
    commands.extend(every_command("kernel"));
    commands.extend(["delete".into(), "continue".into()]);
    commands.extend(every_command("ended"));
    commands.extend(["echo @ended goto\\n".into(), "coro goto 6".into()]);
    commands.push("echo @end\\n".into());
    let commands: Vec<&str> = commands.iter().map(String::as_str).collect();
    let text = gdb_in_order(&elf, server.port, &commands);
    server.wait(Duration::from_secs(60));
    eprintln!("{text}");
    assert!(!text.contains("Traceback"), "{text}");
    assert!(!text.contains("Python Exception"), "{text}");
    for place in ["reset", "kernel", "ended"] {
        for command in COMMANDS {
            let said = answer(&text, place, command);
            assert!(
                !said.starts_with("Cannot access memory"),
                "{place} {command}: {said}"
            );
        }
    }
    let not_started = "the kernel has not started at this point of the replay";
    for command in [
        "coro list",
        "coro bt 1",
        "coro slots",
        "coro where",
        "coro show",
    ] {
        let said = answer(&text, "reset", command);
        assert!(said.contains(not_started), "{command}: {said}");
        assert!(
            said.contains("`coro goto N` or `continue` to `_start`"),
            "{said}"
        );
        assert_eq!(said.trim_end().lines().count(), 1, "{command}: {said}");
    }
    assert!(
        answer(&text, "reset", "goto").contains("switch #6 (yield): coroutine1 -> main"),
        "coro goto from the reset vector:\n{text}"
    );
    assert!(
        answer(&text, "kernel", "coro list").contains("1 coroutine1 suspended"),
        "{text}"
    );
    for command in COMMANDS.iter().filter(|c| **c != "coro break") {
        let said = answer(&text, "ended", command);
        assert!(
            said.contains("QEMU has exited (the run has ended)"),
            "{command}: {said}"
        );
    }
    assert!(
        answer(&text, "ended", "goto").contains("QEMU has exited"),
        "{text}"
    );
}

#[test]
fn coro_list_at_the_end_agrees_with_the_kernels_high_water_marks() {
    let events = &bios().events;
    let (_sharing, mut server, elf) = replay(common::sharing_the_machine);
    let text = gdb_in_order(
        &elf,
        server.port,
        &[
            "delete",
            "break kernel::exit::exit_qemu",
            "continue",
            "echo @list\\n",
            "coro list",
            "kill",
        ],
    );
    server.wait(Duration::from_secs(60));
    let listed = &text[text.find("@list").unwrap_or_else(|| panic!("{text}"))..];
    // `high_water id=1 bytes=2000 size=4096`: what the kernel's summary printed.
    let mut marks = 0;
    for line in events.lines().filter(|l| l.starts_with("high_water ")) {
        let id = common::dec_after(line, "id=");
        let bytes = common::dec_after(line, "bytes=");
        let listed_line = listed
            .lines()
            .find(|l| l.starts_with(&format!("{id} ")))
            .unwrap_or_else(|| panic!("no routine {id}:\n{listed}"));
        assert!(
            listed_line.contains(&format!("stack used {bytes} of 4096 bytes"))
                || listed_line.contains(&format!(
                    "own high-water mark, {bytes} bytes, as the summary reported"
                )),
            "the kernel reported {bytes} bytes for routine {id}:\n{listed}"
        );
        marks += 1;
    }
    assert_eq!(marks, 2, "{events}");
}

#[test]
fn the_trampolines_frame_is_named_in_stop_lines_and_frame_both_ways() {
    let (_sharing, mut server, elf) = replay(common::sharing_the_machine);
    let text = gdb_in_order(
        &elf,
        server.port,
        &[
            // coro break's breakpoints: switch_to_coro1, then switch_into
            // for the first resume, into a fresh stack.
            "continue",
            // mov [main_context], rsp; mov rsp, [coro1_context]: the
            // original's switch, on coroutine1's stack.
            "stepi 2",
            "echo @phase-one\\n",
            "frame",
            "bt",
            "continue",
            // push rbp, push rbx, mov rcx, [rsi], mov [rdi], rsp, mov rsp,
            // rcx, pop rbx, pop rbp, pop rcx, jmp rcx: into the trampoline.
            "stepi 9",
            "echo @frame\\n",
            "frame",
            "echo @bt\\n",
            "bt",
            "echo @stepi\\n",
            "stepi",
            "bt",
            "echo @call\\n",
            "stepi",
            "bt",
            // Into coroutine_main, and back into the trampoline.
            "stepi",
            "echo @reverse-into\\n",
            "reverse-stepi",
            "echo @back\\n",
            "reverse-stepi 3",
            "echo @again\\n",
            "stepi",
            "echo @end\\n",
            "kill",
        ],
    );
    server.wait(Duration::from_secs(60));
    let from = |marker: &str| {
        let start = text
            .find(marker)
            .unwrap_or_else(|| panic!("no {marker}:\n{text}"));
        let end = text[start + 1..]
            .find("\n@")
            .map_or(text.len(), |e| start + 1 + e);
        &text[start..end]
    };
    assert!(!text.contains("<signal handler called>"), "{text}");
    let phase_one = from("@phase-one");
    assert!(
        phase_one.contains("#0  0x") && phase_one.contains(" in switch_to_coro1 ()"),
        "{phase_one}"
    );
    assert!(
        phase_one.contains("#1  0x") && phase_one.contains(" in kernel::kernel_main "),
        "{phase_one}"
    );
    for marker in ["@frame", "@stepi", "@reverse-into", "@again"] {
        assert!(
            from(marker).contains("in coroutine_trampoline ()"),
            "{marker}:\n{text}"
        );
    }
    // At each of its instructions the backtrace still crosses from the
    // trampoline to its resumer, down to the kernel's entry.
    for marker in ["@bt", "@stepi", "@call"] {
        let bt = from(marker);
        assert!(
            bt.contains("#0  0x") && bt.contains(" in coroutine_trampoline ()"),
            "{bt}"
        );
        assert!(bt.contains("Coroutines::resume"), "{bt}");
        assert!(bt.contains("kernel_main"), "{bt}");
        assert!(!bt.contains("Backtrace stopped"), "{bt}");
    }
    assert!(from("@back").contains("switch_into"), "{text}");
}
