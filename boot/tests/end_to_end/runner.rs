//! End-to-end tests: run the built `boot` binary on real kernels in QEMU.
//!
//! The kernels (the main one and the test kernels in `kernel/src/bin/`) are
//! built once for the suite with `cargo kbuild --bins`. Each test boots its
//! own copy of a kernel ELF, so its disk image (made next to the ELF) is used
//! by no other test nor by someone's `cargo run` in the same tree, and each
//! test checks afterwards that no QEMU using its image is left running.
//! The boots share the machine, the hang test's too: whether its kernel
//! printed within 3 s is not what it asserts (it boots again with 20 s when
//! not), so a neighbour can slow it down but not make it fail.

use crate::common;

use boot::error::{EXIT_FAILURE, EXIT_TIMED_OUT, EXIT_TRIPLE_FAULT};
use common::{KernelCopy, assert_no_qemu_left, kernel};
use std::net::{Ipv4Addr, TcpListener};
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// A line the main kernel prints on every successful boot. Its program will
/// change; update this one constant when its output does.
const KERNEL_LINE: &str = "[INFO";
/// What `test_panic` prints before and in its panic.
const PANIC_LINES: [&str; 2] = [
    "test_panic: about to panic",
    "test_panic: deliberate panic from the test kernel",
];
/// What `test_hang` prints before halting forever.
const HANG_LINE: &str = "test_hang: halting forever";

/// Runs `boot` with `args`, then checks that no QEMU using `image` survived.
/// With an `image`, the run boots QEMU, sharing the machine.
fn boot(args: &[&str], image: Option<&Path>) -> Output {
    let _sharing = image.map(|_| common::sharing_the_machine());
    let output = Command::new(env!("CARGO_BIN_EXE_boot"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run boot");
    if let Some(image) = image {
        assert_no_qemu_left(image);
    }
    eprintln!("--- boot {args:?}: {}", output.status);
    eprintln!("stdout:\n{}", stdout(&output));
    eprintln!("stderr:\n{}", stderr(&output));
    output
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn code(output: &Output) -> Option<i32> {
    output.status.code()
}

#[test]
fn kernel_boots_under_bios() {
    let elf = KernelCopy::new("kernel");
    let output = boot(&[elf.arg()], Some(&elf.image(false)));
    assert_eq!(code(&output), Some(0));
    assert!(stdout(&output).contains(KERNEL_LINE));
    assert!(stderr(&output).contains("(BIOS)"));
}

#[test]
fn kernel_boots_under_uefi() {
    let elf = KernelCopy::new("kernel");
    let output = boot(&["--uefi", elf.arg()], Some(&elf.image(true)));
    assert_eq!(code(&output), Some(0));
    assert!(stdout(&output).contains(KERNEL_LINE));
    assert!(stderr(&output).contains("(UEFI)"));
}

#[test]
fn panic_fails_and_shows_the_message() {
    let elf = KernelCopy::new("test_panic");
    let output = boot(&[elf.arg()], Some(&elf.image(false)));
    assert_eq!(code(&output), Some(1));
    for line in PANIC_LINES {
        assert!(stdout(&output).contains(line), "missing {line:?}");
    }
    assert!(stderr(&output).contains("boot: the kernel reported a failure (QEMU exit status 35)"));
}

#[test]
fn triple_fault_is_a_failure() {
    let elf = KernelCopy::new("test_triple_fault");
    let output = boot(&[elf.arg()], Some(&elf.image(false)));
    assert_eq!(code(&output), Some(EXIT_TRIPLE_FAULT.into()));
    assert!(stderr(&output).contains("triple fault"));
}

/// Also covers building the kernel from `--bin` when no ELF path is given.
#[test]
fn triple_fault_under_uefi_built_by_boot() {
    let image = boot::bootable::image::image_path(kernel("test_triple_fault"), true);
    let output = boot(&["--uefi", "--bin", "test_triple_fault"], Some(&image));
    assert_eq!(code(&output), Some(EXIT_TRIPLE_FAULT.into()));
    assert!(stderr(&output).contains("triple fault"));
}

#[test]
fn hang_times_out_with_the_last_line() {
    let elf = KernelCopy::new("test_hang");
    let run = |timeout: &str| boot(&["--timeout", timeout, elf.arg()], Some(&elf.image(false)));
    let output = run("3");
    assert_eq!(code(&output), Some(EXIT_TIMED_OUT.into()));
    assert!(stderr(&output).contains("boot: timed out after 3 s; QEMU killed. Last serial lines:"));
    // Whether the kernel got to print within 3 s depends on the machine's
    // load; that the report shows the last line does not: check it with
    // more time if the short run was too short to print anything.
    let output = if stderr(&output).contains(HANG_LINE) {
        output
    } else {
        run("20")
    };
    assert_eq!(code(&output), Some(EXIT_TIMED_OUT.into()));
    let stderr = stderr(&output);
    assert!(stderr.contains("timed out after"), "{stderr}");
    assert!(
        stderr.contains(&format!("Last serial lines:\n  {HANG_LINE}")),
        "{stderr}"
    );
}

/// `--events FILE` receives COM2's lines however the run ends: here a
/// kernel panic and a timeout. QEMU writes COM2 to the events file next to
/// the image, which must exist after the run (QEMU was given COM2), and
/// FILE must hold the same lines.
#[test]
fn events_are_saved_when_the_kernel_fails_and_on_timeout() {
    for (name, extra, exit) in [
        ("test_panic", None, EXIT_FAILURE),
        ("test_hang", Some("3"), EXIT_TIMED_OUT),
    ] {
        let elf = KernelCopy::new(name);
        let saved = elf.dir().join("saved.events");
        let mut args = vec!["--events", saved.to_str().unwrap()];
        if let Some(secs) = extra {
            args.extend(["--timeout", secs]);
        }
        args.push(elf.arg());
        let output = boot(&args, Some(&elf.image(false)));
        assert_eq!(code(&output), Some(exit.into()), "{name}");
        let written_by_qemu = boot::bootable::image::events_path(&elf.image(false));
        let text = boot::outputs::read(&written_by_qemu).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(written_by_qemu.is_file(), "{name}: QEMU wrote no COM2 file");
        let saved = std::fs::read_to_string(&saved)
            .unwrap_or_else(|e| panic!("{name}: --events file not written: {e}"));
        assert_eq!(saved.lines().collect::<Vec<_>>(), lines, "{name}");
        assert_eq!(saved, text, "{name}: --events is the file as QEMU wrote it");
        // The panic's own lines: the fault, then the exit it caused.
        if name == "test_panic" {
            let last: Vec<&str> = lines.iter().rev().take(2).copied().collect();
            assert!(
                last.len() == 2
                    && last[0].starts_with("exit code=failed")
                    && last[1].starts_with("fault ")
                    && last[1].contains("deliberate panic"),
                "{name}: {lines:?}"
            );
        }
    }
}

#[test]
fn events_into_a_missing_directory() {
    let out = "/nonexistent/dir/out.events";
    assert_usage_error(
        &["--events", out, kernel("kernel").to_str().unwrap()],
        &format!("cannot write the event lines to {out}: its directory does not exist"),
    );
}

/// Runs `boot` where it must stop with exit 2 and exactly one `boot:` line.
fn assert_usage_error(args: &[&str], expected: &str) {
    let output = boot(args, None);
    assert_eq!(code(&output), Some(2));
    let stderr = stderr(&output);
    assert_eq!(stderr.trim_end(), format!("boot: {expected}"));
    assert!(stdout(&output).is_empty());
}

#[test]
fn missing_kernel_file() {
    assert_usage_error(
        &["/nonexistent/kernel"],
        "kernel file not found: /nonexistent/kernel",
    );
}

#[test]
fn not_an_elf() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("not-elf");
    std::fs::write(&path, "just some text, no ELF header here\n").unwrap();
    let path_str = path.to_str().unwrap();
    assert_usage_error(
        &[path_str],
        &format!("{path_str} is not an x86_64 ELF executable"),
    );
}

#[test]
fn unknown_kernel_binary() {
    let output = boot(&["--bin", "no_such_kernel"], None);
    assert_eq!(code(&output), Some(2));
    assert!(stdout(&output).is_empty());
    let stderr = stderr(&output);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let (head, kernels) = stderr
        .trim_end()
        .split_once("; the kernels are: ")
        .expect("the message lists the kernels");
    assert_eq!(head, "boot: no kernel binary named `no_such_kernel`");
    let kernels: Vec<&str> = kernels.split(", ").collect();
    for name in ["kernel", "round_robin", "test_panic"] {
        assert!(kernels.contains(&name), "{stderr}");
    }
}

#[test]
fn timeout_zero_is_a_usage_error() {
    let output = boot(&["--timeout", "0", "kernel.elf"], None);
    assert_eq!(code(&output), Some(2));
    assert!(stderr(&output).contains("--timeout"), "{}", stderr(&output));
}

/// A replay's stall limit as well: `--stall-after 0`, or given without a
/// replay to watch (the message names both flags).
#[test]
fn a_stall_limit_of_zero_or_without_a_replay_is_a_usage_error() {
    for (args, says) in [
        (
            &["--replay", "recording", "--stall-after", "0"][..],
            "invalid value '0' for '--stall-after <SECS>'",
        ),
        (
            &["--stall-after", "5", "kernel.elf"],
            "error: --stall-after is a replay's stall limit: give it with --replay <DIR>",
        ),
    ] {
        let output = boot(args, None);
        assert_eq!(code(&output), Some(2), "{args:?}");
        assert!(stderr(&output).contains(says), "{}", stderr(&output));
        assert!(stdout(&output).is_empty());
    }
}

#[test]
fn unknown_flag() {
    let output = boot(&["--frobnicate"], None);
    assert_eq!(code(&output), Some(2));
    assert!(stderr(&output).contains("--frobnicate"));
}

#[test]
fn busy_gdb_port() {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let elf = kernel("kernel").to_str().unwrap();
    let output = boot(&["--gdb-server", "--gdb-port", &port, elf], None);
    assert_eq!(code(&output), Some(2));
    let stderr = stderr(&output);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with(&format!(
        "boot: gdb port {port} on 127.0.0.1 is already in use"
    )));
}

#[test]
fn ovmf_variable_naming_a_missing_file() {
    let output = Command::new(env!("CARGO_BIN_EXE_boot"))
        .args(["--uefi"])
        .arg(kernel("kernel"))
        .env("OVMF_CODE", "/usr/share/OVMF/OVMF_CODE.fd")
        .env("OVMF_VARS", "/nonexistent/OVMF_VARS.fd")
        .stdin(Stdio::null())
        .output()
        .expect("run boot");
    assert_eq!(code(&output), Some(2));
    assert!(stdout(&output).is_empty());
    let stderr = stderr(&output);
    // OVMF_CODE names a file only where Debian's ovmf is installed.
    let expected = if std::path::Path::new("/usr/share/OVMF/OVMF_CODE.fd").is_file() {
        "boot: OVMF_VARS is set to /nonexistent/OVMF_VARS.fd, which is not a file"
    } else {
        "boot: OVMF_CODE is set to /usr/share/OVMF/OVMF_CODE.fd, which is not a file"
    };
    assert_eq!(stderr.trim_end(), expected);
}

#[test]
fn missing_qemu() {
    let output = Command::new(env!("CARGO_BIN_EXE_boot"))
        .arg(kernel("kernel"))
        .env("PATH", "/nonexistent")
        .output()
        .expect("run boot");
    assert_eq!(code(&output), Some(2));
    assert_eq!(
        stderr(&output).trim_end(),
        "boot: qemu-system-x86_64 not found; install it with: sudo apt-get install qemu-system-x86"
    );
}

/// A kernel that cargo builds starts booting while cargo checks it (from
/// the image made last time, its output held back); what shows is the
/// kernel cargo leaves, never the one before. A stand-in for cargo (the
/// `CARGO` variable names the cargo the tool runs) puts a chosen kernel in
/// place, as a rebuild does, and notes whether QEMU was already booting.
#[test]
fn the_early_boot_shows_only_the_kernel_cargo_leaves() {
    let bin = "boot_test_early_kernel";
    // Where cargo puts the kernels, beside the runner's own profile directory.
    let runner = Path::new(env!("CARGO_BIN_EXE_boot"));
    let target = runner.parent().and_then(Path::parent).unwrap();
    let elf = target.join("x86_64-target/debug").join(bin);
    let image = boot::bootable::image::image_path(&elf, false);
    /// Removes the kernel and the files made next to it.
    struct Remove(std::path::PathBuf);
    impl Drop for Remove {
        fn drop(&mut self) {
            let name = self.0.file_name().unwrap().to_owned();
            for entry in std::fs::read_dir(self.0.parent().unwrap()).unwrap() {
                let entry = entry.unwrap();
                if entry
                    .file_name()
                    .to_string_lossy()
                    .starts_with(&*name.to_string_lossy())
                {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
    }
    let _remove = Remove(elf.clone());
    std::fs::copy(kernel("kernel"), &elf).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let cargo = dir.path().join("cargo");
    let notes = dir.path().join("notes");
    std::fs::write(
        &cargo,
        format!(
            r#"#!/bin/sh
case "$1" in
metadata) echo '{{"packages":[{{"name":"kernel","targets":[{{"name":"{bin}","kind":["bin"]}}]}}]}}' ;;
kbuild)
    if pgrep -f "$IMAGE" >/dev/null; then echo early >>"$NOTES"; else echo late >>"$NOTES"; fi
    if [ -n "$NEW" ]; then cp "$NEW" "$ELF"; fi
    echo '{{"reason":"compiler-artifact","target":{{"name":"{bin}"}},"executable":"'"$ELF"'"}}' ;;
*) exit 1 ;;
esac
"#
        ),
    )
    .unwrap();
    std::fs::set_permissions(&cargo, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let run = |new: Option<&Path>| {
        let _sharing = common::sharing_the_machine();
        let mut command = Command::new(runner);
        command
            .args(["--bin", bin])
            .env("CARGO", &cargo)
            .env("ELF", &elf)
            .env("IMAGE", &image)
            .env("NOTES", &notes)
            .env("NEW", new.unwrap_or(Path::new("")));
        let output = common::run_within_a_minute(command, "boot");
        assert_no_qemu_left(&image);
        let notes = std::fs::read_to_string(&notes).unwrap();
        let when = notes.lines().last().unwrap().to_owned();
        eprintln!("--- {when}, {}\n{}", output.status, common::said(&output));
        (output, when)
    };
    let lines = |output: &Output, text: &str| stdout(output).matches(text).count();

    // No image yet: made after cargo, then booted.
    let (first, when) = run(None);
    assert_eq!(when, "late");
    assert_eq!(code(&first), Some(0));
    let finished = "all coroutines finished";
    assert_eq!(lines(&first, finished), 1);

    // Cargo leaves the kernel as it was: the early boot is the run, shown once.
    let (again, when) = run(None);
    assert_eq!(when, "early");
    assert_eq!(code(&again), Some(0));
    assert_eq!(lines(&again, finished), 1);
    assert_eq!(
        stdout(&again).lines().count(),
        stdout(&first).lines().count()
    );

    // Cargo puts another kernel in place: only that one shows.
    let (other, when) = run(Some(kernel("test_panic")));
    assert_eq!(
        when, "early",
        "the old image was current when cargo started"
    );
    assert_eq!(code(&other), Some(1));
    for line in PANIC_LINES {
        assert_eq!(lines(&other, line), 1, "{line}");
    }
    assert_eq!(lines(&other, KERNEL_LINE), 0, "the earlier kernel showed");
}
