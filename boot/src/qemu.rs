//! Starts QEMU, forwards the guest's serial output and waits for the end.
//!
//! QEMU must never outlive the tool: it gets PR_SET_PDEATHSIG=SIGKILL (covers
//! the tool being killed outright), and [`Qemu`] kills and reaps it when
//! dropped (covers every return path: timeout, errors, Ctrl-C).

use crate::discover::Ovmf;
use crate::error::Failure;
use crate::serial::{self, FirmwareFilter, Tail};
use crate::signals;
use crate::status::Outcome;
use std::ffi::OsString;
use std::io;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often the wait loop checks for exit, timeout and Ctrl-C.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// The firmware QEMU boots the disk image with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FirmwareArgs {
    /// QEMU's built-in SeaBIOS.
    Bios,
    /// OVMF as two pflash drives: read-only code, and a private writable copy
    /// of the variable store (the firmware writes to it).
    UefiPflash { code: PathBuf, vars_copy: PathBuf },
    /// A combined OVMF image passed with `-bios`.
    UefiBios(PathBuf),
}

impl FirmwareArgs {
    /// Sets up `ovmf` for booting `image`: copies a split variable store next
    /// to the image so the installed template is never written to.
    pub fn uefi(ovmf: &Ovmf, image: &Path) -> Result<Self, Failure> {
        match ovmf {
            Ovmf::Combined(path) => Ok(FirmwareArgs::UefiBios(path.clone())),
            Ovmf::Split { code, vars } => {
                let mut vars_copy = image.as_os_str().to_owned();
                vars_copy.push(".OVMF_VARS.fd");
                let vars_copy = PathBuf::from(vars_copy);
                crate::image::replace_with_copy(vars, &vars_copy)?;
                Ok(FirmwareArgs::UefiPflash {
                    code: code.clone(),
                    vars_copy,
                })
            }
        }
    }
}

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
    pub firmware: FirmwareArgs,
    pub serial: Serial,
    /// `Some(port)`: start paused (`-S`) with a gdbstub on 127.0.0.1:port.
    pub gdb_port: Option<u16>,
    /// The user's extra arguments, appended last so they can override ours.
    pub extra_args: Vec<OsString>,
}

impl QemuConfig {
    /// QEMU's arguments (without the program name).
    pub fn args(&self) -> Vec<OsString> {
        let mut args = vec!["-drive".into(), joined("format=raw,file=", &self.image)];
        args.push("-serial".into());
        args.push(match &self.serial {
            Serial::Forward => "stdio".into(),
            Serial::File(path) => joined("file:", path),
        });
        // No window; `-no-reboot` turns a guest reset (triple fault) into an
        // exit with status 0; isa-debug-exit lets the kernel choose the status;
        // no network card: the firmware would spend ~0.7 s (TCG) on its boot ROM.
        let fixed = [
            "-display",
            "none",
            "-no-reboot",
            "-device",
            "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-m",
            "128M",
            "-net",
            "none",
        ];
        args.extend(fixed.map(OsString::from));
        match &self.firmware {
            FirmwareArgs::Bios => {}
            FirmwareArgs::UefiPflash { code, vars_copy } => {
                args.push("-drive".into());
                args.push(joined("if=pflash,format=raw,readonly=on,file=", code));
                args.push("-drive".into());
                args.push(joined("if=pflash,format=raw,readonly=off,file=", vars_copy));
            }
            FirmwareArgs::UefiBios(image) => {
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
    tail: Arc<Mutex<Tail>>,
}

impl Qemu {
    /// Starts QEMU in its own process group with stdin from /dev/null.
    ///
    /// Must be called from the main thread: the parent-death signal fires
    /// when the *thread* that spawned the child exits.
    pub fn spawn(config: &QemuConfig) -> Result<Self, Failure> {
        let mut command = Command::new(&config.program);
        command.args(config.args()).stdin(Stdio::null());
        command.stdout(match config.serial {
            Serial::Forward => Stdio::piped(),
            Serial::File(_) => Stdio::null(),
        });
        // Its own process group: the terminal's Ctrl-C must reach only the
        // tool (and gdb), which then decides what happens to QEMU.
        command.process_group(0);
        let parent = std::process::id();
        // SAFETY: the closure runs in the forked child before exec and only
        // calls async-signal-safe functions (prctl, getppid); it does not
        // allocate (the error is built from a raw OS error code).
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                    return Err(io::Error::last_os_error());
                }
                // The tool may have died between fork and prctl.
                if libc::getppid() as u32 != parent {
                    return Err(io::Error::from_raw_os_error(libc::ESRCH));
                }
                Ok(())
            });
        }
        let mut child = command.spawn().map_err(|e| {
            Failure::usage(format!("cannot start {}: {e}", config.program.display()))
        })?;
        let tail = Arc::new(Mutex::new(Tail::default()));
        let forwarder = child.stdout.take().map(|stdout| {
            let tail = Arc::clone(&tail);
            let filter = FirmwareFilter::new(config.firmware != FirmwareArgs::Bios);
            std::thread::spawn(move || serial::forward(stdout, filter, &tail))
        });
        Ok(Qemu {
            child,
            exit: None,
            forwarder,
            tail,
        })
    }

    /// QEMU's exit, if it has exited (non-blocking).
    pub fn try_outcome(&mut self) -> Result<Option<Outcome>, Failure> {
        if self.exit.is_none() {
            self.exit = self
                .child
                .try_wait()
                .map_err(|e| Failure::failed(format!("waiting for QEMU: {e}")))?;
        }
        Ok(self.exit.map(|status| {
            self.finish_forwarding();
            outcome_of(status)
        }))
    }

    /// Waits until QEMU exits, `timeout` passes (then kills it), or Ctrl-C
    /// is pressed (then kills it).
    pub fn wait(&mut self, timeout: Option<Duration>) -> Result<Outcome, Failure> {
        let start = Instant::now();
        loop {
            if let Some(outcome) = self.try_outcome()? {
                return Ok(outcome);
            }
            if signals::interrupted() {
                self.kill();
                return Ok(Outcome::Interrupted);
            }
            if let Some(limit) = timeout
                && start.elapsed() >= limit
            {
                self.kill();
                let last_lines = self.tail.lock().expect("tail lock").lines();
                return Ok(Outcome::TimedOut {
                    secs: limit.as_secs(),
                    last_lines,
                });
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    /// Kills QEMU (if still running), reaps it and drains its output.
    pub fn kill(&mut self) {
        if self.exit.is_none() {
            // Fails only if it already exited; `wait` below reaps it either way.
            let _ = self.child.kill();
            self.exit = self.child.wait().ok();
        }
        self.finish_forwarding();
    }

    /// Waits for the forwarding thread, which ends at EOF once QEMU is gone.
    fn finish_forwarding(&mut self) {
        if let Some(thread) = self.forwarder.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Maps a wait status to an [`Outcome`].
fn outcome_of(status: ExitStatus) -> Outcome {
    match (status.code(), status.signal()) {
        (Some(code), _) => Outcome::Exited(code),
        (None, Some(signal)) => Outcome::Signaled(signal),
        (None, None) => Outcome::Signaled(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(firmware: FirmwareArgs, serial: Serial, gdb_port: Option<u16>) -> QemuConfig {
        QemuConfig {
            program: "qemu-system-x86_64".into(),
            image: "/t/kernel.bios.img".into(),
            firmware,
            serial,
            gdb_port,
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
            joined(&config(FirmwareArgs::Bios, Serial::Forward, None)),
            "-drive format=raw,file=/t/kernel.bios.img -serial stdio -display none -no-reboot \
             -device isa-debug-exit,iobase=0xf4,iosize=0x04 -m 128M -net none -smp 2"
        );
    }

    #[test]
    fn uefi_pflash_gdb_and_serial_file() {
        let firmware = FirmwareArgs::UefiPflash {
            code: "/o/CODE.fd".into(),
            vars_copy: "/t/VARS.fd".into(),
        };
        let line = joined(&config(
            firmware,
            Serial::File("/t/serial.log".into()),
            Some(1234),
        ));
        assert!(line.contains("-serial file:/t/serial.log"), "{line}");
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
            FirmwareArgs::UefiBios("/o/OVMF.fd".into()),
            Serial::Forward,
            None,
        ));
        assert!(line.contains("-bios /o/OVMF.fd"), "{line}");
    }
}
