//! Starts QEMU, forwards the guest's serial output and waits for the end.
//!
//! QEMU must never outlive the tool: it gets PR_SET_PDEATHSIG=SIGKILL (covers
//! the tool being killed outright), and [`Qemu`] kills and reaps it when
//! dropped (covers every return path: timeout, errors, Ctrl-C).

use crate::bootable::firmware::{Firmware, Ovmf};
use crate::emulator::serial::{self, Endings, FirmwareFilter, Tail};
use crate::error::Failure;
use crate::signals;
use crate::verdict::End;
use std::ffi::OsString;
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often the wait loop checks for exit, timeout and Ctrl-C.
// A hand-written poll rather than the `wait-timeout` crate: the loop must
// also notice Ctrl-C, so it would still be a loop around short waits.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// What QEMU prints on stderr when a gdb client's `kill` ends it; it then
/// exits with 0, as after a guest reset.
const GDB_KILL_MESSAGE: &str = "QEMU: Terminated via GDBstub";
/// What QEMU prints on stderr, followed by the signal's number, when a
/// SIGTERM, SIGINT or SIGHUP from outside ends it; it then exits with 0 too.
const TERMINATING_MESSAGE: &str = "terminating on signal ";

/// Where the guest's first serial port (COM1) goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Serial {
    /// Piped to the tool, which forwards it to its stdout line by line.
    Forward,
    /// Written by QEMU to this file (gdb mode, to keep gdb's terminal clean).
    File(PathBuf),
}

/// Everything that goes on QEMU's command line.
#[derive(Debug, Clone)]
pub struct QemuConfig {
    /// The `qemu-system-x86_64` binary.
    pub program: PathBuf,
    /// The raw disk image to boot.
    pub image: PathBuf,
    /// The firmware, with a private OVMF variable store when it has one
    /// (see [`crate::bootable::image::private_firmware`]).
    pub firmware: Firmware,
    /// Where COM1, the kernel's transcript, goes.
    pub serial: Serial,
    /// The file QEMU writes COM2, the kernel's event lines, to.
    pub events: PathBuf,
    /// `Some(port)`: start paused (`-S`) with a gdbstub on 127.0.0.1:port.
    pub gdb_port: Option<u16>,
    /// `Some`: record or replay the run (see [`crate::emulator::recording`]).
    pub record_replay: Option<RecordReplay>,
    /// The user's extra arguments, appended last so they can override ours.
    pub extra_args: Vec<OsString>,
}

impl QemuConfig {
    /// QEMU's arguments (without the program name).
    pub fn args(&self) -> Vec<OsString> {
        let mut args = match self.record_replay {
            None => vec!["-drive".into(), joined("format=raw,file=", &self.image)],
            Some(_) => RecordReplay::drive_args(&self.image),
        };
        // The first -serial is COM1, the second COM2 (protocol::COM1, COM2).
        args.push("-serial".into());
        args.push(match &self.serial {
            Serial::Forward => "stdio".into(),
            Serial::File(path) => joined("file:", path),
        });
        args.push("-serial".into());
        args.push(joined("file:", &self.events));
        // No window; `-no-reboot` turns a guest reset (triple fault) into an
        // exit with status 0; isa-debug-exit lets the kernel choose the status;
        // no network card: the firmware would spend ~0.7 s (TCG) on its boot ROM.
        args.extend(["-display", "none", "-no-reboot", "-device"].map(OsString::from));
        args.push(
            format!(
                "isa-debug-exit,iobase={:#x},iosize={:#04x}",
                protocol::QEMU_EXIT_PORT,
                protocol::QEMU_EXIT_IOSIZE
            )
            .into(),
        );
        args.extend(["-m", "128M", "-net", "none"].map(OsString::from));
        match &self.firmware {
            Firmware::Bios => {}
            Firmware::Uefi(Ovmf::Split { code, vars }) => {
                args.push("-drive".into());
                args.push(joined("if=pflash,format=raw,readonly=on,file=", code));
                args.push("-drive".into());
                // Record/replay needs snapshot=on on every writable drive.
                let vars_options = match self.record_replay {
                    None => "if=pflash,format=raw,readonly=off,file=",
                    Some(_) => "if=pflash,format=raw,readonly=off,snapshot=on,file=",
                };
                args.push(joined(vars_options, vars));
            }
            Firmware::Uefi(Ovmf::Combined(image)) => {
                args.push("-bios".into());
                args.push(image.into());
            }
        }
        if let Some(port) = self.gdb_port {
            // Bound to loopback only: the gdbstub gives full control of the guest.
            args.push("-S".into());
            args.push("-gdb".into());
            args.push(format!("tcp:127.0.0.1:{port}").into());
        }
        if let Some(record_replay) = &self.record_replay {
            args.extend(record_replay.args());
        }
        args.extend(self.extra_args.iter().cloned());
        args
    }
}

/// `prefix` followed by `path`, without requiring the path to be UTF-8.
fn joined(prefix: &str, path: &Path) -> OsString {
    let mut joined = OsString::from(prefix);
    joined.push(path);
    joined
}

/// A running QEMU, killed and reaped when dropped.
pub struct Qemu {
    child: Child,
    /// Set once the child was reaped, so `Drop` does not kill a recycled pid.
    exit: Option<ExitStatus>,
    /// The thread forwarding serial output (only with [`Serial::Forward`]).
    forwarder: Option<JoinHandle<()>>,
    /// The thread forwarding QEMU's own stderr.
    stderr_forwarder: Option<JoinHandle<()>>,
    tail: Arc<Mutex<Tail>>,
    /// COM1's file, when QEMU writes it ([`Serial::File`]).
    serial_file: Option<PathBuf>,
    /// What QEMU said on stderr about its end.
    said: Arc<StderrNotes>,
    /// For a QEMU started held ([`Qemu::spawn_held`]): what lets each
    /// forwarding thread go on, until [`Qemu::release`].
    held: Vec<Sender<()>>,
}

/// A forwarding thread's gate: `None` for a QEMU whose output goes out
/// from the start; otherwise the output waits for [`Qemu::release`], and
/// is thrown away if QEMU is killed first.
type Gate = Option<Receiver<()>>;

/// Whether a forwarding thread may forward: at once without a gate, else
/// once released.
fn opened(gate: Gate) -> bool {
    gate.is_none_or(|gate| gate.recv().is_ok())
}

/// What QEMU's stderr said about how it ended.
#[derive(Debug, Default)]
struct StderrNotes {
    /// A gdb client killed it ([`GDB_KILL_MESSAGE`]).
    killed_by_gdb: AtomicBool,
    /// A signal from outside ended it ([`TERMINATING_MESSAGE`]): its
    /// number, 0 if none.
    terminated_by: AtomicI32,
}

impl Qemu {
    /// Starts QEMU in its own process group with stdin from /dev/null; its
    /// stderr is forwarded to ours line by line.
    ///
    /// Must be called from the main thread: the parent-death signal fires
    /// when the *thread* that spawned the child exits.
    pub fn spawn(config: &QemuConfig) -> Result<Self, Failure> {
        Self::start(config, false)
    }

    /// [`Qemu::spawn`], its serial output and stderr held back (QEMU runs
    /// meanwhile) until [`Qemu::release`], and thrown away if it is killed
    /// first: a run started before the tool knows it is the right one.
    pub fn spawn_held(config: &QemuConfig) -> Result<Self, Failure> {
        Self::start(config, true)
    }

    /// Lets the output of a QEMU from [`Qemu::spawn_held`] through.
    pub fn release(&mut self) {
        for gate in self.held.drain(..) {
            let _ = gate.send(());
        }
    }

    fn start(config: &QemuConfig, held: bool) -> Result<Self, Failure> {
        let mut gates = Vec::new();
        let mut gate = || -> Gate {
            held.then(|| {
                let (open, gate) = mpsc::channel();
                gates.push(open);
                gate
            })
        };
        let mut command = Command::new(&config.program);
        command
            .args(config.args())
            .stdin(Stdio::null())
            .stderr(Stdio::piped());
        command.stdout(match config.serial {
            Serial::Forward => Stdio::piped(),
            Serial::File(_) => Stdio::null(),
        });
        // Its own process group: the terminal's Ctrl-C must reach only the
        // tool (and gdb), which then decides what happens to QEMU.
        command.process_group(0);
        signals::kill_with_parent(&mut command);
        let mut child = command.spawn().map_err(|e| {
            Failure::usage(format!("cannot start {}: {e}", config.program.display()))
        })?;
        let tail = Arc::new(Mutex::new(Tail::default()));
        let forwarder = child.stdout.take().map(|mut stdout| {
            let tail = Arc::clone(&tail);
            let filter = FirmwareFilter::new(config.firmware.is_uefi());
            let gate = gate();
            std::thread::spawn(move || {
                if opened(gate) {
                    serial::forward(stdout, filter, Endings::for_stdout(), &tail);
                } else {
                    let _ = io::copy(&mut stdout, &mut io::sink());
                }
            })
        });
        let said = Arc::new(StderrNotes::default());
        let stderr_forwarder = child.stderr.take().map(|stderr| {
            let said = Arc::clone(&said);
            let gate = gate();
            std::thread::spawn(move || {
                let out: Box<dyn Write> = if opened(gate) {
                    Box::new(io::stderr())
                } else {
                    Box::new(io::sink())
                };
                forward_stderr(stderr, out, &said);
            })
        });
        Ok(Qemu {
            child,
            exit: None,
            forwarder,
            stderr_forwarder,
            tail,
            serial_file: match &config.serial {
                Serial::Forward => None,
                Serial::File(path) => Some(path.clone()),
            },
            said,
            held: gates,
        })
    }

    /// QEMU's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// QEMU's exit, if it has exited (non-blocking).
    pub fn try_outcome(&mut self) -> Result<Option<End>, Failure> {
        if self.exit.is_none() {
            self.exit = self
                .child
                .try_wait()
                .map_err(|e| Failure::failed(format!("waiting for QEMU: {e}")))?;
        }
        let Some(status) = self.exit else {
            return Ok(None);
        };
        self.finish_forwarding();
        Ok(Some(end_of(status, &self.said, self.printed())))
    }

    /// QEMU's exit if it exits by itself within `grace` (no Ctrl-C check).
    pub fn exit_within(&mut self, grace: Duration) -> Result<Option<End>, Failure> {
        let start = Instant::now();
        loop {
            let outcome = self.try_outcome()?;
            if outcome.is_some() || start.elapsed() >= grace {
                return Ok(outcome);
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    /// Waits until QEMU exits, `timeout` passes (then kills it), or Ctrl-C
    /// is pressed (then kills it).
    pub fn wait(&mut self, timeout: Option<Duration>) -> Result<End, Failure> {
        self.wait_while(timeout, || Ok(()))
    }

    /// [`Qemu::wait`], also calling `healthy` at every poll: when it fails,
    /// QEMU is killed and its failure returned.
    pub fn wait_while(
        &mut self,
        timeout: Option<Duration>,
        mut healthy: impl FnMut() -> Result<(), Failure>,
    ) -> Result<End, Failure> {
        let start = Instant::now();
        loop {
            if let Some(outcome) = self.try_outcome()? {
                return Ok(outcome);
            }
            if let Err(failure) = healthy() {
                self.kill();
                return Err(failure);
            }
            if signals::interrupted() {
                self.kill();
                return Ok(End::Interrupted);
            }
            if let Some(limit) = timeout
                && start.elapsed() >= limit
            {
                self.kill();
                let last_lines = self.tail.lock().expect("tail lock").lines();
                return Ok(End::TimedOut {
                    secs: limit.as_secs(),
                    last_lines,
                });
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    /// How many lines the kernel printed on COM1: forwarded, or in its file.
    fn printed(&self) -> usize {
        match &self.serial_file {
            None => self.tail.lock().expect("tail lock").count(),
            Some(path) => {
                std::fs::read(path).map_or(0, |bytes| bytes.iter().filter(|&&b| b == b'\n').count())
            }
        }
    }

    /// Kills QEMU (if still running), reaps it and drains its output
    /// (throwing away what was held back).
    pub fn kill(&mut self) {
        self.held.clear();
        if self.exit.is_none() {
            // Fails only if it already exited; `wait` below reaps it either way.
            let _ = self.child.kill();
            self.exit = self.child.wait().ok();
        }
        self.finish_forwarding();
    }

    /// Waits for the forwarding threads, which end at EOF once QEMU is gone.
    fn finish_forwarding(&mut self) {
        for thread in [self.forwarder.take(), self.stderr_forwarder.take()]
            .into_iter()
            .flatten()
        {
            let _ = thread.join();
        }
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Copies QEMU's stderr to `out` (ours), noting whether it says a gdb
/// `kill` or a signal from outside ended it.
fn forward_stderr(stderr: impl io::Read, mut out: impl Write, said: &StderrNotes) {
    for line in BufReader::new(stderr).split(b'\n').map_while(Result::ok) {
        let text = String::from_utf8_lossy(&line);
        if text.contains(GDB_KILL_MESSAGE) {
            said.killed_by_gdb.store(true, Ordering::SeqCst);
        }
        if let Some((_, after)) = text.split_once(TERMINATING_MESSAGE) {
            let digits = after.split(|c: char| !c.is_ascii_digit()).next();
            if let Some(signal) = digits.and_then(|d| d.parse().ok()) {
                said.terminated_by.store(signal, Ordering::SeqCst);
            }
        }
        // Keeps reading even if our stderr is gone, so QEMU never blocks.
        let _ = out
            .write_all(&line)
            .and_then(|()| out.write_all(b"\n"))
            .and_then(|()| out.flush());
    }
}

/// How QEMU ended, from its wait status and what it `said` on stderr,
/// after the kernel `printed` lines. QEMU is never signalled by the tool
/// before this is asked: a signal ended it from outside.
fn end_of(status: ExitStatus, said: &StderrNotes, printed: usize) -> End {
    let terminated_by = said.terminated_by.load(Ordering::SeqCst);
    match (status.code(), status.signal()) {
        (Some(0), _) if said.killed_by_gdb.load(Ordering::SeqCst) => End::EndedByDebugger,
        (Some(0), _) if terminated_by != 0 => End::EndedFromOutside {
            signal: Some(terminated_by),
            printed,
        },
        (Some(code), _) => End::of_qemu_status(code),
        (_, signal) => End::EndedFromOutside { signal, printed },
    }
}

/// Record or replay, as QEMU's `rr=` option says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Record,
    Replay,
}

/// The record/replay part of QEMU's command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordReplay {
    pub direction: Direction,
    /// The `-icount` shift.
    pub shift: u32,
    /// QEMU's replay log.
    pub log: PathBuf,
}

impl RecordReplay {
    /// The disk image behind a `blkreplay` driver, which records (or
    /// replays) when each disk request completes; `snapshot=on` sends the
    /// guest's writes to a temporary overlay, so the image stays as it was
    /// recorded, and gives QEMU somewhere to keep gdb's snapshots.
    pub fn drive_args(image: &Path) -> Vec<OsString> {
        let mut direct = OsString::from("file=");
        direct.push(image);
        direct.push(",if=none,id=img-direct,format=raw,snapshot=on");
        vec![
            "-drive".into(),
            direct,
            "-drive".into(),
            "driver=blkreplay,if=none,image=img-direct,id=img-blkreplay".into(),
            "-device".into(),
            "ide-hd,drive=img-blkreplay".into(),
        ]
    }

    /// The options that turn record or replay on.
    pub fn args(&self) -> Vec<OsString> {
        let rr = match self.direction {
            Direction::Record => "record",
            Direction::Replay => "replay",
        };
        let mut icount = OsString::from(format!("shift={},rr={rr},rrfile=", self.shift));
        icount.push(&self.log);
        vec![
            "-icount".into(),
            icount,
            "-global".into(),
            "apic-common.vapic=off".into(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(firmware: Firmware, serial: Serial, gdb_port: Option<u16>) -> QemuConfig {
        QemuConfig {
            program: "qemu-system-x86_64".into(),
            image: "/t/kernel.bios.img".into(),
            firmware,
            serial,
            events: "/t/kernel.bios.events".into(),
            gdb_port,
            record_replay: None,
            extra_args: vec!["-smp".into(), "2".into()],
        }
    }

    fn joined(config: &QemuConfig) -> String {
        config
            .args()
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn bios_command_line() {
        assert_eq!(
            joined(&config(Firmware::Bios, Serial::Forward, None)),
            "-drive format=raw,file=/t/kernel.bios.img -serial stdio \
             -serial file:/t/kernel.bios.events -display none -no-reboot \
             -device isa-debug-exit,iobase=0xf4,iosize=0x04 -m 128M -net none -smp 2"
        );
    }

    #[test]
    fn uefi_pflash_gdb_and_serial_file() {
        let firmware = Firmware::Uefi(Ovmf::Split {
            code: "/o/CODE.fd".into(),
            vars: "/t/VARS.fd".into(),
        });
        let line = joined(&config(
            firmware,
            Serial::File("/t/serial.log".into()),
            Some(1234),
        ));
        assert!(
            line.contains("-serial file:/t/serial.log -serial file:/t/kernel.bios.events"),
            "COM1 to the log, then COM2 to the events file: {line}"
        );
        assert!(
            line.contains("-drive if=pflash,format=raw,readonly=on,file=/o/CODE.fd"),
            "{line}"
        );
        assert!(
            line.contains("-drive if=pflash,format=raw,readonly=off,file=/t/VARS.fd"),
            "{line}"
        );
        assert!(line.contains("-S -gdb tcp:127.0.0.1:1234"), "{line}");
        assert!(line.ends_with("-smp 2"), "{line}");
    }

    #[test]
    fn combined_ovmf_uses_bios_flag() {
        let line = joined(&config(
            Firmware::Uefi(Ovmf::Combined("/o/OVMF.fd".into())),
            Serial::Forward,
            None,
        ));
        assert!(line.contains("-bios /o/OVMF.fd"), "{line}");
        assert!(line.contains("-serial stdio -serial file:"), "{line}");
    }

    #[test]
    fn status_0_is_a_gdb_kill_or_a_signal_only_when_qemu_said_so() {
        let zero = ExitStatus::from_raw(0);
        let said = StderrNotes::default();
        assert_eq!(end_of(zero, &said, 3), End::of_qemu_status(0));
        said.terminated_by.store(15, Ordering::SeqCst);
        assert_eq!(
            end_of(zero, &said, 3),
            End::EndedFromOutside {
                signal: Some(15),
                printed: 3
            }
        );
        said.killed_by_gdb.store(true, Ordering::SeqCst);
        assert_eq!(end_of(zero, &said, 3), End::EndedByDebugger);
        let success = ExitStatus::from_raw(33 << 8);
        assert_eq!(
            end_of(success, &said, 3),
            End::Kernel(protocol::ExitCode::Success)
        );
        let killed = ExitStatus::from_raw(9);
        assert_eq!(
            end_of(killed, &StderrNotes::default(), 0),
            End::EndedFromOutside {
                signal: Some(9),
                printed: 0
            }
        );
    }

    #[test]
    fn stderr_is_forwarded_and_scanned_for_how_qemu_ended() {
        let said = StderrNotes::default();
        let mut out = Vec::new();
        forward_stderr(&b"qemu-system-x86_64: warning: x\n"[..], &mut out, &said);
        assert!(!said.killed_by_gdb.load(Ordering::SeqCst));
        let term =
            b"qemu-system-x86_64: terminating on signal 15 from pid 21435 (<unknown process>)\n";
        forward_stderr(&term[..], &mut out, &said);
        assert_eq!(said.terminated_by.load(Ordering::SeqCst), 15);
        let kill = b"qemu-system-x86_64: QEMU: Terminated via GDBstub\n";
        forward_stderr(&kill[..], &mut out, &said);
        assert!(said.killed_by_gdb.load(Ordering::SeqCst));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!(
                "qemu-system-x86_64: warning: x\n{}{}",
                String::from_utf8_lossy(term),
                String::from_utf8_lossy(kill)
            )
        );
    }
}
