//! A second emulator: the same BIOS image booted in QEMU and in Bochs
//! (`boot --bochs`) tells the same story. The two boots of each test run at
//! once, and the two tests run in parallel, so the file costs about one
//! Bochs boot of wall time (see docs/emulators.md).
//!
//! What may differ, and is normalised before the transcripts are compared:
//!
//! - **Addresses inside the stacks the kernel lists** (`stack NAME [0x..,
//!   0x..)`) become `NAME+0x<offset>`. main's stack is where the bootloader
//!   maps it: the first free 512-GiB slot above the identity-mapped physical
//!   address range, which QEMU's E820 map stretches to 1 TiB (a reserved
//!   range below it) and Bochs's ends at 4 GiB, so it lies at
//!   0x100_0000_1000 under QEMU and 0x80_0000_1000 under Bochs.
//! - **The cycles line and the round-trip line**, by their roles (`cycles
//!   per switch:`, `round trip:`), whatever they say after: figures of the
//!   emulator's clock (QEMU's TSC follows the host's; Bochs's counts one
//!   per instruction, so Bochs counts the round trip's instructions and
//!   QEMU without `-icount` does not), with the emulator's name.

use crate::common;

use boot::error::EXIT_ENDED_FROM_OUTSIDE;
use boot::leftover::{leftover_bochs, leftover_qemus};
use common::events::{Run, boot_with_events};
use common::{KernelCopy, child_running, output_within};
use protocol::event::{Event, Kind};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// What marks the lines of the emulator's clock, whatever they say after.
const CLOCK_LINES: [&str; 2] = ["cycles per switch:", "round trip:"];

/// The stacks a transcript lists: `(name, bottom, top)`.
fn stacks(transcript: &str) -> Vec<(String, u64, u64)> {
    transcript
        .lines()
        .filter_map(|line| {
            let (_, after) = line.split_once("] stack ")?;
            let name = after.split_whitespace().next()?.to_owned();
            let (bottom, top) = after.split_once('[')?.1.split_once(", ")?;
            let hex = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok();
            Some((name, hex(bottom)?, hex(top.trim_end_matches(')'))?))
        })
        .collect()
}

/// `transcript` with the emulator's marks replaced (see the file's header).
fn normalise(transcript: &str) -> Vec<String> {
    let stacks = stacks(transcript);
    transcript
        .lines()
        .map(|line| {
            if let Some(end) = CLOCK_LINES
                .iter()
                .find_map(|mark| line.find(mark).map(|at| at + mark.len()))
            {
                return format!("{} <the emulator's figure>", &line[..end]);
            }
            let mut out = String::new();
            let mut rest = line;
            while let Some(at) = rest.find("0x") {
                out.push_str(&rest[..at]);
                let after = &rest[at + 2..];
                let digits = after.len()
                    - after
                        .trim_start_matches(|c: char| c.is_ascii_hexdigit())
                        .len();
                let value = u64::from_str_radix(&after[..digits], 16).ok();
                match value.and_then(|v| {
                    stacks
                        .iter()
                        .find(|(_, b, t)| (*b..=*t).contains(&v))
                        .map(|s| (v, s))
                }) {
                    Some((v, (name, bottom, _))) => {
                        out.push_str(&format!("{name}+{:#x}", v - bottom))
                    }
                    None => out.push_str(&rest[at..at + 2 + digits]),
                }
                rest = &after[digits..];
            }
            out.push_str(rest);
            out
        })
        .collect()
}

/// Boots a private copy of kernel `name` in QEMU and in Bochs at once, each
/// with its event lines; checks that neither emulator is left running.
fn boot_both(name: &str) -> (Run, Run) {
    let copy = KernelCopy::new(name);
    // Two guests under one share of the machine: beside another test's
    // guest that makes three on two cores, which only slows them down
    // (nothing here depends on their speed).
    let _sharing = common::sharing_the_machine();
    let (qemu, bochs) = std::thread::scope(|s| {
        let qemu = s.spawn(|| boot_with_events(copy.elf(), &[]));
        let bochs = s.spawn(|| boot_with_events(copy.elf(), &["--bochs"]));
        (qemu.join().unwrap(), bochs.join().unwrap())
    });
    let dir = copy.dir().to_string_lossy().into_owned();
    assert_eq!(
        leftover_qemus(&dir),
        Vec::<String>::new(),
        "QEMU left running"
    );
    assert_eq!(
        leftover_bochs(&dir),
        Vec::<String>::new(),
        "Bochs left running"
    );
    (qemu, bochs)
}

/// The normalised transcripts of the two runs are equal, line by line.
fn assert_same_transcript(qemu: &Run, bochs: &Run) {
    let [q, b] = [qemu, bochs].map(|run| normalise(&String::from_utf8_lossy(&run.output.stdout)));
    let differing: Vec<String> = q
        .iter()
        .zip(&b)
        .filter(|(q, b)| q != b)
        .map(|(q, b)| format!("QEMU:  {q}\nBochs: {b}"))
        .collect();
    assert!(
        differing.is_empty() && q.len() == b.len(),
        "{} vs {} lines; differing:\n{}\n--- QEMU run:\n{}\n--- Bochs run:\n{}",
        q.len(),
        b.len(),
        differing.join("\n"),
        qemu.dump(),
        bochs.dump()
    );
}

/// `(n, kind, from, to, value)` of every switch: what happened, without
/// addresses or times.
fn steps(run: &Run) -> Vec<(u64, Kind, u32, u32, Option<u64>)> {
    run.switches()
        .iter()
        .map(|s| (s.n, s.kind, s.from, s.to, s.value))
        .collect()
}

#[test]
fn the_kernel_tells_the_same_story_under_bochs_and_qemu() {
    let (qemu, bochs) = boot_both("kernel");
    assert!(qemu.output.status.success(), "{}", qemu.dump());
    assert!(bochs.output.status.success(), "{}", bochs.dump());
    assert_same_transcript(&qemu, &bochs);
    // The event lines (COM2, which Bochs writes to a file too) agree.
    assert_eq!(steps(&bochs), steps(&qemu), "{}", bochs.dump());
    assert_eq!(steps(&bochs).len(), 20, "{}", bochs.dump());
    let stack_names =
        |run: &Run| -> Vec<String> { run.routines().iter().map(|r| r.stack.to_owned()).collect() };
    assert_eq!(stack_names(&bochs), stack_names(&qemu));
    assert!(
        matches!(
            bochs.events().last(),
            Some(Event::Exit {
                code: protocol::ExitCode::Success,
                switches: 20,
                ..
            })
        ),
        "{}",
        bochs.dump()
    );
}

#[test]
fn a_stack_overflow_is_the_same_named_fault_under_bochs() {
    let (qemu, bochs) = boot_both("fault_stack_overflow");
    for run in [&qemu, &bochs] {
        assert_eq!(run.output.status.code(), Some(1), "{}", run.dump());
    }
    assert!(
        String::from_utf8_lossy(&bochs.output.stderr).contains(
            "boot: the kernel reported a failure (its last event line: exit code=failed)"
        ),
        "{}",
        bochs.dump()
    );
    assert_same_transcript(&qemu, &bochs);
    // The fault, caught on the guard page through the IST, names the same
    // routine, switch and sentence.
    let fault = |run: &Run| {
        run.events().iter().find_map(|e| match *e {
            Event::Fault {
                who, switch, what, ..
            } => Some((who, switch, what.to_owned())),
            _ => None,
        })
    };
    let (who, switch, what) =
        fault(&bochs).unwrap_or_else(|| panic!("no fault event: {}", bochs.dump()));
    assert_eq!(Some((who, switch, what.clone())), fault(&qemu));
    assert_eq!((who, switch), (1, 5));
    assert!(
        what.starts_with("coroutine1 overflowed its 4096-byte stack (fault address 0x"),
        "{what}"
    );
}

#[test]
fn the_normaliser_keeps_what_is_not_the_emulators() {
    let qemu = "[INFO ] stack main_stack       [0x0000010000001000, 0x0000010000011000)\n\
                [INFO ] main | RSP=0x0000010000010ed0 (main_stack top-0x130) slot 0xffffffff80019000\n\
                [INFO ] cycles per switch: 140 (EMULATED by QEMU TCG)";
    let bochs = "[INFO ] stack main_stack       [0x0000008000001000, 0x0000008000011000)\n\
                 [INFO ] main | RSP=0x0000008000010ed0 (main_stack top-0x130) slot 0xffffffff80019000\n\
                 [INFO ] cycles per switch: 26 (Bochs)";
    assert_eq!(normalise(qemu), normalise(bochs));
    assert_eq!(
        normalise(bochs),
        [
            "[INFO ] stack main_stack       [main_stack+0x0, main_stack+0x10000)",
            "[INFO ] main | RSP=main_stack+0xfed0 (main_stack top-0x130) slot 0xffffffff80019000",
            "[INFO ] cycles per switch: <the emulator's figure>",
        ]
    );
    // Anything else that differs still differs: an offset in the stack, an
    // address outside every stack, a word.
    for other in [
        bochs.replace("10ed0", "10ec8"),
        bochs.replace("80019000", "80019008"),
        bochs.replace("RSP=", "rsp="),
    ] {
        assert_ne!(normalise(qemu), normalise(&other), "{other}");
    }
}

#[test]
fn the_round_trip_line_is_the_emulators_too() {
    let qemu = "[INFO ] round trip: not counted (the TSC measures time here; ...)";
    let bochs = "[INFO ] round trip: one resume + yield executes 46 instructions (counted: ...)";
    assert_eq!(normalise(qemu), normalise(bochs));
    assert_eq!(
        normalise(bochs),
        ["[INFO ] round trip: <the emulator's figure>"]
    );
}

/// A Bochs ended from outside is not Bochs failing: SDL turns a SIGTERM
/// into "User requested shutdown", and Bochs exits with 1.
#[test]
fn bochs_ended_by_a_signal_from_outside_is_said_so() {
    let kernel = KernelCopy::new("fault_hang");
    let _sharing = common::sharing_the_machine();
    let mut boot = Command::new(env!("CARGO_BIN_EXE_boot"))
        .args(["--bochs", "--timeout", "120", kernel.arg()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start boot --bochs");
    // The kernel's lines as the tool forwards them, up to its last: the
    // loop it never leaves.
    let (tx, lines) = mpsc::channel();
    let stdout = boot.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut printed = 0;
    loop {
        let line = lines
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("{printed} lines, and not the hang's, after 60 s"));
        printed += 1;
        if line.contains("coroutine1 enters a loop that never yields") {
            break;
        }
    }
    let bochs = child_running(boot.id(), "bochs-bin").expect("Bochs runs the kernel");
    let killed = Command::new("kill")
        .arg(bochs.to_string())
        .status()
        .expect("run kill");
    assert!(killed.success());
    let output = output_within(boot, Duration::from_secs(60), "boot --bochs");
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        said.contains("boot: Bochs was ended by a signal (SIGTERM or SIGINT) from outside"),
        "{said}"
    );
    assert!(
        said.contains(&format!("; the kernel had printed {printed} lines")),
        "{said}"
    );
    assert_eq!(
        output.status.code(),
        Some(EXIT_ENDED_FROM_OUTSIDE.into()),
        "{said}"
    );
    assert!(leftover_bochs(&kernel.dir().to_string_lossy()).is_empty());
}
