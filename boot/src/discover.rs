//! Finds the programs and firmware the tool needs on the host.
//!
//! Each search takes its inputs (the `PATH` value, the candidate firmware
//! files) as parameters, so the unit tests can point it at fake directories.

use crate::error::Failure;
use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The QEMU binary for x86_64 guests.
pub const QEMU: &str = "qemu-system-x86_64";
/// The debugger started by `--gdb`.
pub const GDB: &str = "gdb";

/// OVMF (UEFI firmware for QEMU) as Debian's `ovmf` package installs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ovmf {
    /// Separate code and variable-store images, loaded as two pflash drives.
    /// The variable store is written by the firmware, so QEMU gets a copy.
    Split { code: PathBuf, vars: PathBuf },
    /// One combined image, loaded with `-bios`.
    Combined(PathBuf),
}

/// Debian's OVMF files, most preferred first.
pub fn debian_ovmf_candidates() -> Vec<Ovmf> {
    vec![
        Ovmf::Split {
            code: "/usr/share/OVMF/OVMF_CODE_4M.fd".into(),
            vars: "/usr/share/OVMF/OVMF_VARS_4M.fd".into(),
        },
        Ovmf::Split {
            code: "/usr/share/OVMF/OVMF_CODE.fd".into(),
            vars: "/usr/share/OVMF/OVMF_VARS.fd".into(),
        },
        Ovmf::Combined("/usr/share/ovmf/OVMF.fd".into()),
        Ovmf::Combined("/usr/share/qemu/OVMF.fd".into()),
    ]
}

/// The first candidate whose files all exist.
pub fn find_ovmf(candidates: &[Ovmf]) -> Result<Ovmf, Failure> {
    candidates
        .iter()
        .find(|candidate| match candidate {
            Ovmf::Split { code, vars } => code.is_file() && vars.is_file(),
            Ovmf::Combined(image) => image.is_file(),
        })
        .cloned()
        .ok_or_else(|| {
            Failure::usage("OVMF (UEFI firmware for QEMU) not found; install it with: sudo apt-get install ovmf")
        })
}

/// Finds `program` in the directories of `path_var` (a `PATH` value), or
/// explains how to install it: `package` is its Debian package.
pub fn find_program(
    program: &str,
    package: &str,
    path_var: Option<&OsStr>,
) -> Result<PathBuf, Failure> {
    path_var
        .into_iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
        .ok_or_else(|| {
            Failure::usage(format!(
                "{program} not found; install it with: sudo apt-get install {package}"
            ))
        })
}

/// Finds QEMU on the process's `PATH`.
pub fn find_qemu() -> Result<PathBuf, Failure> {
    find_program(QEMU, "qemu-system-x86", std::env::var_os("PATH").as_deref())
}

/// Finds gdb on the process's `PATH`.
pub fn find_gdb() -> Result<PathBuf, Failure> {
    find_program(GDB, "gdb", std::env::var_os("PATH").as_deref())
}

/// A regular file with at least one execute bit set.
fn is_executable(path: &Path) -> bool {
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::EXIT_USAGE;
    use std::ffi::OsString;

    /// A fresh scratch directory in the system temp dir.
    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("boot-discover-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn touch(path: &Path, mode: u32) {
        std::fs::write(path, b"").unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    fn path_of(dirs: &[&Path]) -> OsString {
        std::env::join_paths(dirs).unwrap()
    }

    #[test]
    fn finds_qemu_in_a_later_path_directory() {
        let root = scratch("found");
        let (empty, bin) = (root.join("empty"), root.join("bin"));
        std::fs::create_dir_all(&empty).unwrap();
        std::fs::create_dir_all(&bin).unwrap();
        touch(&bin.join(QEMU), 0o755);
        let found = find_program(QEMU, "qemu-system-x86", Some(&path_of(&[&empty, &bin]))).unwrap();
        assert_eq!(found, bin.join(QEMU));
    }

    #[test]
    fn skips_files_that_are_not_executable() {
        let root = scratch("noexec");
        touch(&root.join(QEMU), 0o644);
        assert!(find_program(QEMU, "qemu-system-x86", Some(&path_of(&[&root]))).is_err());
    }

    #[test]
    fn missing_qemu_says_how_to_install_it() {
        let root = scratch("missing");
        for path_var in [Some(path_of(&[&root])), None] {
            let err = find_program(QEMU, "qemu-system-x86", path_var.as_deref()).unwrap_err();
            assert_eq!(err.code, EXIT_USAGE);
            assert_eq!(
                err.message,
                "qemu-system-x86_64 not found; install it with: sudo apt-get install qemu-system-x86"
            );
        }
    }

    #[test]
    fn ovmf_takes_the_first_complete_candidate() {
        let root = scratch("ovmf");
        touch(&root.join("CODE_4M.fd"), 0o644); // its VARS file is missing
        touch(&root.join("CODE.fd"), 0o644);
        touch(&root.join("VARS.fd"), 0o644);
        let candidates = [
            Ovmf::Split {
                code: root.join("CODE_4M.fd"),
                vars: root.join("VARS_4M.fd"),
            },
            Ovmf::Split {
                code: root.join("CODE.fd"),
                vars: root.join("VARS.fd"),
            },
        ];
        assert_eq!(find_ovmf(&candidates).unwrap(), candidates[1]);
    }

    #[test]
    fn ovmf_falls_back_to_a_combined_image() {
        let root = scratch("combined");
        touch(&root.join("OVMF.fd"), 0o644);
        let candidates = [
            Ovmf::Split {
                code: root.join("a"),
                vars: root.join("b"),
            },
            Ovmf::Combined(root.join("OVMF.fd")),
        ];
        assert_eq!(
            find_ovmf(&candidates).unwrap(),
            Ovmf::Combined(root.join("OVMF.fd"))
        );
    }

    #[test]
    fn missing_ovmf_says_how_to_install_it() {
        let root = scratch("no-ovmf");
        let err = find_ovmf(&[Ovmf::Combined(root.join("OVMF.fd"))]).unwrap_err();
        assert_eq!(err.code, EXIT_USAGE);
        assert!(
            err.message
                .ends_with("install it with: sudo apt-get install ovmf"),
            "{}",
            err.message
        );
    }
}
