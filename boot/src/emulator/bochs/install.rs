//! Finding the installed Bochs: the program, its BIOS images and its SDL2
//! display plugin, or the Debian package that provides a missing one.

use super::{PACKAGES, PROGRAM};
use crate::discover;
use crate::error::Failure;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// Where the Debian packages put the BIOS images.
const SHARE: &str = "/usr/share/bochs";
/// The ROM BIOS (package bochsbios).
const BIOS: &str = "BIOS-bochs-latest";
/// The VGA BIOS (a link into package vgabios).
const VGA_BIOS: &str = "VGABIOS-lgpl-latest";
/// The SDL2 display plugin (package bochs-sdl), where Debian puts it.
const SDL2_PLUGIN: &str = "/usr/lib/x86_64-linux-gnu/bochs/plugins/libbx_sdl2_gui.so";

/// The installed Bochs: the program and the two BIOS images it boots with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installation {
    /// The `bochs` program.
    pub program: PathBuf,
    /// The ROM BIOS.
    pub bios: PathBuf,
    /// The VGA BIOS.
    pub vga_bios: PathBuf,
}

impl Installation {
    /// Finds Bochs on the process's `PATH` and its files where Debian puts them.
    pub fn find() -> Result<Self, Failure> {
        Self::find_in(
            std::env::var_os("PATH").as_deref(),
            Path::new(SHARE),
            Path::new(SDL2_PLUGIN),
        )
    }

    /// Finds `bochs` in `path_var`, the BIOS images in `share` and the SDL2
    /// plugin at `sdl2_plugin`, or says which package to install. The plugin
    /// is only checked where its directory exists: another build of Bochs
    /// may have SDL2 built in.
    fn find_in(
        path_var: Option<&OsStr>,
        share: &Path,
        sdl2_plugin: &Path,
    ) -> Result<Self, Failure> {
        let program = discover::find_program(PROGRAM, PACKAGES, path_var)?;
        let file = |name: &str, what: &str, package: &str| {
            let path = share.join(name);
            if path.is_file() {
                Ok(path)
            } else {
                Err(Failure::usage(format!(
                    "{what} {} not found; install it with: sudo apt-get install {package}",
                    path.display()
                )))
            }
        };
        let bios = file(BIOS, "Bochs's BIOS", "bochsbios")?;
        let vga_bios = file(VGA_BIOS, "Bochs's VGA BIOS", "vgabios")?;
        if sdl2_plugin.parent().is_some_and(Path::is_dir) && !sdl2_plugin.exists() {
            return Err(Failure::usage(format!(
                "Bochs's SDL2 display plugin {} not found; install it with: sudo apt-get install bochs-sdl",
                sdl2_plugin.display()
            )));
        }
        Ok(Installation {
            program,
            bios,
            vga_bios,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::EXIT_USAGE;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn missing_pieces_name_their_package() {
        let root = tempfile::tempdir().unwrap();
        let (bin, share, plugins) = (
            root.path().join("bin"),
            root.path().join("share"),
            root.path().join("plugins"),
        );
        for dir in [&bin, &share, &plugins] {
            std::fs::create_dir(dir).unwrap();
        }
        let path_var = bin.as_os_str().to_owned();
        let plugin = plugins.join("libbx_sdl2_gui.so");
        let find = || Installation::find_in(Some(&path_var), &share, &plugin);
        let err = find().unwrap_err();
        assert_eq!(err.code, EXIT_USAGE);
        assert_eq!(
            err.message,
            format!("bochs not found; install it with: sudo apt-get install {PACKAGES}")
        );
        std::fs::write(bin.join("bochs"), "").unwrap();
        std::fs::set_permissions(bin.join("bochs"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        assert!(find().unwrap_err().message.ends_with("install bochsbios"));
        std::fs::write(share.join(BIOS), "").unwrap();
        assert!(find().unwrap_err().message.ends_with("install vgabios"));
        std::fs::write(share.join(VGA_BIOS), "").unwrap();
        assert!(find().unwrap_err().message.ends_with("install bochs-sdl"));
        std::fs::write(&plugin, "").unwrap();
        assert_eq!(find().unwrap().bios, share.join(BIOS));
        // A Bochs without a plugin directory there may have SDL2 built in.
        std::fs::remove_file(&plugin).unwrap();
        std::fs::remove_dir(&plugins).unwrap();
        assert!(find().is_ok());
    }
}
