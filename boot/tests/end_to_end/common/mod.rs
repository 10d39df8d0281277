//! Helpers shared by the integration tests: where the workspace is, the
//! kernel ELFs (built once for the whole suite), the machine the tests share
//! ([`sharing_the_machine`], [`the_machine_alone`]), and reading numbers out
//! of the kernel's and gdb's output.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

pub mod events;
pub mod recording;

pub use boot::bootable::kernel::workspace_root;

/// The ELF of every kernel binary (`kernel`, `test_*`, `fault_*`), by name,
/// built once for the suite with the boot tool's own `cargo kbuild --bins`.
///
/// These ELFs are shared: a test that boots one makes its disk image and
/// event file next to it, so a kernel booted by tests that may run at the
/// same time is booted from a [`KernelCopy`]. Only a few boot shared ELFs,
/// each a different one: the fault tests, `runner`'s test of `--bin` and
/// the book's `run` listing.
fn kernels() -> &'static HashMap<String, PathBuf> {
    static KERNELS: OnceLock<HashMap<String, PathBuf>> = OnceLock::new();
    KERNELS.get_or_init(|| {
        boot::bootable::kernel::build_all_kernels().unwrap_or_else(|failure| panic!("{failure}"))
    })
}

/// The machine the tests share. libtest runs as many tests at once as the
/// machine has cores (two here; `--test-threads` changes it), and a test
/// that boots a guest (QEMU or Bochs, both emulating every instruction) or
/// runs another busy program (gdb, cargo, a script) keeps about a core busy
/// meanwhile, so about as many guests run as there are cores. Such a test
/// holds [`sharing_the_machine`] while it does. A test whose assertion
/// depends on how fast its guest runs (a timeout within which the kernel
/// must print a line, a pause in which gdb's TUI must redraw) holds
/// [`the_machine_alone`] instead: no other test's guest or busy program runs
/// beside it, so a neighbour cannot make it fail.
///
/// Never wait for another test's work while holding either (a shared
/// recording that another test is making, say): get it first. A waiting
/// [`the_machine_alone`] holds back new sharers, so such a wait could be
/// circular.
static MACHINE: RwLock<()> = RwLock::new(());

/// Held while a test boots a guest or runs a busy program (see [`MACHINE`]).
pub fn sharing_the_machine() -> RwLockReadGuard<'static, ()> {
    // A test that failed holding it poisons it; the machine is no worse for it.
    MACHINE
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Held while a timing-sensitive test runs its guest: no other test's
/// guest or busy program runs meanwhile (see [`MACHINE`]).
pub fn the_machine_alone() -> RwLockWriteGuard<'static, ()> {
    MACHINE
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The ELF of the kernel binary `name`.
pub fn kernel(name: &str) -> &'static Path {
    kernels()
        .get(name)
        .unwrap_or_else(|| panic!("kernel binary {name} was not built"))
}

/// A private copy of kernel binary `name` in a fresh directory under the
/// target directory, so the files the boot tool writes next to it (images,
/// events) are this test's alone; the directory goes when the copy is
/// dropped.
pub struct KernelCopy {
    dir: tempfile::TempDir,
    elf: PathBuf,
}

impl KernelCopy {
    /// Copies kernel binary `name`.
    pub fn new(name: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("boot-test-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .expect("create a test directory");
        let elf = dir.path().join(name);
        std::fs::copy(kernel(name), &elf).expect("copy the kernel");
        KernelCopy { dir, elf }
    }

    /// The copy's path.
    pub fn elf(&self) -> &Path {
        &self.elf
    }

    /// The copy's path as an argument.
    pub fn arg(&self) -> &str {
        self.elf.to_str().expect("UTF-8 path")
    }

    /// The image `boot` makes for this copy (BIOS or UEFI).
    pub fn image(&self, uefi: bool) -> PathBuf {
        boot::bootable::image::image_path(&self.elf, uefi)
    }

    /// The directory holding the copy.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// Fails if a QEMU running `image` outlived the `boot` that started it.
pub fn assert_no_qemu_left(image: &Path) {
    let left = boot::leftover::leftover_qemus(&image.to_string_lossy());
    assert!(left.is_empty(), "QEMU left running: {left:?}");
}

/// A running `boot --gdb-server`, killed when dropped so a failing
/// assertion leaves nothing running (its QEMU dies with it: PR_SET_PDEATHSIG).
pub struct GdbServer {
    child: Child,
    /// Its stderr, line by line.
    lines: Receiver<String>,
    /// The lines read so far.
    pub seen: Vec<String>,
    /// The gdbstub's port, read from the attach command it prints.
    pub port: u16,
}

impl GdbServer {
    /// Starts `boot --gdb-server` on `elf` and waits until it prints the
    /// attach command (QEMU listens then).
    pub fn start(elf: &Path, uefi: bool) -> Self {
        let elf = elf.to_str().expect("UTF-8 path");
        let uefi: &[&str] = if uefi { &["--uefi"] } else { &[] };
        Self::start_with(&[&[elf], uefi].concat())
    }

    /// Starts `boot ARGS --gdb-server` and waits as [`GdbServer::start`] does.
    pub fn start_with(args: &[&str]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_boot"));
        command.args(args).arg("--gdb-server");
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start boot --gdb-server");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = GdbServer {
            child,
            lines,
            seen: Vec::new(),
            port: 0,
        };
        loop {
            let line = server
                .lines
                .recv_timeout(Duration::from_secs(120))
                .unwrap_or_else(|_| {
                    panic!(
                        "no attach command from boot --gdb-server; it said:\n{}",
                        server.seen.join("\n")
                    )
                });
            server.seen.push(line.clone());
            if let Some(at) = line.find("127.0.0.1:") {
                let digits: String = line[at + "127.0.0.1:".len()..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                server.port = digits.parse().expect("port number");
                return server;
            }
        }
    }

    /// Waits (at most `limit`) for `boot` to exit; its status and everything
    /// it wrote to stderr.
    pub fn wait(&mut self, limit: Duration) -> (ExitStatus, String) {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for boot") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "boot --gdb-server still running after {limit:?}; it said:\n{}",
                self.seen.join("\n")
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        // The reader thread ends at EOF, which follows the exit.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(10)) {
            self.seen.push(line);
        }
        (status, self.seen.join("\n"))
    }

    /// The process id of the QEMU that `boot` started.
    pub fn qemu_pid(&self) -> u32 {
        child_running(self.child.id(), boot::discover::QEMU)
            .unwrap_or_else(|| panic!("no QEMU among the children of boot"))
    }
}

/// The child of process `parent` that runs `program` (the file name of its
/// first argument), if any (Linux only: reads `/proc`).
pub fn child_running(parent: u32, program: &str) -> Option<u32> {
    let children =
        std::fs::read_to_string(format!("/proc/{parent}/task/{parent}/children")).ok()?;
    children
        .split_whitespace()
        .filter_map(|pid| pid.parse().ok())
        .find(|pid: &u32| {
            std::fs::read_to_string(format!("/proc/{pid}/cmdline")).is_ok_and(|cmdline| {
                let first = Path::new(cmdline.split('\0').next().unwrap_or_default());
                first.file_name() == Some(program.as_ref())
            })
        })
}

impl Drop for GdbServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs gdb in batch mode with gdb/kernel.gdb and `commands`; returns what
/// it printed. Killed after two minutes.
pub fn run_gdb(elf: &Path, port: u16, commands: &[&str]) -> String {
    let script = workspace_root().join("gdb/kernel.gdb");
    let mut command = Command::new("gdb");
    command.args(["-q", "-nx", "-batch"]).arg(elf);
    command.args(["-ex", &format!("target remote 127.0.0.1:{port}")]);
    command.arg("-x").arg(&script);
    for c in commands {
        command.args(["-ex", c]);
    }
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start gdb (is it installed? make setup installs it)");
    let output = output_within(child, Duration::from_secs(120), "gdb");
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "gdb failed: {text}");
    text
}

/// The hexadecimal number right after `key` in `line` (`0x` optional).
pub fn hex_after(line: &str, key: &str) -> u64 {
    let start = line
        .find(key)
        .unwrap_or_else(|| panic!("no {key} in {line:?}"))
        + key.len();
    let digits: String = line[start..]
        .trim_start_matches("0x")
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    u64::from_str_radix(&digits, 16)
        .unwrap_or_else(|_| panic!("bad number after {key} in {line:?}"))
}

/// The decimal number right after `key` in `line`.
pub fn dec_after(line: &str, key: &str) -> u64 {
    let start = line
        .find(key)
        .unwrap_or_else(|| panic!("no {key} in {line:?}"))
        + key.len();
    let digits: String = line[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("bad number after {key} in {line:?}"))
}

/// The output of `child` once it exits; killed (and the test failed) if it
/// takes longer than `limit`, so a hung child never hangs the suite.
pub fn output_within(child: Child, limit: Duration, what: &str) -> Output {
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(output) => output.unwrap_or_else(|e| panic!("{what}'s output: {e}")),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("{what} did not finish within {} s", limit.as_secs());
        }
    }
}

/// Runs `command` (stdin closed) to completion, killed and the test failed
/// past a minute; `what` names it in the messages, and a program that does
/// not start is one `make setup` installs.
pub fn run_within_a_minute(mut command: Command, what: &str) -> Output {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {what} (make setup installs it): {e}"));
    output_within(child, Duration::from_secs(60), what)
}

/// Everything `output` printed, stdout then stderr.
pub fn said(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr)
}
