//! The files a boot writes next to the kernel ELF: the disk image (made with
//! the `bootloader` crate), OVMF's private variable store, the serial log of
//! gdb mode and the event lines from COM2.
//!
//! Next to the ELF, so each kernel binary and profile has its own files and
//! `cargo clean` removes them.

use crate::bootable::firmware::{Firmware, Ovmf};
use crate::error::Failure;
use bootloader::{BiosBoot, BootConfig, UefiBoot};
use std::path::{Path, PathBuf};
use tempfile::NamedTempFile;

/// `<elf>.bios.img` or `<elf>.uefi.img`: the disk image `boot` makes for `elf`.
pub fn image_path(elf: &Path, uefi: bool) -> PathBuf {
    with_suffix(elf, if uefi { ".uefi.img" } else { ".bios.img" })
}

/// `<elf>.bios.serial.log` (or `uefi`): where COM1 goes in `--gdb` mode.
pub fn serial_log_path(image: &Path) -> PathBuf {
    image.with_extension("serial.log")
}

/// `<elf>.bios.events` (or `uefi`): where QEMU writes COM2, the kernel's
/// event lines (see `protocol::event`). QEMU truncates it at start.
pub fn events_path(image: &Path) -> PathBuf {
    image.with_extension("events")
}

/// `path` with `suffix` appended to its file name.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The bootloader's own settings: its log lines are turned off on both serial
/// and the frame buffer, so the terminal shows only the kernel's own lines.
fn boot_config() -> BootConfig {
    let mut config = BootConfig::default();
    config.serial_logging = false;
    config.frame_buffer_logging = false;
    config
}

/// Creates (or replaces) the disk image for `elf` and returns its path.
///
/// The image is named after `elf` but holds `contents`: the same kernel,
/// possibly without debug info (see `strip.rs`).
///
/// The image is written to a temporary file in the same directory and then
/// renamed into place: a QEMU still running from an earlier image (another
/// terminal, a parallel test) keeps its own file, and never sees a
/// half-written one.
pub fn create_image(elf: &Path, contents: &Path, firmware: &Firmware) -> Result<PathBuf, Failure> {
    let image = image_path(elf, firmware.is_uefi());
    let fail = |e: &dyn std::fmt::Display| {
        Failure::failed(format!(
            "creating the {} disk image {} failed: {e:#}",
            firmware.name(),
            image.display()
        ))
    };
    let partial = temp_next_to(&image).map_err(|e| fail(&e))?;
    let config = boot_config();
    let created = if firmware.is_uefi() {
        UefiBoot::new(contents)
            .set_boot_config(&config)
            .create_disk_image(partial.path())
    } else {
        BiosBoot::new(contents)
            .set_boot_config(&config)
            .create_disk_image(partial.path())
    };
    created.map_err(|e| fail(&e))?;
    partial.persist(&image).map_err(|e| fail(&e))?;
    Ok(image)
}

/// `firmware` ready to boot `image`: a split OVMF's variable store, which the
/// firmware writes to, is replaced by a private copy next to the image
/// (`<image>.OVMF_VARS.fd`), so the installed template is never modified.
/// Written through a temporary file and a rename, as [`create_image`] does.
pub fn private_firmware(firmware: &Firmware, image: &Path) -> Result<Firmware, Failure> {
    let Firmware::Uefi(Ovmf::Split { code, vars }) = firmware else {
        return Ok(firmware.clone());
    };
    let copy = with_suffix(image, ".OVMF_VARS.fd");
    let copied = temp_next_to(&copy).and_then(|mut partial| {
        std::io::copy(&mut std::fs::File::open(vars)?, &mut partial)?;
        partial.persist(&copy).map_err(|e| e.error)?;
        Ok(())
    });
    copied.map_err(|e| {
        Failure::failed(format!(
            "copying {} to {} failed: {e}",
            vars.display(),
            copy.display()
        ))
    })?;
    Ok(Firmware::Uefi(Ovmf::Split {
        code: code.clone(),
        vars: copy,
    }))
}

/// A temporary file in `path`'s directory (so the rename stays on one file
/// system), removed if dropped before it is persisted.
fn temp_next_to(path: &Path) -> std::io::Result<NamedTempFile> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    NamedTempFile::new_in(dir.unwrap_or(Path::new(".")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_sit_next_to_the_elf() {
        let elf = Path::new("/t/x86_64-target/debug/kernel");
        let bios = image_path(elf, false);
        assert_eq!(bios, Path::new("/t/x86_64-target/debug/kernel.bios.img"));
        assert_eq!(
            image_path(elf, true),
            Path::new("/t/x86_64-target/debug/kernel.uefi.img")
        );
        assert_eq!(
            events_path(&bios),
            Path::new("/t/x86_64-target/debug/kernel.bios.events")
        );
        assert_eq!(
            serial_log_path(&bios),
            Path::new("/t/x86_64-target/debug/kernel.bios.serial.log")
        );
    }

    #[test]
    fn bootloader_logging_is_off() {
        let config = boot_config();
        assert!(!config.serial_logging);
        assert!(!config.frame_buffer_logging);
    }

    #[test]
    fn a_split_ovmf_gets_a_private_copy_of_its_variable_store() {
        let dir = tempfile::tempdir().unwrap();
        let (code, vars) = (dir.path().join("CODE.fd"), dir.path().join("VARS.fd"));
        std::fs::write(&vars, b"template").unwrap();
        let image = dir.path().join("k.uefi.img");
        let firmware = Firmware::Uefi(Ovmf::Split {
            code: code.clone(),
            vars: vars.clone(),
        });
        let copy = dir.path().join("k.uefi.img.OVMF_VARS.fd");
        assert_eq!(
            private_firmware(&firmware, &image).unwrap(),
            Firmware::Uefi(Ovmf::Split {
                code,
                vars: copy.clone()
            })
        );
        assert_eq!(std::fs::read(&copy).unwrap(), b"template");
        // Nothing else was left in the directory (no temporary file).
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn other_firmware_is_used_as_it_is() {
        let image = Path::new("/nonexistent/k.img");
        let combined = Firmware::Uefi(Ovmf::Combined("/o/OVMF.fd".into()));
        assert_eq!(private_firmware(&combined, image).unwrap(), combined);
        assert_eq!(
            private_firmware(&Firmware::Bios, image).unwrap(),
            Firmware::Bios
        );
    }

    #[test]
    fn a_missing_template_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let firmware = Firmware::Uefi(Ovmf::Split {
            code: "/o/CODE.fd".into(),
            vars: dir.path().join("missing.fd"),
        });
        let err = private_firmware(&firmware, &dir.path().join("k.img")).unwrap_err();
        assert!(err.message.starts_with("copying "), "{}", err.message);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
