//! Boots the BIOS image in Bochs (`--bochs`), or opens Bochs's own debugger
//! on it (`--bochs-debug`): a second emulator, with its own BIOS, VGA BIOS,
//! CPU model and timing, on which the same image must give the same
//! transcript.
//!
//! Where Bochs differs from QEMU, and what this module does about it:
//!
//! - **No exit device.** Bochs has no isa-debug-exit: the kernel's write to
//!   `protocol::QEMU_EXIT_PORT` goes nowhere and it halts. Just before that
//!   write it sends its last event line, `exit code=...`, on COM2: the tool
//!   watches the events file for that line ([`EndWatch`]), takes the code from
//!   it and stops Bochs (SIGTERM, then SIGKILL after [`TERM_GRACE`]).
//! - **Serial ports are files** (`mode=file`): COM1 is followed as Bochs
//!   appends to it and forwarded line by line ([`Follow`]), as QEMU's stdout is.
//! - **Headless through SDL2's dummy video driver.** The bootloader's BIOS
//!   stages want a VESA mode of 24 or 32 bits per pixel: the `rfb` display
//!   offers only 8-bit modes (stage 3 panics "pixel format not supported") and
//!   `term` none ("24 bpp graphics mode not supported"); `sdl2` offers
//!   800x600x24, and `SDL_VIDEODRIVER=dummy` keeps it off the screen.
//! - **Speed.** Bochs interprets every instruction, and `ips` is not a speed:
//!   it is how many instructions make one emulated second. The kernel's UART
//!   (38400 baud) takes 260 us of emulated time per byte, which the kernel
//!   spends polling; at `ips=50000000` each byte costs 13,000 instructions and a
//!   run of the kernel costs 21.6 s of CPU here; at [`IPS`], the lowest Bochs
//!   accepts, 1.5 s (README, "Other emulators").
//! - **A triple fault** resets the CPU by default; `reset_on_triple_fault=0`
//!   makes it a panic, which `panic: action=fatal` turns into Bochs's exit,
//!   as `-no-reboot` turns it into QEMU's.
//! - **The debugger is built in** (Debian's Bochs is built with it): Bochs
//!   starts at its prompt and first reads the commands of the `-rc` file: `c`
//!   for a plain run; a symbol file, a breakpoint and `c` for
//!   `--bochs-debug`, after which the prompt is the user's.

use crate::build::elf::Symbols;
use crate::error::{EXIT_INTERRUPTED, Failure};
use crate::paths::shown;
use crate::emulator::serial::{self, FirmwareFilter, Tail};
use crate::{discover, signals, verdict};
use protocol::ExitCode;
use protocol::event::Event;
use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, ErrorKind, Read, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The program: Debian's `bochs` is a script that runs `bochs-bin -q`
/// with `exec`, so the child's pid is the emulator's.
pub const PROGRAM: &str = "bochs";
/// The Debian packages: the emulator (with its debugger), its BIOS, the VGA
/// BIOS and the SDL2 display plugin.
pub const PACKAGES: &str = "bochs bochsbios vgabios bochs-sdl";
/// Where the Debian packages put the BIOS images.
const SHARE: &str = "/usr/share/bochs";
/// The ROM BIOS (package bochsbios).
const BIOS: &str = "BIOS-bochs-latest";
/// The VGA BIOS (a link into package vgabios).
const VGA_BIOS: &str = "VGABIOS-lgpl-latest";
/// The SDL2 display plugin (package bochs-sdl), where Debian puts it.
const SDL2_PLUGIN: &str = "/usr/lib/x86_64-linux-gnu/bochs/plugins/libbx_sdl2_gui.so";

/// Emulated instructions per emulated second: the lowest value Bochs
/// accepts, so that the kernel's serial output, paced by the UART's baud
/// rate in emulated time, costs the fewest instructions (see the module
/// documentation).
pub const IPS: u32 = 1_000_000;
/// The guest's memory, as QEMU's `-m 128M`.
const MEGS: u32 = 128;
/// A CPU model with long mode, NX and the rest the bootloader uses.
const CPU_MODEL: &str = "corei7_skylake_x";
/// How long Bochs gets to exit after SIGTERM before it gets SIGKILL.
const TERM_GRACE: Duration = Duration::from_secs(2);
/// How often the files Bochs writes are read and its exit checked.
const POLL_INTERVAL: Duration = Duration::from_millis(20);
/// What Bochs prints on stderr before the reason it stops.
const EXIT_BANNER: &str = "Bochs is exiting with the following message:";

/// The installed Bochs: the program and the two BIOS images it boots with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installation {
    /// The `bochs` program.
    pub program: PathBuf,
    /// The ROM BIOS.
    pub bios: PathBuf,
    /// The VGA BIOS.
    pub vga_bios: PathBuf,
}

impl Installation {
    /// Finds Bochs on the process's `PATH` and its files where Debian puts them.
    pub fn find() -> Result<Self, Failure> {
        Self::find_in(
            std::env::var_os("PATH").as_deref(),
            Path::new(SHARE),
            Path::new(SDL2_PLUGIN),
        )
    }

    /// Finds `bochs` in `path_var`, the BIOS images in `share` and the SDL2
    /// plugin at `sdl2_plugin`, or says which package to install. The plugin
    /// is only checked where its directory exists: another build of Bochs
    /// may have SDL2 built in.
    fn find_in(
        path_var: Option<&OsStr>,
        share: &Path,
        sdl2_plugin: &Path,
    ) -> Result<Self, Failure> {
        let program = discover::find_program(PROGRAM, PACKAGES, path_var)?;
        let file = |name: &str, what: &str, package: &str| {
            let path = share.join(name);
            if path.is_file() {
                Ok(path)
            } else {
                Err(Failure::usage(format!(
                    "{what} {} not found; install it with: sudo apt-get install {package}",
                    path.display()
                )))
            }
        };
        let bios = file(BIOS, "Bochs's BIOS", "bochsbios")?;
        let vga_bios = file(VGA_BIOS, "Bochs's VGA BIOS", "vgabios")?;
        if sdl2_plugin.parent().is_some_and(Path::is_dir) && !sdl2_plugin.exists() {
            return Err(Failure::usage(format!(
                "Bochs's SDL2 display plugin {} not found; install it with: sudo apt-get install bochs-sdl",
                sdl2_plugin.display()
            )));
        }
        Ok(Installation {
            program,
            bios,
            vga_bios,
        })
    }
}

/// The files of a Bochs boot, next to the image like QEMU's and named apart
/// from them, so a QEMU and a Bochs boot of one kernel can run at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Files {
    /// The image to boot.
    pub image: PathBuf,
    /// `<image>.bochsrc`: the machine.
    pub config: PathBuf,
    /// `<image>.bochs.rc`: the debugger's first commands (`-rc`).
    pub commands: PathBuf,
    /// `<image>.bochs.sym`: the kernel's symbols for the debugger (`ldsym`).
    pub symbols: PathBuf,
    /// `<image>.bochs.serial.log`: COM1, the transcript.
    pub serial: PathBuf,
    /// `<image>.bochs.events`: COM2, the event lines.
    pub events: PathBuf,
    /// `<image>.bochs.log`: Bochs's own log.
    pub log: PathBuf,
    /// `<image>.bochs.out`: what Bochs prints on stderr (and on stdout,
    /// outside the debugger), its reason for stopping included.
    pub output: PathBuf,
}

impl Files {
    /// The files for booting `image` (`<elf>.bios.img`).
    pub fn next_to(image: &Path) -> Self {
        let with = |extension: &str| image.with_extension(extension);
        Files {
            image: image.to_path_buf(),
            config: with("bochsrc"),
            commands: with("bochs.rc"),
            symbols: with("bochs.sym"),
            serial: with("bochs.serial.log"),
            events: with("bochs.events"),
            log: with("bochs.log"),
            output: with("bochs.out"),
        }
    }
}

/// `path` as a quoted value of a bochsrc or debugger line, or a usage error
/// for a path Bochs would read otherwise: it expands `$NAME` in its
/// configuration and has no escape for a quote.
fn quoted(path: &Path) -> Result<String, Failure> {
    let text = path.to_str().filter(|t| !t.contains(['"', '$', '\n']));
    text.map(|t| format!("\"{t}\"")).ok_or_else(|| {
        Failure::usage(format!(
            "Bochs cannot be given the path {} (it must be UTF-8 without '\"', '$' or a line break)",
            path.display()
        ))
    })
}

/// The machine, as a bochsrc.
pub fn bochsrc(installation: &Installation, files: &Files) -> Result<String, Failure> {
    Ok(format!(
        "# Written by boot (boot/src/emulator/bochs/) for each boot in Bochs.
megs: {MEGS}
cpu: model={CPU_MODEL}, ips={IPS}, reset_on_triple_fault=0
romimage: file={bios}
vgaromimage: file={vga_bios}
display_library: sdl2
# `volatile`: the image is opened read-only and writes go to a deleted
# temporary file. A `flat` image gets a lock file that a killed Bochs leaves
# behind, and the next boot of the image then fails (image locked).
ata0-master: type=disk, mode=volatile, path={image}
boot: disk
com1: enabled=1, mode=file, dev={serial}
com2: enabled=1, mode=file, dev={events}
# Without these, Bochs opens the host's sound card (ALSA) and complains.
speaker: enabled=0
sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy
log: {log}
panic: action=fatal
error: action=report
info: action=report
debug: action=ignore
",
        bios = quoted(&installation.bios)?,
        vga_bios = quoted(&installation.vga_bios)?,
        image = quoted(&files.image)?,
        serial = quoted(&files.serial)?,
        events = quoted(&files.events)?,
        log = quoted(&files.log)?,
    ))
}

/// Where `--bochs-debug` stops: the symbol and its address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stop {
    /// `switch_to_coro1`, or `the kernel's entry`.
    pub name: String,
    /// Its address (linear: the kernel runs in long mode, where linear
    /// addresses are the virtual ones).
    pub address: u64,
}

impl Stop {
    /// The phase 1 switch of the original program if the kernel has it,
    /// else the kernel's entry point (the fault kernels, `round_robin`).
    pub fn in_kernel(symbols: &Symbols) -> Self {
        match symbols.address("switch_to_coro1") {
            Some(address) => Stop {
                name: "switch_to_coro1".into(),
                address,
            },
            None => Stop {
                name: "the kernel's entry".into(),
                address: symbols.entry,
            },
        }
    }
}

/// The debugger's first commands: for a plain run just `c`; for
/// `--bochs-debug` the kernel's symbols (so addresses show as
/// `switch_to_coro1+7`), a linear breakpoint at `stop`, then `c`.
pub fn commands(debug: Option<(&Path, &Stop)>) -> Result<String, Failure> {
    Ok(match debug {
        None => "c\n".to_owned(),
        Some((symbols, stop)) => format!(
            "ldsym global {}\nlb {:#x}\nc\n",
            quoted(symbols)?,
            stop.address
        ),
    })
}

/// The symbol file `ldsym` reads: a hexadecimal address and a name a line.
pub fn symbol_file(symbols: &Symbols) -> String {
    symbols
        .by_address
        .iter()
        .map(|(address, name)| format!("{address:016x} {name}\n"))
        .collect()
}

/// Reads a file that another process appends to, from its start: at its
/// current end a read waits for more, until `stop` is set; then the rest is
/// read and the reader ends. The file may not exist yet.
pub struct Follow {
    path: PathBuf,
    file: Option<File>,
    stop: Arc<AtomicBool>,
}

impl Follow {
    /// Follows `path` until `stop` is set.
    pub fn new(path: &Path, stop: Arc<AtomicBool>) -> Self {
        Follow {
            path: path.to_path_buf(),
            file: None,
            stop,
        }
    }
}

impl Read for Follow {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            // The flag before the file: whatever was written before the
            // stop is read before the reader ends.
            let stopping = self.stop.load(Ordering::SeqCst);
            if self.file.is_none() {
                self.file = File::open(&self.path).ok();
            }
            if let Some(file) = &mut self.file {
                let n = file.read(buf)?;
                if n > 0 {
                    return Ok(n);
                }
            }
            if stopping {
                return Ok(0);
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }
}

/// Watches the events file for the kernel's last line, `exit code=...`.
#[derive(Debug)]
pub struct EndWatch {
    path: PathBuf,
    /// How far the file was read.
    offset: u64,
    /// The start of a line whose end was not written yet.
    partial: Vec<u8>,
}

impl EndWatch {
    /// Watches the events file at `path`.
    pub fn new(path: &Path) -> Self {
        EndWatch {
            path: path.to_path_buf(),
            offset: 0,
            partial: Vec::new(),
        }
    }

    /// Reads what was added since the last call: the code of the `exit`
    /// line if a complete one came. Lines that do not parse are left to
    /// [`crate::outputs::save_outputs`] to report.
    pub fn poll(&mut self) -> Result<Option<ExitCode>, Failure> {
        let fail = |e: io::Error| {
            Failure::failed(format!(
                "cannot read the event lines from {}: {e}",
                self.path.display()
            ))
        };
        let mut file = match File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(fail(e)),
        };
        file.seek(SeekFrom::Start(self.offset)).map_err(fail)?;
        let mut added = Vec::new();
        file.read_to_end(&mut added).map_err(fail)?;
        self.offset += added.len() as u64;
        self.partial.extend_from_slice(&added);
        let complete = self
            .partial
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let lines: Vec<u8> = self.partial.drain(..complete).collect();
        Ok(String::from_utf8_lossy(&lines).lines().find_map(|line| {
            match Event::parse(line.trim_end_matches('\r')) {
                Ok(Event::Exit { code, .. }) => Some(code),
                _ => None,
            }
        }))
    }
}

/// How a Bochs run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// The kernel's last event line said this; Bochs was then stopped.
    Kernel(ExitCode),
    /// Bochs exited by itself before that line, with Bochs's reason if it
    /// gave one (a triple fault, a bad configuration, a debugger `q`).
    Exited {
        success: bool,
        status: String,
        reason: Option<String>,
    },
    /// Stopped after `secs` seconds; `last_lines` is the serial tail.
    TimedOut { secs: u64, last_lines: Vec<String> },
    /// Stopped because the user pressed Ctrl-C.
    Interrupted,
}

/// `Ok(())` when the kernel reported success, otherwise the failure to
/// report; `output` is where Bochs's messages went.
pub fn verdict(end: &End, output: &Path) -> Result<(), Failure> {
    match end {
        End::Kernel(ExitCode::Success) => Ok(()),
        End::Kernel(ExitCode::Failed) => Err(Failure::failed(
            "the kernel reported a failure (its last event line: exit code=failed)",
        )),
        End::Exited { status, reason, .. } => {
            let mut message = format!("Bochs exited ({status}) before the kernel reported its end");
            match reason {
                Some(reason) => {
                    message.push_str(": ");
                    message.push_str(reason);
                    // Bochs's words for a triple fault under reset_on_triple_fault=0.
                    if reason.contains("3rd") && reason.contains("exception with no resolution") {
                        message.push_str(" (a triple fault)");
                    }
                }
                None => message.push_str(&format!("; see {}", output.display())),
            }
            Err(Failure::failed(message))
        }
        End::TimedOut { secs, last_lines } => Err(verdict::timed_out(*secs, "Bochs", last_lines)),
        End::Interrupted => Err(Failure {
            code: EXIT_INTERRUPTED,
            message: "interrupted; Bochs killed".into(),
        }),
    }
}

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
            std::thread::spawn(move || serial::forward(com1, FirmwareFilter::new(false), &tail))
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

    /// Bochs exited by itself with `status`: the rest of COM1 forwarded,
    /// and its reason read from its output.
    fn exited(&mut self, status: ExitStatus) -> End {
        self.finish_forwarding();
        let output = std::fs::read(&self.files.output).unwrap_or_default();
        End::Exited {
            success: status.success(),
            status: status.to_string(),
            reason: exit_reason(&String::from_utf8_lossy(&output)),
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

/// Boots `files.image` in Bochs: a plain run stopped at the kernel's end or
/// after `timeout`; with `debug`, Bochs's debugger stopped at
/// `switch_to_coro1` (or the kernel's entry), for as long as the user likes.
/// `elf` is the kernel with its symbols.
pub fn run(
    installation: &Installation,
    files: &Files,
    elf: &Path,
    debug: bool,
    timeout: Duration,
) -> Result<(), Failure> {
    signals::catch_sigint();
    if !debug {
        let mut bochs = Bochs::spawn(installation, files, None)?;
        let end = bochs.wait(timeout)?;
        bochs.stop();
        return verdict(&end, &files.output);
    }
    let symbols = Symbols::read(elf)?;
    let stop = Stop::in_kernel(&symbols);
    eprintln!(
        "boot: Bochs's debugger stops at {} ({:#x}); serial output goes to {}",
        stop.name,
        stop.address,
        shown(&files.serial).display()
    );
    // Bochs's expressions take no symbols: the slots' addresses, for `x`.
    let slots: Vec<String> = symbols
        .by_address
        .iter()
        .filter(|(_, name)| name.ends_with("_context"))
        .map(|(address, name)| format!("{name}={address:#x}"))
        .collect();
    if !slots.is_empty() {
        eprintln!("boot: context slots (x /1gx ADDRESS): {}", slots.join(" "));
    }
    eprintln!(
        "boot: `c` continues, `s` steps one instruction, Ctrl-C stops, `q` quits; Bochs's messages go to {}",
        shown(&files.output).display()
    );
    let mut bochs = Bochs::spawn(installation, files, Some((&symbols, &stop)))?;
    match bochs.wait_for_debugger()? {
        End::Exited { success: true, .. } => Err(Failure::ended_from_gdb(
            "the Bochs debugger session ended before the kernel finished; Bochs stopped",
        )),
        end => verdict(&end, &files.output),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{EXIT_FAILURE, EXIT_USAGE};
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::ExitStatusExt;

    fn installation() -> Installation {
        Installation {
            program: "/usr/bin/bochs".into(),
            bios: "/usr/share/bochs/BIOS-bochs-latest".into(),
            vga_bios: "/usr/share/bochs/VGABIOS-lgpl-latest".into(),
        }
    }

    #[test]
    fn files_sit_next_to_the_image_apart_from_qemus() {
        let files = Files::next_to(Path::new("/t/kernel.bios.img"));
        assert_eq!(files.config, Path::new("/t/kernel.bios.bochsrc"));
        assert_eq!(files.commands, Path::new("/t/kernel.bios.bochs.rc"));
        assert_eq!(files.serial, Path::new("/t/kernel.bios.bochs.serial.log"));
        assert_eq!(files.events, Path::new("/t/kernel.bios.bochs.events"));
        assert_ne!(files.events, crate::build::image::events_path(&files.image));
    }

    #[test]
    fn the_machine_has_both_serial_ports_no_reset_on_triple_fault_and_the_lowest_ips() {
        let files = Files::next_to(Path::new("/t/kernel.bios.img"));
        let rc = bochsrc(&installation(), &files).unwrap();
        for line in [
            "cpu: model=corei7_skylake_x, ips=1000000, reset_on_triple_fault=0",
            "megs: 128",
            "display_library: sdl2",
            "ata0-master: type=disk, mode=volatile, path=\"/t/kernel.bios.img\"",
            "romimage: file=\"/usr/share/bochs/BIOS-bochs-latest\"",
            "com1: enabled=1, mode=file, dev=\"/t/kernel.bios.bochs.serial.log\"",
            "com2: enabled=1, mode=file, dev=\"/t/kernel.bios.bochs.events\"",
            "panic: action=fatal",
        ] {
            assert!(rc.lines().any(|l| l == line), "no {line:?} in:\n{rc}");
        }
    }

    #[test]
    fn a_path_bochs_would_misread_is_a_usage_error() {
        for bad in ["/t/$HOME/k.img", "/t/\"k\".img", "/t/k\n.img"] {
            let files = Files::next_to(Path::new(bad));
            let err = bochsrc(&installation(), &files).unwrap_err();
            assert_eq!(err.code, EXIT_USAGE, "{bad:?}");
            assert!(err.message.starts_with("Bochs cannot be given the path"));
        }
        assert!(bochsrc(&installation(), &Files::next_to(Path::new("/t/a b,c.img"))).is_ok());
    }

    #[test]
    fn debugger_commands_load_the_symbols_and_break_at_the_stop() {
        assert_eq!(commands(None).unwrap(), "c\n");
        let stop = Stop {
            name: "switch_to_coro1".into(),
            address: 0xffff_ffff_8000_6528,
        };
        assert_eq!(
            commands(Some((Path::new("/t/k.bochs.sym"), &stop))).unwrap(),
            "ldsym global \"/t/k.bochs.sym\"\nlb 0xffffffff80006528\nc\n"
        );
    }

    #[test]
    fn the_stop_is_switch_to_coro1_else_the_entry() {
        let mut symbols = Symbols {
            entry: 0x1000,
            by_address: vec![(0x2000, "switch_to_coro1".into()), (0x3000, "x".into())],
        };
        assert_eq!(Stop::in_kernel(&symbols).address, 0x2000);
        assert_eq!(
            symbol_file(&symbols),
            "0000000000002000 switch_to_coro1\n0000000000003000 x\n"
        );
        symbols.by_address.remove(0);
        let stop = Stop::in_kernel(&symbols);
        assert_eq!(
            (stop.name.as_str(), stop.address),
            ("the kernel's entry", 0x1000)
        );
    }

    #[test]
    fn missing_pieces_name_their_package() {
        let root = tempfile::tempdir().unwrap();
        let (bin, share, plugins) = (
            root.path().join("bin"),
            root.path().join("share"),
            root.path().join("plugins"),
        );
        for dir in [&bin, &share, &plugins] {
            std::fs::create_dir(dir).unwrap();
        }
        let path_var = bin.as_os_str().to_owned();
        let plugin = plugins.join("libbx_sdl2_gui.so");
        let find = || Installation::find_in(Some(&path_var), &share, &plugin);
        let err = find().unwrap_err();
        assert_eq!(err.code, EXIT_USAGE);
        assert_eq!(
            err.message,
            format!("bochs not found; install it with: sudo apt-get install {PACKAGES}")
        );
        std::fs::write(bin.join("bochs"), "").unwrap();
        std::fs::set_permissions(bin.join("bochs"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        assert!(find().unwrap_err().message.ends_with("install bochsbios"));
        std::fs::write(share.join(BIOS), "").unwrap();
        assert!(find().unwrap_err().message.ends_with("install vgabios"));
        std::fs::write(share.join(VGA_BIOS), "").unwrap();
        assert!(find().unwrap_err().message.ends_with("install bochs-sdl"));
        std::fs::write(&plugin, "").unwrap();
        assert_eq!(find().unwrap().bios, share.join(BIOS));
        // A Bochs without a plugin directory there may have SDL2 built in.
        std::fs::remove_file(&plugin).unwrap();
        std::fs::remove_dir(&plugins).unwrap();
        assert!(find().is_ok());
    }

    #[test]
    fn the_end_is_a_complete_exit_line_however_the_file_grows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.events");
        let mut watch = EndWatch::new(&path);
        assert_eq!(watch.poll(), Ok(None), "no file yet");
        let append = |text: &str| {
            use std::io::Write;
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .unwrap();
            file.write_all(text.as_bytes()).unwrap();
        };
        append("phase number=1 title=x\r\nexit code=fail");
        assert_eq!(watch.poll(), Ok(None));
        append("ed switches=5 tsc=9");
        assert_eq!(watch.poll(), Ok(None), "the line is not complete yet");
        append("\r\n");
        assert_eq!(watch.poll(), Ok(Some(ExitCode::Failed)));
        assert_eq!(watch.poll(), Ok(None), "each line is seen once");
    }

    #[test]
    fn follow_reads_what_is_appended_until_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("com1");
        let stop = Arc::new(AtomicBool::new(false));
        let mut follow = Follow::new(&path, Arc::clone(&stop));
        let writer = {
            let path = path.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(50));
                std::fs::write(&path, "one\ntw").unwrap();
                std::thread::sleep(Duration::from_millis(50));
                stop.store(true, Ordering::SeqCst);
            })
        };
        let mut text = String::new();
        follow.read_to_string(&mut text).unwrap();
        writer.join().unwrap();
        assert_eq!(text, "one\ntw");
    }

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
        let end = End::Exited {
            success: false,
            status: ExitStatus::from_raw(1 << 8).to_string(),
            reason,
        };
        let err = verdict(&end, Path::new("/t/k.bochs.out")).unwrap_err();
        assert_eq!(err.code, EXIT_FAILURE);
        assert_eq!(
            err.message,
            "Bochs exited (exit status: 1) before the kernel reported its end: \
             [CPU0  ] exception(): 3rd (13) exception with no resolution (a triple fault)"
        );
    }

    #[test]
    fn verdicts() {
        let output = Path::new("/t/k.bochs.out");
        assert_eq!(verdict(&End::Kernel(ExitCode::Success), output), Ok(()));
        let failed = verdict(&End::Kernel(ExitCode::Failed), output).unwrap_err();
        assert_eq!(failed.code, EXIT_FAILURE);
        let silent = End::Exited {
            success: false,
            status: "signal: 9 (SIGKILL)".into(),
            reason: None,
        };
        assert_eq!(
            verdict(&silent, output).unwrap_err().message,
            "Bochs exited (signal: 9 (SIGKILL)) before the kernel reported its end; see /t/k.bochs.out"
        );
        let timed_out = End::TimedOut {
            secs: 3,
            last_lines: vec!["a".into()],
        };
        assert_eq!(
            verdict(&timed_out, output).unwrap_err().message,
            "timed out after 3 s; Bochs killed. Last serial lines:\n  a"
        );
        assert_eq!(verdict(&End::Interrupted, output).unwrap_err().code, 130);
    }
}
