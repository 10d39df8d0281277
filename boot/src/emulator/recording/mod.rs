//! Record and replay (`--record DIR`, `--replay DIR`): QEMU's deterministic
//! record/replay, so that a run can be played again exactly, and gdb can
//! execute it backwards (`reverse-stepi`, `reverse-continue`).
//!
//! A recording is a directory that holds everything its replay needs, so
//! that a rebuild, an updated OVMF package or a `cargo clean` cannot change
//! it: QEMU's replay log, private copies of the disk image, of the firmware
//! files and of the kernel ELF (for gdb's symbols), and `manifest.json`,
//! which says how it was made ([`Manifest`]).
//!
//! A replay must run on exactly the machine that was recorded: with any
//! difference (another `-icount` shift, another number of serial ports, a
//! changed image) QEMU waits forever for an event the log does not hold,
//! without a message. So [`Recording::open`] checks everything it can
//! before QEMU starts (a usage error, exit 2), and [`watch_progress`] ends a
//! replay that stops reading its log, with the likely cause.
//!
//! What QEMU 7.2 needs, in record and replay alike ([`RecordReplay::args`],
//! [`RecordReplay::drive_args`]): `-icount shift=N,rr=...,rrfile=...`; the
//! disk behind a `blkreplay` driver; `snapshot=on` on every writable drive
//! (the disk and OVMF's variable store), which also keeps the recording's
//! files unchanged and lets gdb's reverse steps reload snapshots; and
//! `-global apic-common.vapic=off`, without which reverse steps lock QEMU
//! up (the kvmvapic reset waits for the vCPU while the replay lock is held).

mod manifest;
mod progress;

use manifest::FORMAT;
pub use manifest::{Copied, Manifest};
pub use progress::{STALL_AFTER_SECS, watch_progress};

use crate::bootable::firmware::{Firmware, Ovmf};
use crate::emulator::qemu::{Direction, RecordReplay};
use crate::error::Failure;
use crate::verdict::End;
use sha2::{Digest, Sha256};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The `-icount` shift of every recording: each guest instruction counts
/// 2^7 ns of virtual time. A fixed value (not `auto`) keeps UEFI's log small
/// (about 6.5 MB; `auto` gave 67 MB, 0 gave 730 MB) and makes the TSC
/// advance exactly 2^7 per instruction.
pub const SHIFT: u32 = 7;

/// The files of a recording directory.
const MANIFEST: &str = "manifest.json";
const LOG: &str = "replay.log";
const IMAGE: &str = "disk.img";
const KERNEL: &str = "kernel.elf";
const OVMF_CODE: &str = "OVMF_CODE.fd";
const OVMF_VARS: &str = "OVMF_VARS.fd";
const OVMF_COMBINED: &str = "OVMF.fd";

/// A replay's own files (see [`Recording::replay_files`]).
pub struct ReplayFiles {
    /// COM1 with gdb (`--gdb` keeps it off gdb's terminal).
    pub serial_log: PathBuf,
    /// COM2, the kernel's event lines.
    pub events: PathBuf,
    /// Holds the files; removed when dropped.
    _dir: tempfile::TempDir,
}

/// A recording directory whose manifest has been read (and, for a replay,
/// checked).
#[derive(Debug, Clone)]
pub struct Recording {
    dir: PathBuf,
    /// Whether this run makes the recording or replays it.
    direction: Direction,
    pub manifest: Manifest,
}

impl Recording {
    /// Copies what a replay needs into `dir` (created if missing; refused if
    /// it holds anything but an earlier recording) and returns the
    /// recording to run: the run itself uses the copies, so record and
    /// replay boot the very same files. The manifest is written by
    /// [`Recording::end`], once the run's status is known.
    pub fn create(
        dir: &Path,
        qemu: &Path,
        elf: &Path,
        image: &Path,
        firmware: &Firmware,
        qemu_args: &[OsString],
    ) -> Result<Self, Failure> {
        prepare_dir(dir)?;
        let copy = |from: &Path, name: &str| copy_into(dir, from, name);
        let firmware_files = match firmware {
            Firmware::Bios => vec![],
            Firmware::Uefi(Ovmf::Split { code, vars }) => {
                vec![copy(code, OVMF_CODE)?, copy(vars, OVMF_VARS)?]
            }
            Firmware::Uefi(Ovmf::Combined(file)) => vec![copy(file, OVMF_COMBINED)?],
        };
        let manifest = Manifest {
            format: FORMAT,
            qemu: qemu_version(qemu)?,
            firmware: firmware.name().into(),
            shift: SHIFT,
            serial_ports: 0,
            kernel: copy(elf, KERNEL)?,
            image: copy(image, IMAGE)?,
            firmware_files,
            qemu_args: qemu_args
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
            status: None,
        };
        // An earlier recording's manifest would describe the new files.
        remove_if_present(&dir.join(MANIFEST))?;
        Ok(Recording {
            dir: dir.to_path_buf(),
            direction: Direction::Record,
            manifest,
        })
    }

    /// Reads the recording in `dir` and checks, before QEMU starts, that
    /// it can be replayed here: its files are unchanged, it was made by this
    /// QEMU, it ran to its end, and `kernel` (the ELF the user named, if
    /// any) and `uefi` (if asked for) are what was recorded. Each mismatch
    /// is a usage error (exit 2) that says what differs.
    pub fn open(
        dir: &Path,
        qemu: &Path,
        kernel: Option<&Path>,
        uefi: bool,
    ) -> Result<Self, Failure> {
        let path = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Failure::usage(format!(
                "{} is not a recording (cannot read {}: {e}); make one with --record {}",
                dir.display(),
                path.display(),
                dir.display()
            ))
        })?;
        let manifest: Manifest = serde_json::from_str(&text).map_err(|e| {
            Failure::usage(format!("{} is not a valid manifest: {e}", path.display()))
        })?;
        let recording = Recording {
            dir: dir.to_path_buf(),
            direction: Direction::Replay,
            manifest,
        };
        recording.check_names()?;
        recording.check(qemu, kernel, uefi)?;
        Ok(recording)
    }

    /// Refuses a manifest that names a file outside the recording: a
    /// recording is a directory people hand to each other, and a replay
    /// must boot what is in it, not `../something` or `/elsewhere` (nor a
    /// symlink in it that leads out), or whose hashes are not hashes.
    /// Checked before anything is read or hashed.
    fn check_names(&self) -> Result<(), Failure> {
        let m = &self.manifest;
        let entries = [("kernel", &m.kernel), ("image", &m.image)]
            .into_iter()
            .chain(m.firmware_files.iter().map(|c| ("firmware file", c)));
        let inside = self.dir.canonicalize().ok();
        for (entry, copied) in entries {
            let file = &copied.file;
            let refuse = |why: &str| {
                Failure::usage(format!(
                    "the recording in {} names {file:?} as its {entry}, which {why}: \
                     a recording's files are plain names inside its directory",
                    self.dir.display()
                ))
            };
            if !is_plain_name(file) {
                return Err(refuse("is not a plain file name"));
            }
            if !is_sha256(&copied.sha256) {
                return Err(Failure::usage(format!(
                    "the recording in {} gives {:?} as the SHA-256 of its {entry}: \
                     not 64 hex digits, so not a manifest this tool wrote",
                    self.dir.display(),
                    copied.sha256
                )));
            }
            // A missing file is reported when it is hashed.
            let target = self.dir.join(file).canonicalize().ok();
            if let (Some(inside), Some(target)) = (&inside, target)
                && !target.starts_with(inside)
            {
                return Err(refuse(&format!(
                    "leads out of the recording (to {})",
                    target.display()
                )));
            }
        }
        Ok(())
    }

    /// The checks of [`Recording::open`].
    fn check(&self, qemu: &Path, kernel: Option<&Path>, uefi: bool) -> Result<(), Failure> {
        let m = &self.manifest;
        let dir = self.dir.display();
        if m.format != FORMAT {
            return Err(Failure::usage(format!(
                "the recording in {dir} has manifest format {}, this tool reads {FORMAT}: record again",
                m.format
            )));
        }
        if m.status.is_none() {
            return Err(Failure::usage(format!(
                "the recording in {dir} is incomplete: its run was killed (timeout or Ctrl-C) \
                 before QEMU exited, so its log has no end; record again"
            )));
        }
        if uefi && !self.firmware().is_uefi() {
            return Err(Failure::usage(format!(
                "--uefi, but the recording in {dir} was made with {}",
                m.firmware
            )));
        }
        let here = qemu_version(qemu)?;
        if here != m.qemu {
            return Err(Failure::usage(format!(
                "the recording in {dir} was made by {:?}, this is {here:?}: \
                 another QEMU does not replay it; record again",
                m.qemu
            )));
        }
        for copied in self.files() {
            let path = self.dir.join(&copied.file);
            let now = sha256_of(&path)?;
            if now != copied.sha256 {
                return Err(Failure::usage(format!(
                    "{} has changed since it was recorded (sha256 {}, recorded {}): \
                     a replay of a changed file hangs; record again",
                    path.display(),
                    short(&now),
                    short(&copied.sha256)
                )));
            }
        }
        if let Some(kernel) = kernel {
            let given = sha256_of(kernel)?;
            if given != m.kernel.sha256 {
                return Err(Failure::usage(format!(
                    "the recording in {dir} was made for another kernel: {} (sha256 {}), \
                     not {} (sha256 {}); record this one with --record",
                    m.kernel.from.display(),
                    short(&m.kernel.sha256),
                    kernel.display(),
                    short(&given)
                )));
            }
        }
        let log = self.dir.join(LOG);
        if !log.is_file() {
            return Err(Failure::usage(format!(
                "the recording in {dir} has no replay log {}",
                log.display()
            )));
        }
        Ok(())
    }

    /// Every copied file the manifest lists.
    fn files(&self) -> impl Iterator<Item = &Copied> {
        let m = &self.manifest;
        [&m.kernel, &m.image]
            .into_iter()
            .chain(m.firmware_files.iter())
    }

    /// The recording's copy of the kernel ELF (gdb reads its symbols).
    pub fn kernel(&self) -> PathBuf {
        self.dir.join(&self.manifest.kernel.file)
    }

    /// The recording's copy of the disk image.
    pub fn image(&self) -> PathBuf {
        self.dir.join(&self.manifest.image.file)
    }

    /// The firmware, from the recording's copies.
    pub fn firmware(&self) -> Firmware {
        let path = |name: &str| self.dir.join(name);
        let names: Vec<&str> = self
            .manifest
            .firmware_files
            .iter()
            .map(|c| c.file.as_str())
            .collect();
        match names.as_slice() {
            [] => Firmware::Bios,
            [combined] => Firmware::Uefi(Ovmf::Combined(path(combined))),
            [code, vars, ..] => Firmware::Uefi(Ovmf::Split {
                code: path(code),
                vars: path(vars),
            }),
        }
    }

    /// The user's extra QEMU arguments of the recorded run.
    pub fn qemu_args(&self) -> Vec<OsString> {
        self.manifest.qemu_args.iter().map(OsString::from).collect()
    }

    /// The recording directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether this run records or replays.
    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// The record/replay options of this run.
    pub fn record_replay(&self) -> RecordReplay {
        RecordReplay {
            direction: self.direction,
            shift: self.manifest.shift,
            log: self.log(),
        }
    }

    /// QEMU's replay log.
    pub fn log(&self) -> PathBuf {
        self.dir.join(LOG)
    }

    /// QEMU's extra arguments for this run: a replay's are the recorded
    /// ones, then the user's (which [`watch_progress`] names if the replay
    /// stalls); a recording's are the user's.
    pub fn extra_args(&self, user: &[OsString]) -> Vec<OsString> {
        match self.direction {
            Direction::Record => user.to_vec(),
            Direction::Replay => [self.qemu_args(), user.to_vec()].concat(),
        }
    }

    /// Where a replay writes COM1 (with gdb) and COM2: a directory of its
    /// own, removed when dropped, so that replays of one recording can run
    /// side by side. `None` for a recording (its run writes next to the
    /// kernel, as a plain run does).
    pub fn replay_files(&self) -> Result<Option<ReplayFiles>, Failure> {
        if self.direction == Direction::Record {
            return Ok(None);
        }
        let dir = tempfile::Builder::new()
            .prefix("boot-replay-")
            .tempdir()
            .map_err(|e| Failure::failed(format!("creating a directory for the replay: {e}")))?;
        Ok(Some(ReplayFiles {
            serial_log: dir.path().join("serial.log"),
            events: dir.path().join("events"),
            _dir: dir,
        }))
    }

    /// Tells the user what this run does with the recording.
    pub fn announce(&self) {
        let what = match self.direction {
            Direction::Record => "recording into",
            Direction::Replay => "replaying",
        };
        let cwd = std::env::current_dir().unwrap_or_default();
        let dir = self.dir.strip_prefix(&cwd).unwrap_or(&self.dir);
        eprintln!(
            "boot: {what} {} (icount shift={})",
            dir.display(),
            self.manifest.shift
        );
        if let Some(note) = self.rebuilt_since() {
            eprintln!("boot: {note}");
        }
    }

    /// For a replay: a note when the kernel ELF the recording was made from
    /// has changed since. The replay still runs the recorded copy, exactly;
    /// but gdb reads today's source files for it, and a user who rebuilt may
    /// expect the new build. Nothing when that file is gone.
    pub fn rebuilt_since(&self) -> Option<String> {
        if self.direction != Direction::Replay {
            return None;
        }
        let kernel = &self.manifest.kernel;
        let now = sha256_of(&kernel.from).ok()?;
        (now != kernel.sha256).then(|| {
            format!(
                "note: {} has changed since this recording (sha256 {}, recorded {}): \
                 this replays the recorded kernel, and gdb shows today's sources for it; \
                 --record records the new one",
                kernel.from.display(),
                short(&now),
                short(&kernel.sha256)
            )
        })
    }

    /// For a recording, notes how many serial ports QEMU's command line
    /// `args` has; for a replay, checks that it has as many as the recorded
    /// one (extra `-serial` options after `--` would make the replay hang).
    pub fn serial_ports(&mut self, args: &[OsString]) -> Result<(), Failure> {
        let count = args.iter().filter(|a| *a == "-serial").count();
        match self.direction {
            Direction::Record => self.manifest.serial_ports = count,
            Direction::Replay if count != self.manifest.serial_ports => {
                return Err(Failure::usage(format!(
                    "the replay's QEMU command line has {count} serial ports, the recording in {} had {}: \
                     a replay on another machine hangs",
                    self.dir.display(),
                    self.manifest.serial_ports
                )));
            }
            Direction::Replay => {}
        }
        Ok(())
    }

    /// After QEMU ended: a recording writes its manifest, with QEMU's exit
    /// status; a replay checks that it ended as recorded.
    pub fn end(&mut self, end: &End) -> Result<(), Failure> {
        let status = end.qemu_status();
        match self.direction {
            Direction::Record => self.finish(status),
            // Killed (Ctrl-C): the verdict says so.
            Direction::Replay if status.is_none() => Ok(()),
            Direction::Replay => self.check_status(status),
        }
    }

    /// Writes the manifest of a finished recording, with QEMU's exit
    /// status (`None` if it was killed).
    fn finish(&mut self, status: Option<i32>) -> Result<(), Failure> {
        self.manifest.status = status;
        let path = self.dir.join(MANIFEST);
        let text = serde_json::to_string_pretty(&self.manifest).expect("a manifest serialises");
        std::fs::write(&path, text + "\n")
            .map_err(|e| Failure::failed(format!("writing {} failed: {e}", path.display())))
    }

    /// Compares a replay's end with the recorded one: a replay that ends
    /// otherwise has diverged from its recording.
    fn check_status(&self, status: Option<i32>) -> Result<(), Failure> {
        if status == self.manifest.status {
            return Ok(());
        }
        Err(Failure::failed(format!(
            "the replay ended with QEMU status {}, the recording in {} with {}: the replay diverged",
            shown_status(status),
            self.dir.display(),
            shown_status(self.manifest.status)
        )))
    }
}

fn shown_status(status: Option<i32>) -> String {
    status.map_or("none (killed)".into(), |s| s.to_string())
}

/// Whether `name` names a file directly in a directory: one path
/// component, not `.` or `..`, no separator, no NUL.
fn is_plain_name(name: &str) -> bool {
    !matches!(name, "" | "." | "..") && !name.contains(['/', '\0'])
}

/// The first 12 hex digits of a hash, enough to tell two apart in a message.
fn short(hash: &str) -> &str {
    hash.char_indices()
        .nth(12)
        .map_or(hash, |(end, _)| &hash[..end])
}

/// Whether `hash` is a SHA-256 as [`sha256_of`] writes it: 64 lowercase
/// hex digits.
fn is_sha256(hash: &str) -> bool {
    hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Makes `dir` ready to receive a recording: created if missing; an
/// existing directory must be empty or hold an earlier recording (which
/// is replaced), so that `--record` never writes into an unrelated one.
fn prepare_dir(dir: &Path) -> Result<(), Failure> {
    let usage = |what: String| Failure::usage(format!("--record {}: {what}", dir.display()));
    if dir.exists() {
        let empty = std::fs::read_dir(dir)
            .map_err(|e| usage(format!("cannot read it: {e}")))?
            .next()
            .is_none();
        if !empty && !dir.join(MANIFEST).is_file() && !dir.join(LOG).is_file() {
            return Err(usage(format!(
                "the directory is not empty and holds no recording ({MANIFEST}); \
                 name a new or empty directory"
            )));
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| usage(format!("cannot create it: {e}")))
}

/// Copies `from` to `dir/name` and hashes the copy.
fn copy_into(dir: &Path, from: &Path, name: &str) -> Result<Copied, Failure> {
    let to = dir.join(name);
    std::fs::copy(from, &to).map_err(|e| {
        Failure::failed(format!(
            "copying {} to {} failed: {e}",
            from.display(),
            to.display()
        ))
    })?;
    Ok(Copied {
        file: name.into(),
        from: from.to_path_buf(),
        sha256: sha256_of(&to)?,
    })
}

fn remove_if_present(path: &Path) -> Result<(), Failure> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Failure::failed(format!(
            "removing {} failed: {e}",
            path.display()
        ))),
        _ => Ok(()),
    }
}

/// SHA-256 of the file at `path`, in lowercase hex.
fn sha256_of(path: &Path) -> Result<String, Failure> {
    // Whole files in memory: the largest, a UEFI image, is a few MiB.
    let bytes = std::fs::read(path)
        .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))?;
    Ok(Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// The first line of `qemu --version`, e.g. `QEMU emulator version 7.2.22
/// (Debian 1:7.2+dfsg-7+deb12u18+b3)`.
fn qemu_version(qemu: &Path) -> Result<String, Failure> {
    let output = Command::new(qemu)
        .arg("--version")
        .output()
        .map_err(|e| Failure::usage(format!("cannot run {} --version: {e}", qemu.display())))?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .next()
        .filter(|line| output.status.success() && !line.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| Failure::usage(format!("{} --version printed nothing", qemu.display())))
}

#[cfg(test)]
mod tests;

/// Property tests of the manifest reader: any bytes, a real manifest edited
/// as text, and a real manifest with any value in any field, are a
/// recording that opens or a refusal in one line, and never a panic.
/// `PROPTEST_CASES` sets how many cases (`make fuzz` runs many more).
#[cfg(test)]
mod properties;
