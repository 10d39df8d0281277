//! A running Bochs: started on its files, waited for until the kernel's last
//! event line, its own exit, the timeout or Ctrl-C, then stopped (SIGTERM,
//! then SIGKILL after [`TERM_GRACE`]) and reaped, also when dropped.

use super::POLL_INTERVAL;
use super::config::{Files, Stop, bochsrc, commands, symbol_file};
use super::install::Installation;
use super::watch::{EndWatch, Follow};
use crate::bootable::elf::Symbols;
use crate::emulator::serial::{self, Endings, FirmwareFilter, Tail};
use crate::error::Failure;
use crate::signals;
use crate::verdict::End;
use std::fs::File;
use std::io::ErrorKind;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long Bochs gets to exit after SIGTERM before it gets SIGKILL.
const TERM_GRACE: Duration = Duration::from_secs(2);
/// What Bochs prints on stderr before the reason it stops.
const EXIT_BANNER: &str = "Bochs is exiting with the following message:";
/// Bochs's reason when its display (SDL, which catches SIGTERM and SIGINT)
/// was asked to quit: headless, only a signal from outside asks that.
const ASKED_TO_QUIT: &str = "User requested shutdown";

/// Bochs's reason for stopping: the lines after [`EXIT_BANNER`] in its
/// output, up to the closing rule, on one line.
pub fn exit_reason(output: &str) -> Option<String> {
    let (_, after) = output.split_once(EXIT_BANNER)?;
    let reason: Vec<&str> = after
        .lines()
        .map(str::trim)
        .skip_while(|line| line.is_empty())
        .take_while(|line| !line.is_empty() && !line.starts_with("===="))
        .collect();
    (!reason.is_empty()).then(|| reason.join(" "))
}

/// A running Bochs, stopped and reaped when dropped.
pub struct Bochs {
    child: Child,
    /// Set once the child was reaped, so nothing signals a recycled pid.
    exit: Option<ExitStatus>,
    files: Files,
    watch: EndWatch,
    /// Tells [`Follow`] to read the rest of COM1 and end.
    stop_forwarding: Arc<AtomicBool>,
    /// The thread forwarding COM1 (plain runs only).
    forwarder: Option<JoinHandle<()>>,
    tail: Arc<Mutex<Tail>>,
}

impl Bochs {
    /// Writes the configuration and starts Bochs on `files.image`.
    ///
    /// A plain run (`debug` is `None`) runs in its own process group (the
    /// terminal's Ctrl-C reaches only the tool, which then stops Bochs) with
    /// stdin from /dev/null, and COM1 is forwarded to our stdout. With
    /// `debug` (the symbol table and where to stop), Bochs stays in the
    /// terminal's process group and has its stdin and stdout: Ctrl-C stops
    /// the simulation at the debugger's prompt; COM1 stays in its file.
    ///
    /// Must be called from the main thread (see [`signals::kill_with_parent`]).
    pub fn spawn(
        installation: &Installation,
        files: &Files,
        debug: Option<(&Symbols, &Stop)>,
    ) -> Result<Self, Failure> {
        let write = |path: &Path, text: &str| {
            std::fs::write(path, text)
                .map_err(|e| Failure::failed(format!("cannot write {}: {e}", path.display())))
        };
        write(&files.config, &bochsrc(installation, files)?)?;
        let first_commands = match debug {
            None => commands(None)?,
            Some((symbols, stop)) => {
                write(&files.symbols, &symbol_file(symbols))?;
                commands(Some((&files.symbols, stop)))?
            }
        };
        write(&files.commands, &first_commands)?;
        // A file left by an earlier run would end this one at its `exit` line.
        for stale in [&files.serial, &files.events] {
            match std::fs::remove_file(stale) {
                Err(e) if e.kind() != ErrorKind::NotFound => {
                    return Err(Failure::failed(format!(
                        "cannot remove {}: {e}",
                        stale.display()
                    )));
                }
                _ => {}
            }
        }
        let output = File::create(&files.output).map_err(|e| {
            Failure::failed(format!("cannot write {}: {e}", files.output.display()))
        })?;
        let output_too = output.try_clone().map_err(|e| {
            Failure::failed(format!("cannot write {}: {e}", files.output.display()))
        })?;

        let mut command = Command::new(&installation.program);
        command
            .arg("-q")
            .arg("-f")
            .arg(&files.config)
            .arg("-rc")
            .arg(&files.commands)
            .env("SDL_VIDEODRIVER", "dummy")
            .stderr(output);
        if debug.is_some() {
            command.stdin(Stdio::inherit()).stdout(Stdio::inherit());
        } else {
            command.stdin(Stdio::null()).stdout(output_too);
            command.process_group(0);
        }
        signals::kill_with_parent(&mut command);
        let child = command.spawn().map_err(|e| {
            Failure::usage(format!(
                "cannot start {}: {e}",
                installation.program.display()
            ))
        })?;
        let stop_forwarding = Arc::new(AtomicBool::new(false));
        let tail = Arc::new(Mutex::new(Tail::default()));
        let forwarder = debug.is_none().then(|| {
            let com1 = Follow::new(&files.serial, Arc::clone(&stop_forwarding));
            let tail = Arc::clone(&tail);
            std::thread::spawn(move || {
                serial::forward(
                    com1,
                    FirmwareFilter::new(false),
                    Endings::for_stdout(),
                    &tail,
                )
            })
        });
        Ok(Bochs {
            child,
            exit: None,
            files: files.clone(),
            watch: EndWatch::new(&files.events),
            stop_forwarding,
            forwarder,
            tail,
        })
    }

    /// Waits until the kernel's last event line comes (then stops Bochs),
    /// Bochs exits, `timeout` passes or Ctrl-C is pressed (then kills it).
    pub fn wait(&mut self, timeout: Duration) -> Result<End, Failure> {
        let start = Instant::now();
        loop {
            if let Some(code) = self.watch.poll()? {
                self.stop();
                return Ok(End::Kernel(code));
            }
            if let Some(status) = self.try_exit()? {
                // The line may have come just before Bochs stopped.
                if let Some(code) = self.watch.poll()? {
                    return Ok(End::Kernel(code));
                }
                return Ok(self.exited(status));
            }
            if signals::interrupted() {
                self.stop();
                return Ok(End::Interrupted);
            }
            if start.elapsed() >= timeout {
                self.stop();
                let last_lines = self.tail.lock().expect("tail lock").lines();
                return Ok(End::TimedOut {
                    secs: timeout.as_secs(),
                    last_lines,
                });
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    /// Waits, however long it takes, for the user to leave the debugger:
    /// Ctrl-C is theirs (it stops the simulation), not a reason to stop.
    pub fn wait_for_debugger(&mut self) -> Result<End, Failure> {
        let status = self
            .child
            .wait()
            .map_err(|e| Failure::failed(format!("waiting for Bochs: {e}")))?;
        self.exit = Some(status);
        signals::clear();
        match self.watch.poll()? {
            Some(code) => Ok(End::Kernel(code)),
            // The user's `q`.
            None if status.success() => Ok(End::EndedByDebugger),
            None => Ok(self.exited(status)),
        }
    }

    /// Bochs's exit status, if it has exited (non-blocking).
    fn try_exit(&mut self) -> Result<Option<ExitStatus>, Failure> {
        if self.exit.is_none() {
            self.exit = self
                .child
                .try_wait()
                .map_err(|e| Failure::failed(format!("waiting for Bochs: {e}")))?;
        }
        Ok(self.exit)
    }

    /// Bochs ended with `status` without being stopped by us: the rest of
    /// COM1 forwarded, and its reason read from its output; or a signal
    /// from outside ended it, which it died of or caught.
    fn exited(&mut self, status: ExitStatus) -> End {
        self.finish_forwarding();
        let com1 = std::fs::read(&self.files.serial).unwrap_or_default();
        let printed = com1.iter().filter(|&&b| b == b'\n').count();
        let Some(code) = status.code() else {
            return End::EndedFromOutside {
                signal: status.signal(),
                printed,
            };
        };
        let output = std::fs::read(&self.files.output).unwrap_or_default();
        let reason = exit_reason(&String::from_utf8_lossy(&output));
        if reason.as_deref().is_some_and(|r| r.contains(ASKED_TO_QUIT)) {
            return End::EndedFromOutside {
                signal: None,
                printed,
            };
        }
        End::Exited {
            status: code,
            reason,
            messages: Some(self.files.output.clone()),
        }
    }

    /// Stops Bochs if it still runs: SIGTERM (it shuts down cleanly), SIGKILL
    /// if it has not exited after [`TERM_GRACE`]; reaps it and forwards the
    /// rest of COM1.
    pub fn stop(&mut self) {
        if self.exit.is_none() {
            // SAFETY: kill(2) on the pid of our own child, not yet reaped
            // (`exit` is None), so the pid is still Bochs's.
            unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
            let start = Instant::now();
            while start.elapsed() < TERM_GRACE && matches!(self.child.try_wait(), Ok(None)) {
                std::thread::sleep(POLL_INTERVAL);
            }
            // Fails only if it already exited; `wait` reaps it either way.
            let _ = self.child.kill();
            self.exit = self.child.wait().ok();
        }
        self.finish_forwarding();
    }

    /// Lets the COM1 forwarder read the rest of the file, and waits for it.
    fn finish_forwarding(&mut self) {
        self.stop_forwarding.store(true, Ordering::SeqCst);
        if let Some(thread) = self.forwarder.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Bochs {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bochss_reason_is_read_from_its_output() {
        let output = "ALSA lib x\n\
            ========================================================================\n\
            Bochs is exiting with the following message:\n\
            [CPU0  ] exception(): 3rd (13) exception with no resolution\n\
            ========================================================================\n";
        let reason = exit_reason(output);
        assert_eq!(
            reason.as_deref(),
            Some("[CPU0  ] exception(): 3rd (13) exception with no resolution")
        );
        assert_eq!(exit_reason("no banner"), None);
    }
}
