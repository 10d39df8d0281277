//! One run of the tool, from parsed arguments to the verdict: check the
//! input and the host, build the kernel, make the image, run QEMU (plain,
//! `--gdb-server` or `--gdb`) or Bochs (`--bochs`, `--bochs-debug`), then
//! save what the user asked for from the event lines, whichever way the
//! emulator ended.

use crate::bootable::firmware::Firmware;
use crate::bootable::{self, elf, image};
use crate::cli::Args;
use crate::discover::{self, OvmfEnv};
use crate::emulator::bochs;
use crate::emulator::qemu::{Direction, Qemu, QemuConfig, Serial};
use crate::emulator::recording::{self, Recording};
use crate::error::Failure;
use crate::paths::shown;
use crate::verdict::{self, Emulator};
use crate::{gdb, outputs, signals};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long QEMU may take to exit by itself once gdb has exited: after a gdb
/// `kill`, QEMU exits just after gdb does.
const GDB_KILL_GRACE: Duration = Duration::from_millis(500);

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

/// Does what `args` asks; `Ok` when the kernel reported success.
pub fn run(args: &Args) -> Result<(), Failure> {
    // Cheap checks first, so a typo or a missing program fails before a
    // kernel build.
    if let Some(kernel) = &args.kernel {
        elf::validate_kernel(kernel)?;
    }
    outputs::check_outputs(&args.outputs())?;
    if args.in_bochs() {
        return run_bochs(args);
    }
    let qemu_program = discover::find_qemu()?;
    // A replay boots the recording's own files, checked before anything
    // runs (see recording.rs).
    let replay = match &args.replay {
        Some(dir) => Some(Recording::open(
            dir,
            &qemu_program,
            args.kernel.as_deref(),
            args.uefi,
        )?),
        None => None,
    };
    let firmware = match &replay {
        Some(recording) => recording.firmware(),
        None if args.uefi => {
            let env = OvmfEnv::from_process();
            Firmware::Uefi(discover::find_ovmf(
                &env,
                &discover::debian_ovmf_candidates(),
            )?)
        }
        None => Firmware::Bios,
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

    // A plain run of a kernel that cargo builds boots the image made last
    // time while cargo checks the kernel (see `boot_early`).
    let early = match (&mode, &replay, &args.record, &args.kernel) {
        (Mode::Plain, None, None, None) => bootable::kernel::expected_elf(&args.bin, args.release)
            .and_then(|elf| boot_early(&elf, &qemu_program, &firmware, &args.qemu_args)),
        _ => None,
    };
    // Whether the image was made in this run (not booted as it was).
    let mut made = false;
    let (elf, image, firmware, mut recording) = match replay {
        Some(recording) => (
            recording.kernel(),
            recording.image(),
            firmware,
            Some(recording),
        ),
        None => {
            let elf = kernel_elf(args.kernel.as_deref(), &args.bin, args.release)?;
            let image;
            (image, made) = image::make_image(&elf, &firmware)?;
            match &args.record {
                // The run boots the recording's copies, as its replays will.
                Some(dir) => {
                    let recording = Recording::create(
                        dir,
                        &qemu_program,
                        &elf,
                        &image,
                        &firmware,
                        &args.qemu_args,
                    )?;
                    let (image, firmware) = (recording.image(), recording.firmware());
                    (elf, image, firmware, Some(recording))
                }
                None => {
                    let firmware = image::private_firmware(&firmware, &image)?;
                    (elf, image, firmware, None)
                }
            }
        }
    };
    let replay_files = match &recording {
        Some(r) => r.replay_files()?,
        None => None,
    };
    let (serial_log, events_file) = match &replay_files {
        Some(files) => (files.serial_log.clone(), files.events.clone()),
        None => (image::serial_log_path(&image), image::events_path(&image)),
    };
    let config = QemuConfig {
        program: qemu_program,
        image: image.clone(),
        firmware: firmware.clone(),
        serial: match mode {
            Mode::Gdb { .. } => Serial::File(serial_log.clone()),
            _ => Serial::Forward,
        },
        events: events_file.clone(),
        gdb_port: mode.gdb_port(),
        record_replay: recording.as_ref().map(Recording::record_replay),
        extra_args: recording
            .as_ref()
            .map_or_else(|| args.qemu_args.clone(), |r| r.extra_args(&args.qemu_args)),
    };
    if let Some(recording) = &mut recording {
        recording.serial_ports(&config.args())?;
        recording.announce();
    }

    eprintln!(
        "boot: booting {} ({})",
        shown(&image).display(),
        firmware.name()
    );
    signals::catch_sigint();
    // The early QEMU counts if it boots this image, unchanged, with this
    // command line; otherwise it is killed here, before the right one starts.
    let early = early.filter(|early| !made && early.command == command_line(&config));
    let mut qemu = match early {
        Some(Early { mut qemu, .. }) => {
            qemu.release();
            qemu
        }
        None => Qemu::spawn(&config)?,
    };
    let verdict = match mode {
        Mode::Plain => {
            let timeout = Duration::from_secs(args.timeout);
            // A replay is watched for progress instead of timed.
            let outcome = match &recording {
                Some(r) if r.direction() == Direction::Replay => {
                    let stall_limit = Duration::from_secs(args.stall_after);
                    recording::watch_progress(&mut qemu, &r.log(), &args.qemu_args, stall_limit)?
                }
                _ => qemu.wait(Some(timeout))?,
            };
            // A recording notes how it ended; a replay must end the same way.
            let ended = recording.as_mut().map_or(Ok(()), |r| r.end(&outcome));
            ended.and(verdict::verdict(Emulator::Qemu, &outcome))
        }
        Mode::GdbServer { port } => serve_gdb(&mut qemu, &elf, port),
        Mode::Gdb { port, gdb } => debug_with_gdb(&mut qemu, &gdb, &elf, port, &serial_log),
    };
    // QEMU has ended on every path but an error above; make sure before
    // reading the file it writes.
    qemu.kill();
    let saved =
        outputs::read(&events_file).and_then(|text| outputs::save_outputs(&text, &args.outputs()));
    combine(verdict, saved)
}

/// A QEMU started before the kernel build ([`boot_early`]) and the
/// command line it was started with.
struct Early {
    command: Vec<OsString>,
    qemu: Qemu,
}

/// QEMU's whole command line, program first.
fn command_line(config: &QemuConfig) -> Vec<OsString> {
    [vec![config.program.clone().into()], config.args()].concat()
}

/// QEMU (`program`, with the user's `extra_args`) started at once, on the
/// image made last time for the kernel `elf` that cargo builds, if that
/// image is still current: cargo's check that the kernel is up to date
/// (about 0.2 s of CPU) is most of the tool's own
/// time on a warm run, and this way it overlaps the boot. The output is
/// held back until [`run`] knows that cargo left the kernel as it was
/// (its image is current and the command line the same), and thrown away
/// with the early QEMU otherwise. `None` when there is no such image.
fn boot_early(
    elf: &Path,
    program: &Path,
    firmware: &Firmware,
    extra_args: &[OsString],
) -> Option<Early> {
    let image = image::current_image(elf, firmware)?;
    let config = QemuConfig {
        program: program.to_path_buf(),
        firmware: image::private_firmware(firmware, &image).ok()?,
        serial: Serial::Forward,
        events: image::events_path(&image),
        image,
        gdb_port: None,
        record_replay: None,
        extra_args: extra_args.to_vec(),
    };
    let qemu = Qemu::spawn_held(&config).ok()?;
    Some(Early {
        command: command_line(&config),
        qemu,
    })
}

/// The kernel ELF: the one given, or binary `bin` built (`release`: with
/// the release profile).
fn kernel_elf(given: Option<&Path>, bin: &str, release: bool) -> Result<PathBuf, Failure> {
    match given {
        Some(kernel) => Ok(kernel.to_path_buf()),
        None => {
            let built = bootable::kernel::build_kernel(bin, release)?;
            elf::validate_kernel(&built)?;
            Ok(built)
        }
    }
}

/// `--bochs` and `--bochs-debug`: the BIOS image in Bochs (see `bochs.rs`),
/// then the outputs from its event lines, as after QEMU.
fn run_bochs(args: &Args) -> Result<(), Failure> {
    let installation = bochs::Installation::find()?;
    let elf = kernel_elf(args.kernel.as_deref(), &args.bin, args.release)?;
    let (image, _) = image::make_image(&elf, &Firmware::Bios)?;
    let files = bochs::Files::next_to(&image);
    eprintln!("boot: booting {} (BIOS) in Bochs", shown(&image).display());
    let timeout = Duration::from_secs(args.timeout);
    let verdict = bochs::run(&installation, &files, &elf, args.bochs_debug, timeout);
    let saved =
        outputs::read(&files.events).and_then(|text| outputs::save_outputs(&text, &args.outputs()));
    combine(verdict, saved)
}

/// The run's verdict and the saving of its outputs as one result: a failed
/// save is reported, without hiding a failed run.
fn combine(verdict: Result<(), Failure>, saved: Result<(), Failure>) -> Result<(), Failure> {
    match (verdict, saved) {
        (verdict, Ok(())) => verdict,
        (Ok(()), Err(save)) => Err(save),
        (Err(failure), Err(save)) => {
            eprintln!("{save}");
            Err(failure)
        }
    }
}

/// `--gdb-server`: tells the user how to attach, then waits for QEMU to
/// exit however long that takes (Ctrl-C kills it).
fn serve_gdb(qemu: &mut Qemu, elf: &Path, port: u16) -> Result<(), Failure> {
    gdb::wait_for_listener(qemu, port)?;
    let script = gdb::script(&bootable::kernel::workspace_root());
    let command = gdb::attach_command(shown(elf), port, script.as_deref().map(shown));
    eprintln!("boot: QEMU is paused; attach with:");
    eprintln!("boot:   {command}");
    eprintln!("boot: waiting for QEMU to exit (Ctrl-C kills it)");
    verdict::verdict(Emulator::Qemu, &qemu.wait(None)?)
}

/// `--gdb`: runs gdb attached to the paused QEMU. When gdb exits, the
/// kernel's verdict counts if it already finished; a gdb `kill` is reported
/// as the end of the session; otherwise QEMU is killed.
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
    let script = gdb::script(&bootable::kernel::workspace_root());
    let gdb_status = gdb::run_gdb(gdb, elf, port, script.as_deref())?;
    // Ctrl-C presses while gdb ran were meant for gdb.
    signals::clear();
    if let Some(outcome) = qemu.exit_within(GDB_KILL_GRACE)? {
        return verdict::verdict(Emulator::Qemu, &outcome);
    }
    qemu.kill();
    if gdb_status.success() {
        Err(Failure::ended_from_gdb(
            "the gdb session ended (gdb exited) before the kernel finished; QEMU killed",
        ))
    } else {
        Err(Failure::failed(format!("gdb failed ({gdb_status})")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_save_is_reported_without_hiding_the_verdict() {
        let save = || Err(Failure::usage("cannot write"));
        assert_eq!(combine(Ok(()), Ok(())), Ok(()));
        assert_eq!(combine(Ok(()), save()), save());
        let fault = Err(Failure::failed("fault"));
        assert_eq!(combine(fault.clone(), save()), fault);
        let gdb_ended = Err(Failure::ended_from_gdb("gdb ended"));
        assert_eq!(combine(gdb_ended.clone(), Ok(())), gdb_ended);
        assert_eq!(combine(gdb_ended.clone(), save()), gdb_ended);
    }
}
