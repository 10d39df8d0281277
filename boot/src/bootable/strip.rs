//! Strips debug info from the kernel before it goes into the disk image.
//!
//! A debug kernel ELF is ~5 MiB, almost all DWARF. The BIOS bootloader reads
//! the whole file through real-mode disk calls, which QEMU's TCG emulates
//! slowly: a stripped copy (~50 KiB) boots several seconds faster. The
//! loadable segments are unchanged, so gdb still uses the original ELF for
//! symbols. The `llvm-objcopy` comes from the `llvm-tools-preview` component
//! that `rust-toolchain.toml` installs; without it the original ELF is used.

use crate::bootable::kernel::workspace_root;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use tempfile::NamedTempFile;

/// `<elf>.stripped` without debug info, or `elf` itself if stripping is not
/// possible (no llvm-objcopy in the toolchain, or it failed).
pub fn without_debug_info(elf: &Path) -> PathBuf {
    let mut stripped = elf.as_os_str().to_owned();
    stripped.push(".stripped");
    let stripped = PathBuf::from(stripped);
    let dir = elf.parent().filter(|d| !d.as_os_str().is_empty());
    // Written to a temporary file and renamed into place, like the images
    // (see `image::create_image`); the temporary file goes away on failure.
    let ok = llvm_objcopy().is_some_and(|objcopy| {
        NamedTempFile::new_in(dir.unwrap_or(Path::new("."))).is_ok_and(|partial| {
            Command::new(objcopy)
                .arg("--strip-debug")
                .arg(elf)
                .arg(partial.path())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|status| status.success())
                && partial.persist(&stripped).is_ok()
        })
    });
    if ok { stripped } else { elf.to_path_buf() }
}

/// The toolchain's `llvm-objcopy`: `<sysroot>/lib/rustlib/<host>/bin/`.
///
/// `rustc` runs in the workspace root so that rustup picks the toolchain
/// pinned by `rust-toolchain.toml`, whatever the current directory.
// Hand-written rather than the `llvm-tools` crate: that crate runs `rustc`
// in the current directory, where rustup may pick a toolchain without
// llvm-tools-preview.
fn llvm_objcopy() -> Option<PathBuf> {
    let output = Command::new("rustc")
        .args(["--print", "sysroot"])
        .current_dir(workspace_root())
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let sysroot = PathBuf::from(String::from_utf8(output.stdout).ok()?.trim());
    find_in_rustlib(&sysroot)
}

/// `llvm-objcopy` in any host directory of `<sysroot>/lib/rustlib/`.
fn find_in_rustlib(sysroot: &Path) -> Option<PathBuf> {
    std::fs::read_dir(sysroot.join("lib").join("rustlib"))
        .ok()?
        .flatten()
        .map(|host| host.path().join("bin").join("llvm-objcopy"))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_objcopy_in_a_fake_sysroot() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let bin = root.join("lib/rustlib/x86_64-unknown-linux-gnu/bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(root.join("lib/rustlib/src")).unwrap();
        assert_eq!(find_in_rustlib(root), None);
        std::fs::write(bin.join("llvm-objcopy"), b"").unwrap();
        assert_eq!(find_in_rustlib(root), Some(bin.join("llvm-objcopy")));
    }

    #[test]
    fn a_missing_sysroot_has_no_objcopy() {
        assert_eq!(find_in_rustlib(Path::new("/nonexistent")), None);
    }
}
