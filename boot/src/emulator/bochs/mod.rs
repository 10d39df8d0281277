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
//!   watches the events file for that line ([`watch`]), takes the code from
//!   it and stops Bochs (SIGTERM, then SIGKILL; [`process`]).
//! - **Serial ports are files** (`mode=file`): COM1 is followed as Bochs
//!   appends to it and forwarded line by line ([`watch`]), as QEMU's stdout is.
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
//!   accepts, 1.5 s (docs/emulators.md).
//! - **A triple fault** resets the CPU by default; `reset_on_triple_fault=0`
//!   makes it a panic, which `panic: action=fatal` turns into Bochs's exit,
//!   as `-no-reboot` turns it into QEMU's.
//! - **The debugger is built in** (Debian's Bochs is built with it): Bochs
//!   starts at its prompt and first reads the commands of the `-rc` file: `c`
//!   for a plain run; a symbol file, a breakpoint and `c` for
//!   `--bochs-debug`, after which the prompt is the user's.
//!
//! In order: [`install`] finds Bochs and its BIOS images, [`config`] writes
//! the machine and the debugger's first commands next to the image,
//! [`process`] runs Bochs and stops it, [`watch`] reads the files it
//! writes, and [`run`] ties them together; [`crate::verdict`] says how the
//! run ended, as for QEMU.

mod config;
mod install;
mod process;
mod watch;

pub use config::{Files, IPS, Stop};
pub use install::Installation;

use crate::bootable::elf::Symbols;
use crate::error::Failure;
use crate::paths::shown;
use crate::signals;
use crate::verdict::{Emulator, verdict};
use process::Bochs;
use std::path::Path;
use std::time::Duration;

/// The program: Debian's `bochs` is a script that runs `bochs-bin -q`
/// with `exec`, so the child's pid is the emulator's.
pub const PROGRAM: &str = "bochs";
/// The Debian packages: the emulator (with its debugger), its BIOS, the VGA
/// BIOS and the SDL2 display plugin.
pub const PACKAGES: &str = "bochs bochsbios vgabios bochs-sdl";
/// How often the files Bochs writes are read and its exit checked.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

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
        return verdict(Emulator::Bochs, &end);
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
    verdict(Emulator::Bochs, &bochs.wait_for_debugger()?)
}
