//! Finds the programs and firmware the tool needs on the host.
//!
//! Each search takes its inputs (the `PATH` value, the `OVMF_CODE` and
//! `OVMF_VARS` values, the candidate firmware files) as parameters, so the
//! unit tests can point it at fake directories without changing the
//! environment of the test process, which tests running in parallel share.

use crate::bootable::firmware::Ovmf;
use crate::error::Failure;
use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The QEMU binary for x86_64 guests.
pub const QEMU: &str = "qemu-system-x86_64";
/// The debugger started by `--gdb`.
pub const GDB: &str = "gdb";

/// The `OVMF_CODE` and `OVMF_VARS` environment variables, which name the
/// OVMF files to use instead of the installed ones (as the bootloader
/// project's own QEMU runner reads them). Kept as values, not read inside
/// [`find_ovmf`], so tests pass them without touching the process
/// environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OvmfEnv {
    /// `OVMF_CODE`: the firmware code image.
    pub code: Option<PathBuf>,
    /// `OVMF_VARS`: the variable-store template.
    pub vars: Option<PathBuf>,
}

impl OvmfEnv {
    /// The variables as this process sees them; an empty value counts as unset.
    pub fn from_process() -> Self {
        let var = |name| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        Self {
            code: var("OVMF_CODE"),
            vars: var("OVMF_VARS"),
        }
    }
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

/// The OVMF to boot with: the files `env` names when it names any, else the
/// first of `candidates` whose files all exist.
///
/// The two variables go together (a code image only works with the variable
/// store built with it), so one without the other is an error, and so is a
/// variable naming a missing file: the user asked for that file, and falling
/// back to another would hide the mistake.
pub fn find_ovmf(env: &OvmfEnv, candidates: &[Ovmf]) -> Result<Ovmf, Failure> {
    let must_exist = |name: &str, path: &Path| {
        if path.is_file() {
            Ok(path.to_path_buf())
        } else {
            Err(Failure::usage(format!(
                "{name} is set to {}, which is not a file",
                path.display()
            )))
        }
    };
    match (&env.code, &env.vars) {
        (Some(code), Some(vars)) => {
            return Ok(Ovmf::Split {
                code: must_exist("OVMF_CODE", code)?,
                vars: must_exist("OVMF_VARS", vars)?,
            });
        }
        (Some(_), None) | (None, Some(_)) => {
            let (set, unset) = if env.code.is_some() {
                ("OVMF_CODE", "OVMF_VARS")
            } else {
                ("OVMF_VARS", "OVMF_CODE")
            };
            return Err(Failure::usage(format!(
                "{set} is set but {unset} is not; set both (OVMF's code image and its variable store) or neither"
            )));
        }
        (None, None) => {}
    }
    candidates
        .iter()
        .find(|candidate| match candidate {
            Ovmf::Split { code, vars } => code.is_file() && vars.is_file(),
            Ovmf::Combined(image) => image.is_file(),
        })
        .cloned()
        .ok_or_else(|| {
            Failure::usage("OVMF (UEFI firmware for QEMU) not found; install it with: sudo apt-get install ovmf (or set OVMF_CODE and OVMF_VARS)")
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
    use tempfile::TempDir;

    fn scratch() -> TempDir {
        tempfile::tempdir().unwrap()
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
        let root = scratch();
        let (empty, bin) = (root.path().join("empty"), root.path().join("bin"));
        std::fs::create_dir_all(&empty).unwrap();
        std::fs::create_dir_all(&bin).unwrap();
        touch(&bin.join(QEMU), 0o755);
        let found = find_program(QEMU, "qemu-system-x86", Some(&path_of(&[&empty, &bin]))).unwrap();
        assert_eq!(found, bin.join(QEMU));
    }

    #[test]
    fn skips_files_that_are_not_executable() {
        let root = scratch();
        touch(&root.path().join(QEMU), 0o644);
        assert!(find_program(QEMU, "qemu-system-x86", Some(&path_of(&[root.path()]))).is_err());
    }

    #[test]
    fn missing_qemu_says_how_to_install_it() {
        let root = scratch();
        for path_var in [Some(path_of(&[root.path()])), None] {
            let err = find_program(QEMU, "qemu-system-x86", path_var.as_deref()).unwrap_err();
            assert_eq!(err.code, EXIT_USAGE);
            assert_eq!(
                err.message,
                "qemu-system-x86_64 not found; install it with: sudo apt-get install qemu-system-x86"
            );
        }
    }

    /// Split candidates `CODE_4M`/`VARS_4M` (only the code exists) and
    /// `CODE`/`VARS` (both exist), in `root`.
    fn debian_like(root: &Path) -> [Ovmf; 2] {
        touch(&root.join("CODE_4M.fd"), 0o644); // its VARS file is missing
        touch(&root.join("CODE.fd"), 0o644);
        touch(&root.join("VARS.fd"), 0o644);
        [
            Ovmf::Split {
                code: root.join("CODE_4M.fd"),
                vars: root.join("VARS_4M.fd"),
            },
            Ovmf::Split {
                code: root.join("CODE.fd"),
                vars: root.join("VARS.fd"),
            },
        ]
    }

    #[test]
    fn ovmf_takes_the_first_complete_candidate() {
        let root = scratch();
        let candidates = debian_like(root.path());
        assert_eq!(
            find_ovmf(&OvmfEnv::default(), &candidates).unwrap(),
            candidates[1]
        );
    }

    #[test]
    fn ovmf_falls_back_to_a_combined_image() {
        let root = scratch();
        let root = root.path();
        touch(&root.join("OVMF.fd"), 0o644);
        let candidates = [
            Ovmf::Split {
                code: root.join("a"),
                vars: root.join("b"),
            },
            Ovmf::Combined(root.join("OVMF.fd")),
        ];
        assert_eq!(
            find_ovmf(&OvmfEnv::default(), &candidates).unwrap(),
            Ovmf::Combined(root.join("OVMF.fd"))
        );
    }

    #[test]
    fn missing_ovmf_says_how_to_install_it() {
        let root = scratch();
        let candidates = [Ovmf::Combined(root.path().join("OVMF.fd"))];
        let err = find_ovmf(&OvmfEnv::default(), &candidates).unwrap_err();
        assert_eq!(err.code, EXIT_USAGE);
        assert!(
            err.message
                .contains("install it with: sudo apt-get install ovmf"),
            "{}",
            err.message
        );
    }

    #[test]
    fn ovmf_variables_override_the_installed_files() {
        let root = scratch();
        let root = root.path();
        let candidates = debian_like(root);
        touch(&root.join("my_code.fd"), 0o644);
        touch(&root.join("my_vars.fd"), 0o644);
        let env = OvmfEnv {
            code: Some(root.join("my_code.fd")),
            vars: Some(root.join("my_vars.fd")),
        };
        assert_eq!(
            find_ovmf(&env, &candidates).unwrap(),
            Ovmf::Split {
                code: root.join("my_code.fd"),
                vars: root.join("my_vars.fd"),
            }
        );
    }

    #[test]
    fn an_ovmf_variable_naming_a_missing_file_is_an_error() {
        let root = scratch();
        let root = root.path();
        let candidates = debian_like(root);
        let env = OvmfEnv {
            code: Some(root.join("CODE.fd")),
            vars: Some(root.join("gone.fd")),
        };
        let err = find_ovmf(&env, &candidates).unwrap_err();
        assert_eq!(err.code, EXIT_USAGE);
        assert_eq!(
            err.message,
            format!(
                "OVMF_VARS is set to {}, which is not a file",
                root.join("gone.fd").display()
            )
        );
    }

    #[test]
    fn one_ovmf_variable_without_the_other_is_an_error() {
        let root = scratch();
        let candidates = debian_like(root.path());
        let code_only = OvmfEnv {
            code: Some(root.path().join("CODE.fd")),
            vars: None,
        };
        let err = find_ovmf(&code_only, &candidates).unwrap_err();
        assert_eq!(err.code, EXIT_USAGE);
        assert!(
            err.message
                .starts_with("OVMF_CODE is set but OVMF_VARS is not"),
            "{}",
            err.message
        );
        let vars_only = OvmfEnv {
            code: None,
            vars: Some(root.path().join("VARS.fd")),
        };
        let err = find_ovmf(&vars_only, &candidates).unwrap_err();
        assert!(
            err.message
                .starts_with("OVMF_VARS is set but OVMF_CODE is not"),
            "{}",
            err.message
        );
    }
}
