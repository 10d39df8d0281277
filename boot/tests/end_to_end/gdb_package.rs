//! The gdb helpers' Python package (gdb/coro), without QEMU: its unit tests
//! pass (`python3 -m unittest` on gdb/tests: the roster view, stack
//! arithmetic and formatting from plain data), pyflakes finds nothing in it
//! nor in gdb/kernel.gdb's loader, and loading gdb/kernel.gdb into gdb with
//! the kernel ELF registers the `coro` commands under both their names,
//! leaves nothing in gdb's shared `__main__`, and reads the switch crate's
//! constants from the kernel itself.

use crate::common;

use common::{output_within, run_within_a_minute, said, workspace_root};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn the_packages_unit_tests_pass() {
    let _sharing = common::sharing_the_machine();
    let mut command = Command::new("python3");
    command
        .args(["-m", "unittest", "discover", "-s", "tests", "-t", "."])
        .current_dir(workspace_root().join("gdb"));
    let output = run_within_a_minute(command, "python3");
    let printed = said(&output);
    assert!(output.status.success(), "{printed}");
    // unittest's summary: "Ran N tests in ...", then "OK".
    let ran: u32 = printed
        .lines()
        .find_map(|l| {
            l.strip_prefix("Ran ")?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no summary from unittest:\n{printed}"));
    assert!(ran >= 20, "only {ran} tests ran:\n{printed}");
}

/// The Python between `python` and `end` in gdb/kernel.gdb.
fn loader() -> String {
    let script = std::fs::read_to_string(workspace_root().join("gdb/kernel.gdb"))
        .expect("read gdb/kernel.gdb");
    let start = script.find("\npython\n").expect("a python block") + "\npython\n".len();
    let end = script[start..].find("\nend\n").expect("its end") + start;
    script[start..end].to_owned()
}

#[test]
fn pyflakes_finds_nothing() {
    let _sharing = common::sharing_the_machine();
    let mut command = Command::new("pyflakes3");
    command
        .args(["coro", "tests"])
        .current_dir(workspace_root().join("gdb"));
    let output = run_within_a_minute(command, "pyflakes3");
    assert!(output.status.success(), "{}", said(&output));
    assert_eq!(said(&output), "");

    // The loader, on stdin (pyflakes reads it when given no file).
    let mut child = Command::new("pyflakes3")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start pyflakes3");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(loader().as_bytes())
        .expect("write to pyflakes3");
    let output = output_within(child, Duration::from_secs(60), "pyflakes3");
    assert!(output.status.success(), "{}", said(&output));
    assert_eq!(said(&output), "");
}

/// Runs `gdb -batch` on the kernel ELF (no QEMU: gdb reads the ELF's own
/// sections) with `commands` before and after gdb/kernel.gdb. Its run to
/// `_start` fails without a target, which ends the script there.
fn gdb_on_the_elf(before: &[&str], after: &[&str]) -> String {
    let elf = common::kernel("kernel");
    let _sharing = common::sharing_the_machine();
    let mut command = Command::new("gdb");
    command.args(["-q", "-nx", "-batch"]).arg(elf);
    for c in before {
        command.args(["-ex", c]);
    }
    command
        .arg("-x")
        .arg(workspace_root().join("gdb/kernel.gdb"));
    for c in after {
        command.args(["-ex", c]);
    }
    said(&run_within_a_minute(command, "gdb"))
}

/// The names in gdb's `__main__`, on a line `PREFIX [...]`.
const MAIN_NAMES: &str =
    "python print(PREFIX, sorted(n for n in globals() if not n.startswith('__')))";

#[test]
fn loading_the_package_registers_the_commands_and_nothing_in_main() {
    let said = gdb_on_the_elf(
        &[&MAIN_NAMES.replace("PREFIX", "'names-before'")],
        &[
            &MAIN_NAMES.replace("PREFIX", "'names-after'"),
            "echo @@help\\n",
            "help coro",
        ],
    );
    let names = |prefix: &str| {
        said.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} line:\n{said}"))
            .trim_start_matches(prefix)
            .to_owned()
    };
    assert_eq!(names("names-before"), names("names-after"), "{said}");
    let help = &said[said.find("@@help").expect("help output")..];
    for command in [
        "list", "bt", "switch", "break", "slots", "where", "regs", "goto", "snapshot", "show",
    ] {
        assert!(
            help.contains(&format!("coro {command}, coro-{command} -- ")),
            "coro {command} and its alias coro-{command}:\n{help}"
        );
    }
}

#[test]
fn the_constants_gdb_uses_are_the_switch_crates() {
    let said = gdb_on_the_elf(
        &[],
        &[
            "python import coro.kernel as k; print('facts', k.layout(), k.roster.rust_str(k.facts()['main_stack']))",
            "python print('tombstone symbol', int(gdb.parse_and_eval('(unsigned long)&coroutine_tombstone_frame')))",
        ],
    );
    let line = said
        .lines()
        .find(|l| l.starts_with("facts "))
        .unwrap_or_else(|| panic!("no facts:\n{said}"));
    // The tombstone is an address of this ELF, not a constant of the crate:
    // the facts' must be the one its symbol names.
    let tombstone = said
        .lines()
        .find_map(|l| l.strip_prefix("tombstone symbol "))
        .unwrap_or_else(|| panic!("no tombstone symbol:\n{said}"));
    assert_eq!(
        line,
        format!(
            "facts Layout(paint={}, canary={}, finished={}, fresh_frame={}, trampoline_entry={}, tombstone={tombstone}) main_stack",
            coroutine_switch::PAINT,
            coroutine_switch::CANARY,
            coroutine_switch::FINISHED,
            coroutine_switch::INITIAL_FRAME_SIZE,
            coroutine_switch::TRAMPOLINE_ENTRY,
        ),
        "{said}"
    );
}
