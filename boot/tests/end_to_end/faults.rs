//! Fault tests: boot each fault kernel (`kernel/src/bin/fault_*.rs`) and check
//! that the fault is caught and explained: exit code 1 from `boot` and the
//! kernel's one-sentence report on serial.
//!
//! Addresses differ between builds, so the output is compared after
//! replacing every `0x…` number with `0xADDR` and every source position
//! `:line:column)` with `:L:C)`. Each test, and a last one once all are
//! done, checks that no QEMU running one of these kernels' images outlived
//! the `boot` that started it.

use crate::common;

use boot::leftover::leftover_qemus;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Scenario tests started / finished, for [`zz_no_qemu_left_after_the_suite`].
static STARTED: AtomicUsize = AtomicUsize::new(0);
static FINISHED: AtomicUsize = AtomicUsize::new(0);
/// When a scenario test last started or finished.
static LAST_ACTIVITY: Mutex<Option<Instant>> = Mutex::new(None);
/// The number of scenario tests in this file.
const SCENARIOS: usize = 10;

fn touch() {
    *LAST_ACTIVITY.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
}

/// Boots kernel `name` with `boot --timeout SECS`, sharing the machine,
/// and returns its output.
fn boot(name: &str, timeout_secs: u32) -> Output {
    let elf = common::kernel(name);
    let _sharing = common::sharing_the_machine();
    boot_shared_elf(elf, timeout_secs)
}

/// Boots kernel `name` with `boot --timeout SECS` as [`boot`] does, with
/// the machine alone (a timing-sensitive test).
fn boot_alone(name: &str, timeout_secs: u32) -> Output {
    let elf = common::kernel(name);
    let _alone = common::the_machine_alone();
    boot_shared_elf(elf, timeout_secs)
}

/// Boots the shared ELF `elf` (each fault kernel is booted by one test of
/// the suite, here) and checks that no QEMU running its image is left.
fn boot_shared_elf(elf: &Path, timeout_secs: u32) -> Output {
    let name = elf.file_name().expect("a file name").to_string_lossy();
    STARTED.fetch_add(1, Ordering::SeqCst);
    touch();
    let output = Command::new(env!("CARGO_BIN_EXE_boot"))
        .arg(elf)
        .args(["--timeout", &timeout_secs.to_string()])
        .stdin(Stdio::null())
        .output()
        .expect("run boot");
    let image = boot::bootable::image::image_path(elf, false);
    let left = leftover_qemus(&image.to_string_lossy());
    FINISHED.fetch_add(1, Ordering::SeqCst);
    touch();
    eprintln!("--- boot {name}: {}", output.status);
    eprintln!("stdout:\n{}", String::from_utf8_lossy(&output.stdout));
    eprintln!("stderr:\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(left.is_empty(), "QEMU left running: {left:?}");
    output
}

/// Replaces `0x<hex>` with `0xADDR` and `:<line>:<col>)` with `:L:C)`.
fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("0x") {
            let hex = after.len()
                - after
                    .trim_start_matches(|c: char| c.is_ascii_hexdigit())
                    .len();
            if hex > 0 {
                out.push_str("0xADDR");
                rest = &after[hex..];
                continue;
            }
        }
        if c == ':'
            && let Some(position) = source_position(&rest[1..])
        {
            out.push_str(":L:C)");
            rest = &rest[1 + position..];
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// If `text` starts with `<digits>:<digits>)`, its length.
fn source_position(text: &str) -> Option<usize> {
    let digits = |s: &str| s.len() - s.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let line = digits(text);
    let rest = text[line..].strip_prefix(':')?;
    let column = digits(rest);
    (line > 0 && column > 0 && rest[column..].starts_with(')')).then_some(line + 1 + column + 1)
}

/// Boots `name` and asserts exit code 1 and that the normalised serial
/// output has a line equal to `expected`.
fn assert_caught(name: &str, expected: &str) {
    let output = boot(name, 20);
    let stdout = normalise(&String::from_utf8_lossy(&output.stdout));
    assert!(
        stdout.lines().any(|line| line == expected),
        "{name}: no line {expected:?} in:\n{stdout}"
    );
    assert_eq!(output.status.code(), Some(1), "{name}: exit code");
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("boot: the kernel reported a failure (QEMU exit status 35)"),
        "{name}: the kernel did not exit through the failure code"
    );
}

#[test]
fn stack_overflow_hits_the_guard_page() {
    assert_caught(
        "fault_stack_overflow",
        "coroutine1 overflowed its 4096-byte stack (fault address 0xADDR, RSP 0xADDR, RIP 0xADDR) while coroutine1 was running at switch #5.",
    );
}

#[test]
fn main_stack_overflow_hits_the_bootloader_guard_page() {
    assert_caught(
        "fault_main_stack_overflow",
        "main overflowed its 65536-byte stack (fault address 0xADDR, RSP 0xADDR, RIP 0xADDR) while main was running at switch #0.",
    );
}

#[test]
fn overflow_past_the_guard_is_caught_by_the_canary() {
    assert_caught(
        "fault_canary",
        "coroutine2 panicked at switch #8: the coroutine on the stack at 0xADDR overflowed it: its canary was overwritten (switch/src/coroutine.rs:L:C)",
    );
}

#[test]
fn panic_in_a_coroutine_names_it_and_the_step() {
    assert_caught(
        "fault_panic",
        "coroutine1 panicked at switch #5: coroutine1 gave up in round 2 (kernel/src/bin/fault_panic.rs:L:C)",
    );
}

#[test]
// 2 coroutines x (4 resumes + 3 yields + the switch back when each
// finishes) = 16 switches, then the resume that panics: #17.
fn resuming_a_finished_coroutine_panics() {
    assert_caught(
        "fault_resume_finished",
        "main panicked at switch #17: resumed a finished coroutine (stack at 0xADDR) (switch/src/coroutine.rs:L:C)",
    );
}

#[test]
fn breakpoint_is_reported() {
    assert_caught(
        "fault_breakpoint",
        "breakpoint (int3) hit at RIP 0xADDR while coroutine1 was running at switch #5 and no debugger is attached, so the kernel stops.",
    );
}

#[test]
fn general_protection_fault_is_reported() {
    assert_caught(
        "fault_general_protection",
        "general protection fault (error code 0xADDR) at RIP 0xADDR while coroutine2 was running at switch #7.",
    );
}

#[test]
fn page_fault_outside_the_guards_is_reported() {
    assert_caught(
        "fault_page_fault",
        "page fault: write to a non-present page at 0xADDR, outside every guard page (RIP 0xADDR, RSP 0xADDR) while coroutine1 was running at switch #5.",
    );
}

#[test]
fn double_fault_is_reported_from_its_ist_stack() {
    assert_caught(
        "fault_double_fault",
        "double fault: a fault occurred while the CPU was delivering another one (RIP 0xADDR, RSP 0xADDR, error code 0xADDR) while coroutine1 was running at switch #5.",
    );
}

#[test]
fn hang_is_stopped_by_the_timeout() {
    // Alone: the kernel must print its line within the 5 s.
    let output = boot_alone("fault_hang", 5);
    assert_eq!(
        output.status.code(),
        Some(boot::error::EXIT_TIMED_OUT.into()),
        "exit code"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("boot: timed out after 5 s; QEMU killed. Last serial lines:"),
        "no timeout report in:\n{stderr}"
    );
    assert!(
        stderr.contains("fault_hang: coroutine1 enters a loop that never yields"),
        "the last serial lines do not name the stuck coroutine:\n{stderr}"
    );
}

/// Runs after the scenario tests (last by name when tests run one at a
/// time; otherwise it waits until they have all finished, or until none has
/// started or finished for 5 s when a filter left some out) and checks that
/// no QEMU running one of this suite's images (`fault_*.img` in this
/// workspace's target directory) survived them.
#[test]
fn zz_no_qemu_left_after_the_suite() {
    let start = Instant::now();
    let deadline = start + Duration::from_secs(15 * 60);
    loop {
        let finished = FINISHED.load(Ordering::SeqCst);
        let last_activity = LAST_ACTIVITY
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .unwrap_or(start);
        let idle = STARTED.load(Ordering::SeqCst) == finished
            && last_activity.elapsed() > Duration::from_secs(5);
        if finished == SCENARIOS || idle || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    // Only the images these tests boot: the suite's other tests boot copies
    // of the fault kernels elsewhere, and someone's own run may be booting
    // QEMU from this workspace at the same time.
    let left: Vec<String> = leftover_qemus(
        &common::kernel("kernel")
            .with_file_name("fault_")
            .to_string_lossy(),
    )
    .into_iter()
    .filter(|cmdline| cmdline.contains(".img"))
    .collect();
    assert!(left.is_empty(), "QEMU left running: {left:?}");
}
