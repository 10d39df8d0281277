//! A recording's manifest (`manifest.json`): how the recording was made,
//! what a replay checks before QEMU starts, and the files it holds with
//! their hashes.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The manifest's layout version; a replay refuses any other.
pub(super) const FORMAT: u32 = 1;

/// How the recording was made: what [`super::Recording::open`] checks before a
/// replay, and what it needs to rebuild the recorded command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: u32,
    /// The first line of `qemu-system-x86_64 --version`: another QEMU may
    /// replay the log differently.
    pub qemu: String,
    /// `BIOS` or `UEFI` ([`crate::bootable::firmware::Firmware::name`]).
    pub firmware: String,
    /// The `-icount` shift ([`super::SHIFT`] when recorded by this tool).
    pub shift: u32,
    /// How many `-serial` options the command line had.
    pub serial_ports: usize,
    /// The kernel ELF the image was made from (a copy, with debug info).
    pub kernel: Copied,
    /// The disk image.
    pub image: Copied,
    /// The firmware files (none for BIOS).
    pub firmware_files: Vec<Copied>,
    /// The user's extra QEMU arguments (after `--`), replayed as they were.
    pub qemu_args: Vec<String>,
    /// QEMU's exit status when the recorded run ended by itself; `None`
    /// when it was killed (timeout, Ctrl-C): such a log has no end.
    pub status: Option<i32>,
}

/// A file copied into the recording, with where it came from and its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Copied {
    /// Its name in the recording directory.
    pub file: String,
    /// The path it was copied from (for messages only).
    pub from: PathBuf,
    /// SHA-256 of its contents, in hex.
    pub sha256: String,
}
