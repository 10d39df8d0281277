//! Recordings (`boot --record DIR`) for the tests that replay them, and the
//! main kernel's BIOS recording, made once for the suite and replayed by
//! many ([`bios`]): QEMU replays it side by side, each replay with its own
//! snapshot of the disk and its own serial files.

use super::{KernelCopy, assert_no_qemu_left, sharing_the_machine};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Runs `boot ARGS`, sharing the machine, and returns its output; checks
/// afterwards that no QEMU with `needle` (a path of the run) on its
/// command line is left running.
pub fn boot(args: &[&str], needle: &Path) -> Output {
    let _sharing = sharing_the_machine();
    let output = Command::new(env!("CARGO_BIN_EXE_boot"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run boot");
    assert_no_qemu_left(needle);
    eprintln!("--- boot {args:?}: {}", output.status);
    eprintln!("stderr:\n{}", String::from_utf8_lossy(&output.stderr));
    output
}

/// One `--record` and what it printed and saved.
pub struct Recorded {
    /// Keeps the kernel copy, its image and the recording directory.
    pub copy: KernelCopy,
    /// The recording.
    pub dir: PathBuf,
    /// What `boot --record` printed, and its status.
    pub output: Output,
    /// COM2, saved with `--events`.
    pub events: String,
}

impl Recorded {
    /// Records kernel binary `name` (BIOS, or UEFI with `uefi`).
    pub fn new(name: &str, uefi: bool) -> Self {
        let copy = KernelCopy::new(name);
        let dir = copy.dir().join("recording");
        let events = copy.dir().join("recorded.events");
        let mut args = vec![
            copy.arg(),
            "--record",
            path(&dir),
            "--events",
            path(&events),
        ];
        if uefi {
            args.push("--uefi");
        }
        let output = boot(&args, &dir);
        let events = std::fs::read_to_string(&events).expect("the recorded events");
        Recorded {
            copy,
            dir,
            output,
            events,
        }
    }

    /// Replays it; the replay's output and its COM2.
    pub fn replay(&self, extra: &[&str]) -> (Output, String) {
        // A file of its own: tests replay the shared recording side by side.
        static REPLAYS: AtomicUsize = AtomicUsize::new(0);
        let n = REPLAYS.fetch_add(1, Ordering::Relaxed);
        let events = self.copy.dir().join(format!("replayed-{n}.events"));
        let mut args = vec!["--replay", path(&self.dir), "--events", path(&events)];
        args.extend(extra);
        let output = boot(&args, &self.dir);
        let replayed = std::fs::read_to_string(&events).unwrap_or_default();
        (output, replayed)
    }

    /// Replays it and checks that COM1, COM2 and the status are the
    /// recorded ones; returns COM1.
    pub fn replay_matches(&self) -> String {
        let (replay, events) = self.replay(&[]);
        assert_eq!(stdout(&replay), stdout(&self.output), "COM1 differs");
        assert_eq!(events, self.events, "COM2 differs");
        assert_eq!(replay.status.code(), self.output.status.code());
        assert!(
            stderr(&replay).contains("boot: replaying"),
            "{}",
            stderr(&replay)
        );
        stdout(&replay)
    }
}

/// `p` as an argument.
pub fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// What `output` printed on stdout.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// What `output` printed on stderr.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The main kernel's BIOS recording, made once for the suite (the first
/// test to ask makes it; the others wait for it before they take their
/// share of the machine).
pub fn bios() -> &'static Recorded {
    static RECORDED: OnceLock<Recorded> = OnceLock::new();
    RECORDED.get_or_init(|| {
        let recorded = Recorded::new("kernel", false);
        assert_eq!(
            recorded.output.status.code(),
            Some(0),
            "the recorded run succeeds"
        );
        recorded
    })
}
