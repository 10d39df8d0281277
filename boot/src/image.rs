//! Wraps a kernel ELF in a bootable disk image with the `bootloader` crate.

use crate::error::Failure;
use bootloader::{BiosBoot, BootConfig, UefiBoot};
use std::path::{Path, PathBuf};

/// Which firmware the image is made for, and QEMU boots it with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Firmware {
    /// Legacy BIOS (SeaBIOS, QEMU's default): an MBR disk image.
    Bios,
    /// UEFI (OVMF): a GPT disk image with an EFI system partition.
    Uefi,
}

impl Firmware {
    /// The name shown to the user.
    pub fn name(self) -> &'static str {
        match self {
            Firmware::Bios => "BIOS",
            Firmware::Uefi => "UEFI",
        }
    }
}

/// `<elf>.bios.img` or `<elf>.uefi.img`: next to the ELF, so each kernel
/// binary and profile has its own image and `cargo clean` removes them.
pub fn image_path(elf: &Path, firmware: Firmware) -> PathBuf {
    let suffix = match firmware {
        Firmware::Bios => ".bios.img",
        Firmware::Uefi => ".uefi.img",
    };
    let mut name = elf.as_os_str().to_owned();
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
/// The image is written under a temporary name and then renamed into place:
/// a QEMU still running from an earlier image (another terminal, a parallel
/// test) keeps its own file, and never sees a half-written one.
pub fn create_image(elf: &Path, contents: &Path, firmware: Firmware) -> Result<PathBuf, Failure> {
    let image = image_path(elf, firmware);
    let partial = private_temp_path(&image);
    let config = boot_config();
    let result = match firmware {
        Firmware::Bios => BiosBoot::new(contents)
            .set_boot_config(&config)
            .create_disk_image(&partial),
        Firmware::Uefi => UefiBoot::new(contents)
            .set_boot_config(&config)
            .create_disk_image(&partial),
    };
    let fail = |e: &dyn std::fmt::Display| {
        let _ = std::fs::remove_file(&partial);
        Failure::failed(format!(
            "creating the {} disk image {} failed: {e:#}",
            firmware.name(),
            image.display()
        ))
    };
    result.map_err(|e| fail(&e))?;
    std::fs::rename(&partial, &image).map_err(|e| fail(&e))?;
    Ok(image)
}

/// Copies `from` to `to` through a temporary file and a rename, for the same
/// reason as [`create_image`] (used for OVMF's writable variable store).
pub fn replace_with_copy(from: &Path, to: &Path) -> Result<(), Failure> {
    let partial = private_temp_path(to);
    std::fs::copy(from, &partial)
        .and_then(|_| std::fs::rename(&partial, to))
        .map_err(|e| {
            let _ = std::fs::remove_file(&partial);
            Failure::failed(format!(
                "copying {} to {} failed: {e}",
                from.display(),
                to.display()
            ))
        })
}

/// `<path>.<pid>.partial`: a name no other run of the tool uses.
fn private_temp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{}.partial", std::process::id()));
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_sit_next_to_the_elf() {
        let elf = Path::new("/t/x86_64-target/debug/kernel");
        assert_eq!(
            image_path(elf, Firmware::Bios),
            Path::new("/t/x86_64-target/debug/kernel.bios.img")
        );
        assert_eq!(
            image_path(elf, Firmware::Uefi),
            Path::new("/t/x86_64-target/debug/kernel.uefi.img")
        );
    }

    #[test]
    fn bootloader_logging_is_off() {
        let config = boot_config();
        assert!(!config.serial_logging);
        assert!(!config.frame_buffer_logging);
    }
}
