//! The files a boot writes next to the kernel ELF: the disk image (made with
//! the `bootloader` crate), OVMF's private variable store, the serial log of
//! gdb mode and the event lines from COM2.
//!
//! Next to the ELF, so each kernel binary and profile has its own files and
//! `cargo clean` removes them.
//!
//! An image is made again only when the kernel or the runner changed:
//! `<image>.made-from` notes the kernel ELF, the runner and the image file
//! it was made from and into ([`make_image`]); making one costs a `rustc`,
//! an `llvm-objcopy` and the bootloader's disk writer, about 40 ms.

use crate::bootable::firmware::{Firmware, Ovmf};
use crate::bootable::strip;
use crate::error::Failure;
use bootloader::{BiosBoot, BootConfig, UefiBoot};
use std::os::unix::fs::MetadataExt;
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

/// `<image>.made-from`: what the image was made from (see [`make_image`]).
fn made_from_path(image: &Path) -> PathBuf {
    with_suffix(image, ".made-from")
}

/// A file's identity as the file system keeps it: device, inode, length,
/// modification and change times. A rebuild, a copy over it or a `touch`
/// changes it; reading does not.
fn identity(path: &Path) -> Option<String> {
    let m = std::fs::metadata(path).ok()?;
    Some(format!(
        "{}:{} {} bytes, modified {}.{:09}, changed {}.{:09}",
        m.dev(),
        m.ino(),
        m.len(),
        m.mtime(),
        m.mtime_nsec(),
        m.ctime(),
        m.ctime_nsec()
    ))
}

/// The record of an image made from a kernel with the identity `kernel`:
/// that, the runner's own executable (its bootloader and settings went
/// into the image) and the image file as it is now.
fn made_from(kernel: &str, image: &Path) -> Option<String> {
    let runner = identity(&std::env::current_exe().ok()?)?;
    let image = identity(image)?;
    Some(format!("kernel {kernel}\nrunner {runner}\nimage {image}\n"))
}

/// The image of `elf` for `firmware` if it was made from this very file
/// by this very runner and not changed since (its `.made-from` record
/// says so), so it can be booted as it is.
pub fn current_image(elf: &Path, firmware: &Firmware) -> Option<PathBuf> {
    let image = image_path(elf, firmware.is_uefi());
    let recorded = std::fs::read_to_string(made_from_path(&image)).ok()?;
    (made_from(&identity(elf)?, &image)? == recorded).then_some(image)
}

/// The disk image of `elf` for `firmware`: the one made earlier if it is
/// current ([`current_image`]); otherwise a new one, from a copy of `elf`
/// without debug info (see `strip.rs`), with its `.made-from` record.
/// Also says whether it was made now.
pub fn make_image(elf: &Path, firmware: &Firmware) -> Result<(PathBuf, bool), Failure> {
    if let Some(image) = current_image(elf, firmware) {
        return Ok((image, false));
    }
    // Taken before the kernel is read: if it changes meanwhile, the record
    // no longer matches it and the next run makes the image again.
    let kernel = identity(elf);
    let image = create_image(elf, &strip::without_debug_info(elf), firmware)?;
    let record = made_from_path(&image);
    // The record only saves the next run some work: without it, that run
    // makes the image again.
    let written = kernel
        .and_then(|kernel| made_from(&kernel, &image))
        .and_then(|text| write_replacing(&record, text.as_bytes()).ok());
    if written.is_none() {
        let _ = std::fs::remove_file(&record);
    }
    Ok((image, true))
}

/// Writes `contents` to `path` through a temporary file and a rename.
fn write_replacing(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut partial = temp_next_to(path)?;
    partial.write_all(contents)?;
    partial.persist(path).map_err(|e| e.error)?;
    Ok(())
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
    fn an_image_is_made_again_only_when_its_kernel_changes() {
        let dir = tempfile::tempdir().unwrap();
        let elf = dir.path().join("kernel");
        // Any ELF executable will do for the disk writer: this test's own.
        std::fs::copy(std::env::current_exe().unwrap(), &elf).unwrap();
        assert_eq!(current_image(&elf, &Firmware::Bios), None, "none yet");
        let (image, made) = make_image(&elf, &Firmware::Bios).unwrap();
        assert!(made);
        assert_eq!(image, image_path(&elf, false));
        assert_eq!(current_image(&elf, &Firmware::Bios), Some(image.clone()));
        assert_eq!(
            make_image(&elf, &Firmware::Bios).unwrap(),
            (image.clone(), false)
        );

        // Rewritten in place (the same inode), the kernel is another one.
        let bytes = std::fs::read(&elf).unwrap();
        std::fs::write(&elf, &bytes).unwrap();
        assert_eq!(current_image(&elf, &Firmware::Bios), None);
        assert!(make_image(&elf, &Firmware::Bios).unwrap().1);
        assert!(current_image(&elf, &Firmware::Bios).is_some());

        // So is an image replaced by anything else.
        std::fs::write(&image, b"not this image").unwrap();
        assert_eq!(current_image(&elf, &Firmware::Bios), None);
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
