//! `boot`: the host tool that builds, packages and boots the kernel in QEMU.
//!
//! It is also the cargo runner of the kernel target (see `.cargo/config.toml`),
//! so `cargo krun` hands it a freshly built ELF, and `cargo run` at the
//! workspace root runs it without one (it then builds the kernel itself).
//!
//! The steps, each in its own module: parse the command line ([`cli`]),
//! check the input and the host ([`elf`], [`discover`]), build the kernel
//! ([`kernel_build`]), make the disk image from a stripped copy ([`strip`],
//! [`image`]), run QEMU ([`qemu`])
//! while forwarding its serial output ([`serial`]), possibly with gdb
//! ([`gdb`]), and turn QEMU's exit into ours ([`status`]).

mod cli;
mod discover;
mod elf;
mod error;
mod gdb;
mod image;
mod kernel_build;
mod qemu;
mod serial;
mod signals;
mod status;
mod strip;
// The pictures of a run's event lines: only their tests call them until the
// `--trace` and `--svg` flags are wired in.
#[allow(dead_code)]
mod svg;
#[allow(dead_code)]
mod timeline;
#[allow(dead_code)]
mod trace;

use clap::Parser;
use cli::Args;
use error::Failure;
use image::Firmware;
use qemu::{FirmwareArgs, Qemu, QemuConfig, Serial};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("{failure}");
            failure.exit_code()
        }
    }
}

/// How QEMU is run, from the gdb flags.
enum Mode {
    /// Boot with a timeout, serial to stdout.
    Plain,
    /// Paused with a gdbstub; print how to attach and wait for QEMU.
    GdbServer { port: u16 },
    /// Paused with a gdbstub and gdb attached in the foreground.
    Gdb { port: u16, gdb: PathBuf },
}

impl Mode {
    /// The gdbstub port, if QEMU gets one.
    fn gdb_port(&self) -> Option<u16> {
        match self {
            Mode::Plain => None,
            Mode::GdbServer { port } | Mode::Gdb { port, .. } => Some(*port),
        }
    }
}

fn run(args: &Args) -> Result<(), Failure> {
    // Cheap checks first, so a typo or a missing program fails before a
    // kernel build.
    if let Some(kernel) = &args.kernel {
        elf::validate_kernel(kernel)?;
    }
    let qemu_program = discover::find_qemu()?;
    let ovmf = if args.uefi {
        Some(discover::find_ovmf(&discover::debian_ovmf_candidates())?)
    } else {
        None
    };
    let mode = if args.gdb {
        let gdb = discover::find_gdb()?;
        let port = gdb::choose_port(args.gdb_port)?;
        Mode::Gdb { port, gdb }
    } else if args.gdb_server {
        Mode::GdbServer {
            port: gdb::choose_port(args.gdb_port)?,
        }
    } else {
        Mode::Plain
    };

    let elf = match &args.kernel {
        Some(kernel) => kernel.clone(),
        None => {
            let built = kernel_build::build_kernel(&args.bin, args.release)?;
            elf::validate_kernel(&built)?;
            built
        }
    };
    let firmware = if args.uefi {
        Firmware::Uefi
    } else {
        Firmware::Bios
    };
    let image = image::create_image(&elf, &strip::without_debug_info(&elf), firmware)?;
    let serial_log = image.with_extension("serial.log");
    let config = QemuConfig {
        program: qemu_program,
        image: image.clone(),
        firmware: match &ovmf {
            Some(ovmf) => FirmwareArgs::uefi(ovmf, &image)?,
            None => FirmwareArgs::Bios,
        },
        serial: match mode {
            Mode::Gdb { .. } => Serial::File(serial_log.clone()),
            _ => Serial::Forward,
        },
        gdb_port: mode.gdb_port(),
        extra_args: args.qemu_args.clone(),
    };

    eprintln!(
        "boot: booting {} ({})",
        shown(&image).display(),
        firmware.name()
    );
    signals::catch_sigint();
    let mut qemu = Qemu::spawn(&config)?;
    match mode {
        Mode::Plain => status::verdict(&qemu.wait(Some(Duration::from_secs(args.timeout)))?),
        Mode::GdbServer { port } => serve_gdb(&mut qemu, &elf, port),
        Mode::Gdb { port, gdb } => debug_with_gdb(&mut qemu, &gdb, &elf, port, &serial_log),
    }
}

/// `--gdb-server`: tells the user how to attach, then waits for QEMU to
/// exit however long that takes (Ctrl-C kills it).
fn serve_gdb(qemu: &mut Qemu, elf: &Path, port: u16) -> Result<(), Failure> {
    gdb::wait_for_listener(qemu, port)?;
    let script = gdb::script(&kernel_build::workspace_root());
    let command = gdb::attach_command(shown(elf), port, script.as_deref().map(shown));
    eprintln!("boot: QEMU is paused; attach with:");
    eprintln!("boot:   {command}");
    eprintln!("boot: waiting for QEMU to exit (Ctrl-C kills it)");
    status::verdict(&qemu.wait(None)?)
}

/// `--gdb`: runs gdb attached to the paused QEMU; when gdb exits, QEMU is
/// killed unless the kernel already finished, whose verdict then counts.
fn debug_with_gdb(
    qemu: &mut Qemu,
    gdb: &Path,
    elf: &Path,
    port: u16,
    serial_log: &Path,
) -> Result<(), Failure> {
    gdb::wait_for_listener(qemu, port)?;
    eprintln!(
        "boot: serial output goes to {}",
        shown(serial_log).display()
    );
    let script = gdb::script(&kernel_build::workspace_root());
    let gdb_status = gdb::run_gdb(gdb, elf, port, script.as_deref())?;
    // Ctrl-C presses while gdb ran were meant for gdb.
    signals::clear();
    if let Some(outcome) = qemu.try_outcome()? {
        return status::verdict(&outcome);
    }
    qemu.kill();
    eprintln!("boot: gdb exited; QEMU killed");
    if gdb_status.success() {
        Ok(())
    } else {
        Err(Failure::failed(format!("gdb failed ({gdb_status})")))
    }
}

/// `path` relative to the current directory when it lies below it: shorter
/// messages, and copy-pasteable from where the user is.
fn shown(path: &Path) -> &Path {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok())
        .unwrap_or(path)
}
