//! What a Bochs boot is made of: its files next to the image, the machine
//! (the bochsrc) and the debugger's first commands.

use super::install::Installation;
use crate::bootable::elf::Symbols;
use crate::error::Failure;
use std::path::{Path, PathBuf};

/// Emulated instructions per emulated second: the lowest value Bochs
/// accepts, so that the kernel's serial output, paced by the UART's baud
/// rate in emulated time, costs the fewest instructions (see the module
/// documentation).
pub const IPS: u32 = 1_000_000;
/// The guest's memory, as QEMU's `-m 128M`.
const MEGS: u32 = 128;
/// A CPU model with long mode, NX and the rest the bootloader uses.
const CPU_MODEL: &str = "corei7_skylake_x";

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::EXIT_USAGE;

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
        assert_ne!(
            files.events,
            crate::bootable::image::events_path(&files.image)
        );
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
}
