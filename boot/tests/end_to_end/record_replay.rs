//! Record and replay (`--record DIR`, `--replay DIR`): a replay prints the
//! same COM1 and COM2 and ends with the same status as its recording (BIOS,
//! UEFI, a fault kernel); gdb on a replay executes backwards across the
//! switches and `coro-goto` goes both ways; a recording that does not fit
//! is refused before QEMU starts, and one that stalls is ended.
//!
//! The BIOS recording of the main kernel is made once for the suite
//! (`common::recording::bios`, which gdb_window's TUI replays too); each
//! test that changes it works on a copy.

use crate::common;

use common::recording::{Recorded, bios, boot, path, stderr, stdout};
use common::{GdbServer, KernelCopy, kernel, run_gdb};
use std::time::Duration;

#[test]
fn a_bios_replay_repeats_the_recording_and_counts_a_round_trip() {
    let recorded = bios();
    let com1 = recorded.replay_matches();
    assert!(com1.contains("all coroutines finished"), "{com1}");
    // Under -icount the kernel counts the instructions of a round trip.
    let line = com1
        .lines()
        .find(|l| l.contains("round trip: one resume + yield executes"))
        .unwrap_or_else(|| panic!("no instruction count under -icount: {com1}"));
    let count = common::dec_after(line, "executes ");
    assert!((10..1000).contains(&count), "{line}");
    assert!(line.contains("advances the TSC by 128"), "shift 7: {line}");
    for file in ["manifest.json", "replay.log", "disk.img", "kernel.elf"] {
        assert!(recorded.dir.join(file).is_file(), "{file} in the recording");
    }
}

#[test]
fn a_uefi_replay_repeats_the_recording() {
    let recorded = Recorded::new("kernel", true);
    assert_eq!(recorded.output.status.code(), Some(0));
    assert!(recorded.dir.join("OVMF_VARS.fd").is_file());
    recorded.replay_matches();
}

#[test]
fn a_fault_kernel_replay_repeats_the_recording() {
    let recorded = Recorded::new("fault_page_fault", false);
    assert_eq!(
        recorded.output.status.code(),
        Some(1),
        "the fault kernel fails"
    );
    let com1 = recorded.replay_matches();
    assert!(
        com1.contains("PAGE FAULT") || com1.contains("page fault"),
        "{com1}"
    );
}

#[test]
fn a_recording_for_another_kernel_is_refused() {
    let recorded = bios();
    let other = KernelCopy::new("fault_panic");
    let (output, _) = recorded.replay(&[other.arg()]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(err.contains("was made for another kernel"), "{err}");
    assert!(
        !err.contains("boot: replaying"),
        "QEMU never started: {err}"
    );
    // The recorded kernel itself is accepted: this is the cargo runner's way.
    let (same, _) = recorded.replay(&[recorded.copy.arg()]);
    assert_eq!(same.status.code(), Some(0), "{}", stderr(&same));
}

#[test]
fn a_changed_image_is_refused() {
    let recorded = bios();
    let copy = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    for entry in std::fs::read_dir(&recorded.dir).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), copy.path().join(entry.file_name())).unwrap();
    }
    let image = copy.path().join("disk.img");
    let mut bytes = std::fs::read(&image).unwrap();
    bytes[0x200] ^= 1;
    std::fs::write(&image, bytes).unwrap();
    let output = boot(&["--replay", path(copy.path())], copy.path());
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains("disk.img has changed since it was recorded"),
        "{err}"
    );
    assert!(
        !err.contains("boot: replaying"),
        "QEMU never started: {err}"
    );
}

#[test]
fn a_replay_that_stalls_is_ended_with_its_likely_cause() {
    let recorded = bios();
    // Twice the memory: the replayed machine is not the recorded one. It
    // stops reading its log at byte 4096, soon after it starts: 2 s of CPU
    // time without reading on tell it as surely as the default 10.
    let (output, _) = recorded.replay(&["--stall-after", "2", "--", "-m", "256M"]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.contains("the replay stopped making progress at byte 4096 of its"),
        "{err}"
    );
    assert!(
        err.contains("(2 s of QEMU's CPU time without reading on)"),
        "{err}"
    );
    assert!(
        err.contains(r#"the extra QEMU arguments ["-m", "256M"]"#),
        "{err}"
    );
}

/// The RSP that `p/x $rsp` printed last before `marker`, and the stack
/// `coro-where` named right after it.
fn where_after<'a>(text: &'a str, marker: &str) -> &'a str {
    let at = text
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} in:\n{text}"));
    let line = text[at..]
        .lines()
        .find(|l| l.starts_with("RSP="))
        .unwrap_or_else(|| panic!("no coro-where after {marker}:\n{text}"));
    line.split('(')
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .unwrap_or("")
}

#[test]
fn gdb_steps_backwards_across_the_switches_of_a_replay() {
    let recorded = bios();
    let _sharing = common::sharing_the_machine();
    let mut server = GdbServer::start_with(&["--replay", path(&recorded.dir)]);
    let elf = recorded.dir.join("kernel.elf");
    let text = run_gdb(
        &elf,
        server.port,
        &[
            // The snapshot gdb/kernel.gdb takes at _start in a replay.
            "echo @snapshots\\n",
            // (through Python: gdb -batch sends monitor output to stderr)
            "python print(gdb.execute('monitor info snapshots', to_string=True))",
            // coro-break's hardware breakpoint on switch_to_coro1.
            "continue",
            "echo @entry\\n",
            "coro-where",
            // mov [main_context], rsp; mov rsp, [coro1_context]
            "stepi 2",
            "echo @after-mov\\n",
            "coro-where",
            "reverse-stepi",
            "echo @reversed-mov\\n",
            "coro-where",
            "x/i $pc",
            // switch_into: push rbp, push rbx, mov rcx, [rsi], mov [rdi], rsp,
            // mov rsp, rcx
            "continue",
            "echo @switch-into\\n",
            "coro-where",
            "stepi 5",
            "echo @after-switch-into\\n",
            "coro-where",
            "reverse-stepi",
            "echo @reversed-switch-into\\n",
            "coro-where",
            "x/i $pc",
            // Back to a breakpoint on switch_to_coro1, the only one left.
            "delete",
            "break switch_to_coro1",
            "reverse-continue",
            "echo @reverse-continue\\n",
            "info symbol $pc",
            "delete",
            "echo @goto-9\\n",
            "coro-goto 9",
            // The last write to coro1_context before switch #9, backwards.
            "watch -l *(long *)&coro1_context",
            "reverse-continue",
            "echo @watch\\n",
            "info symbol $pc",
            "x/i $pc",
            "delete",
            "echo @goto-3\\n",
            "coro-goto 3",
            "echo @goto-3-again\\n",
            "coro-goto 3",
            "kill",
        ],
    );
    server.wait(Duration::from_secs(60));
    eprintln!("{text}");
    let snapshots = &text[text.find("@snapshots").expect("snapshots")..];
    let mut listed = snapshots
        .lines()
        .take_while(|l| !l.starts_with("Breakpoint"));
    assert!(
        listed.any(|l| l.contains(" _start ")),
        "a snapshot at _start: {snapshots}"
    );
    assert_eq!(where_after(&text, "@entry"), "main_stack", "{text}");
    assert_eq!(
        where_after(&text, "@after-mov"),
        "coroutine1_stack",
        "{text}"
    );
    assert_eq!(where_after(&text, "@reversed-mov"), "main_stack", "{text}");
    let reversed = &text[text.find("@reversed-mov").unwrap()..];
    assert!(
        reversed.contains("mov    rsp,QWORD PTR [rip+") && reversed.contains("coro1_context"),
        "back before mov rsp, [coro1_context]: {reversed}"
    );
    assert_eq!(where_after(&text, "@switch-into"), "main_stack", "{text}");
    assert_eq!(
        where_after(&text, "@after-switch-into"),
        "coroutine1_stack",
        "{text}"
    );
    assert_eq!(
        where_after(&text, "@reversed-switch-into"),
        "main_stack",
        "{text}"
    );
    let reversed = &text[text.find("@reversed-switch-into").unwrap()..];
    assert!(reversed.contains("mov    rsp,rcx"), "{reversed}");
    let after = |marker: &str| {
        &text[text
            .find(marker)
            .unwrap_or_else(|| panic!("{marker}: {text}"))..]
    };
    assert!(
        after("@reverse-continue")
            .lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("switch_to_coro1 in section")),
        "{text}"
    );
    // What last wrote coro1_context before switch #9: the naked switch
    // that saved coroutine1's RSP there when it yielded (switch #8 is
    // coroutine2's).
    let watch = after("@watch");
    assert!(
        watch
            .lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("switch_back + ")),
        "{watch}"
    );
    assert!(
        after("@goto-9").contains("switch #9 (resume): main -> coroutine1"),
        "{text}"
    );
    // The transcript numbers switch #9 too (the same counter).
    assert!(
        stdout(&recorded.output).contains("#9 "),
        "switch #9 in the transcript"
    );
    let back = after("@goto-3");
    assert!(
        back.contains("switch #3 (call): main -> coroutine2"),
        "{back}"
    );
    assert!(
        after("@goto-3-again").contains("already at switch #3"),
        "{text}"
    );
}

#[test]
fn coro_goto_cannot_go_backwards_live() {
    let elf = KernelCopy::new("kernel");
    let _sharing = common::sharing_the_machine();
    let mut server = GdbServer::start(elf.elf(), false);
    let text = run_gdb(
        elf.elf(),
        server.port,
        &["coro-goto 4", "echo @forward\\n", "coro-goto 2", "kill"],
    );
    server.wait(Duration::from_secs(60));
    assert!(text.contains("switch #4 ("), "{text}");
    assert!(
        text.contains("switch #2 is behind (the last one was #4) and this QEMU runs live"),
        "{text}"
    );
    let _ = kernel("kernel");
}
