//! The firmware a boot uses: the one model shared by image creation
//! ([`crate::bootable::image`]), discovery ([`crate::discover`]) and QEMU's command
//! line ([`crate::emulator::qemu`]).

use std::path::PathBuf;

/// Which firmware boots the disk image, with the files it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Firmware {
    /// Legacy BIOS (QEMU's built-in SeaBIOS): an MBR disk image.
    Bios,
    /// UEFI with OVMF: a GPT disk image with an EFI system partition.
    Uefi(Ovmf),
}

/// OVMF, the UEFI firmware for QEMU, as installed files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ovmf {
    /// Separate code and variable-store images, loaded as two pflash drives.
    /// The firmware writes to the variable store, so before a boot `vars` is
    /// replaced by a private copy ([`crate::bootable::image::private_firmware`]).
    Split {
        /// The read-only firmware code.
        code: PathBuf,
        /// The variable store.
        vars: PathBuf,
    },
    /// One combined image, loaded with `-bios`.
    Combined(PathBuf),
}

impl Firmware {
    /// Whether this is a UEFI boot.
    pub fn is_uefi(&self) -> bool {
        matches!(self, Firmware::Uefi(_))
    }

    /// The name shown to the user: `BIOS` or `UEFI`.
    pub fn name(&self) -> &'static str {
        if self.is_uefi() { "UEFI" } else { "BIOS" }
    }
}
