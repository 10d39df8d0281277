//! The original NASM program (`original/coroutines.asm`), assembled and run
//! on the host, does what the kernel's phase 1 does: gdb single-steps it
//! (`original/trace.py`) and the switches it reports, with RSP and the three
//! slots at each, are the ones the kernel logs for phase 1 on COM1.
//!
//! Addresses in a coroutine stack compare as offsets below the stack's top;
//! addresses in main's stack as offsets from M, main's RSP at the first
//! switch (the process stack Linux gives `_start` and the kernel's main
//! stack are different stacks, used to different depths before the first
//! switch).

use crate::common;

use common::{KernelCopy, run_within_a_minute, said};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Assembles and links the original into a scratch directory; its path.
fn assemble(dir: &Path) -> PathBuf {
    let source = common::workspace_root().join("original/coroutines.asm");
    let object = dir.join("coroutines.o");
    let program = dir.join("coroutines");
    let mut nasm = Command::new("nasm");
    nasm.args(["-f", "elf64", "-g", "-F", "dwarf", "-o"])
        .arg(&object)
        .arg(&source);
    let output = run_within_a_minute(nasm, "nasm");
    assert!(output.status.success(), "nasm: {}", said(&output));
    let mut ld = Command::new("ld");
    ld.arg("-o").arg(&program).arg(&object);
    let output = run_within_a_minute(ld, "ld");
    assert!(output.status.success(), "ld: {}", said(&output));
    program
}

/// The sequence `original/trace.py` reports for the program.
fn original_sequence(program: &Path) -> Vec<String> {
    let mut gdb = Command::new("gdb");
    gdb.args(["-q", "-nx", "-batch", "-x"])
        .arg(common::workspace_root().join("original/trace.py"))
        .arg(program);
    let output = run_within_a_minute(gdb, "gdb");
    let text = said(&output);
    assert!(output.status.success(), "gdb: {text}");
    let lines: Vec<String> = text
        .lines()
        .skip_while(|line| !line.starts_with("sequence"))
        .skip(1)
        .take_while(|line| !line.is_empty())
        .map(|line| line.trim().to_owned())
        .collect();
    assert!(!lines.is_empty(), "no sequence in gdb's output: {text}");
    lines
}

/// `0x...` as a number.
fn hex(text: &str) -> u64 {
    u64::from_str_radix(text.trim_start_matches("0x"), 16)
        .unwrap_or_else(|_| panic!("not a hex number: {text:?}"))
}

/// `value` relative to `origin`, as the trace writes it: `M+0x0`, `M-0x8`.
fn relative(value: u64, origin: u64) -> String {
    if value >= origin {
        format!("M+{:#x}", value - origin)
    } else {
        format!("M-{:#x}", origin - value)
    }
}

/// A kernel `slots` line's text (`main_context=0x... (main_stack top-0x138)
/// coro1_context=...`) as the trace writes slots: empty as `0 (empty)`, in
/// main's stack relative to `origin`, otherwise the kernel's own `stack
/// top-0x..`.
fn slots(text: &str, origin: Option<u64>) -> String {
    let mut out = Vec::new();
    let mut words = text.split(' ');
    while let Some(assignment) = words.next() {
        let (name, value) = assignment.split_once('=').expect("name=value");
        // The description in brackets: one or two words.
        let mut description = words.next().expect("a description").to_owned();
        while !description.ends_with(')') {
            description = description + " " + words.next().expect("the description's end");
        }
        let description = &description[1..description.len() - 1];
        let shown = match (description, origin) {
            ("empty", _) => "0 (empty)".to_owned(),
            (d, Some(origin)) if d.starts_with("main_stack ") => relative(hex(value), origin),
            (d, _) => d.to_owned(),
        };
        out.push(format!("{name}={shown}"));
    }
    out.join(" ")
}

/// The kernel's phase 1 in the trace's terms, read from its COM1 lines.
fn kernel_sequence(transcript: &str) -> Vec<String> {
    let phase1: Vec<(&str, &str)> = transcript
        .lines()
        .skip_while(|line| !line.contains("== phase 1"))
        .skip(1)
        .take_while(|line| !line.contains("== phase 2"))
        .map(|line| {
            let line = line.split_once("] ").map_or(line, |(_, rest)| rest);
            let (who, what) = line.split_once(" | ").expect("`who | what`");
            (who.trim(), what)
        })
        .collect();
    let mut sequence = Vec::new();
    let mut origin = None;
    // The switch in progress: its number and coroutine, and main's slots
    // line, which the kernel logs before the `back from` line.
    let mut current = (String::new(), String::new());
    let mut main_slots = String::new();
    for (who, what) in phase1 {
        if let Some(rest) = what.strip_prefix("slots ") {
            match who {
                "main" if sequence.is_empty() => {
                    sequence.push(format!("init: {}", slots(rest, origin)))
                }
                "main" => main_slots = slots(rest, origin),
                _ => sequence.push(format!("{} on {who}: {}", current.0, slots(rest, origin))),
            }
        } else if let Some((number, rest)) = what.strip_prefix('#').and_then(|w| w.split_once(' '))
        {
            let rsp = hex(rest
                .split("RSP=")
                .nth(1)
                .expect("RSP=")
                .split(' ')
                .next()
                .expect("an address"));
            if let Some(k) = rest.strip_prefix("switch_to_coro") {
                let origin = *origin.get_or_insert(rsp);
                current = (format!("#{number}"), format!("coroutine{}", &k[..1]));
                sequence.push(format!(
                    "#{number} call main -> {}: main's RSP {}",
                    current.1,
                    relative(rsp, origin)
                ));
            } else if let Some(back) = rest.strip_prefix("back from ") {
                let rax = back.split("rax=").nth(1).expect("rax=").split(',').next();
                let verdict = back.rsplit(", ").next().expect("restored or CHANGED");
                sequence.push(format!(
                    "#{number} return {} -> main: rax={}, main's RSP {}, {verdict}",
                    current.1,
                    rax.expect("rax's value"),
                    relative(rsp, origin.expect("a switch before"))
                ));
                sequence.push(format!("#{number} on main: {main_slots}"));
            }
        }
    }
    sequence
}

#[test]
fn the_original_assembles_runs_and_exits_0() {
    let dir = tempfile::tempdir().expect("scratch directory");
    let program = assemble(dir.path());
    let output = run_within_a_minute(Command::new(&program), "the original program");
    assert_eq!(output.status.code(), Some(0), "{}", said(&output));
    assert_eq!(said(&output), "", "the original prints nothing");
}

#[test]
fn the_original_switches_as_the_kernels_phase_1_does() {
    let dir = tempfile::tempdir().expect("scratch directory");
    let kernel = KernelCopy::new("kernel");
    // gdb single-steps the original, then QEMU boots the kernel.
    let _sharing = common::sharing_the_machine();
    let original = original_sequence(&assemble(dir.path()));
    let mut boot = Command::new(env!("CARGO_BIN_EXE_boot"));
    boot.arg(kernel.elf());
    let output = run_within_a_minute(boot, "boot");
    assert!(output.status.success(), "{}", said(&output));
    let kernel = kernel_sequence(&String::from_utf8_lossy(&output.stdout));
    // Four switches, each with the lines its two sides log.
    assert_eq!(kernel.len(), 1 + 4 * 2, "{kernel:#?}");
    assert_eq!(
        original,
        kernel,
        "the original (left) and the kernel's phase 1 (right) differ:\n{}",
        side_by_side(&original, &kernel)
    );
}

/// Two sequences, line by line, a `!` where they differ.
fn side_by_side(left: &[String], right: &[String]) -> String {
    let rows = left.len().max(right.len());
    (0..rows)
        .map(|i| {
            let (l, r) = (left.get(i), right.get(i));
            let mark = if l == r { ' ' } else { '!' };
            format!(
                "{mark} {}\n{mark} {}",
                l.map_or("", String::as_str),
                r.map_or("", String::as_str)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_kernel_sequence_reads_what_the_kernel_logs() {
    // A transcript whose second call leaves main 0x10 deeper: the reader
    // reports it, so a kernel that did differ would not compare equal.
    let transcript = "\
[INFO ] == phase 1: as in the document (call and return, no yield) ==
[INFO ] main       | init_coroutines
[INFO ] main       | slots main_context=0x0000000000000000 (empty) coro1_context=0xffffffff80018000 (coroutine1_stack top-0x0) coro2_context=0xffffffff8001a000 (coroutine2_stack top-0x0)
[INFO ] main       | #1 switch_to_coro1: save RSP in main_context, load coroutine1's slot, call, RSP=0x0000010000010ed0 (main_stack top-0x130)
[INFO ] coroutine1 | slots main_context=0x0000010000010ec8 (main_stack top-0x138) coro1_context=0xffffffff80018000 (coroutine1_stack top-0x0) coro2_context=0xffffffff8001a000 (coroutine2_stack top-0x0)
[INFO ] main       | slots main_context=0x0000010000010ec8 (main_stack top-0x138) coro1_context=0xffffffff80018000 (coroutine1_stack top-0x0) coro2_context=0xffffffff8001a000 (coroutine2_stack top-0x0)
[INFO ] main       | #2 back from coroutine1: rax=1, RSP=0x0000010000010ed0 (main_stack top-0x130), restored
[INFO ] main       | #3 switch_to_coro2: save RSP in main_context, load coroutine2's slot, call, RSP=0x0000010000010ec0 (main_stack top-0x140)
[INFO ] == phase 2: with yield ==
";
    assert_eq!(
        kernel_sequence(transcript),
        [
            "init: main_context=0 (empty) coro1_context=coroutine1_stack top-0x0 coro2_context=coroutine2_stack top-0x0",
            "#1 call main -> coroutine1: main's RSP M+0x0",
            "#1 on coroutine1: main_context=M-0x8 coro1_context=coroutine1_stack top-0x0 coro2_context=coroutine2_stack top-0x0",
            "#2 return coroutine1 -> main: rax=1, main's RSP M+0x0, restored",
            "#2 on main: main_context=M-0x8 coro1_context=coroutine1_stack top-0x0 coro2_context=coroutine2_stack top-0x0",
            "#3 call main -> coroutine2: main's RSP M-0x10",
        ]
    );
}
