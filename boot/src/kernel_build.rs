//! Builds a kernel binary with `cargo kbuild` when no ELF path is given.
//!
//! Cargo's JSON messages name the produced executable, so the tool never
//! guesses target-directory layouts (custom target, profile, CARGO_TARGET_DIR).

use crate::error::Failure;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The workspace root: the parent of this crate's directory, fixed at compile
/// time so the tool works from any current directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("boot/ has a parent directory")
        .to_path_buf()
}

/// Runs `$CARGO kbuild --bin NAME` in the workspace root and returns the ELF path.
///
/// Cargo's human-readable diagnostics go to our stderr (thanks to
/// `json-render-diagnostics`); its JSON messages on stdout are parsed here.
pub fn build_kernel(bin: &str, release: bool) -> Result<PathBuf, Failure> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(&cargo);
    command
        .args([
            "kbuild",
            "--bin",
            bin,
            "--message-format=json-render-diagnostics",
        ])
        .current_dir(workspace_root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    if release {
        command.arg("--release");
    }
    let mut child = command
        .spawn()
        .map_err(|e| Failure::usage(format!("cannot run {}: {e}", Path::new(&cargo).display())))?;

    let stdout = child.stdout.take().expect("stdout is piped");
    let mut executable = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.map_err(|e| Failure::failed(format!("reading cargo's output: {e}")))?;
        if let Some(path) = executable_from_message(&line, bin) {
            executable = Some(path);
        }
    }
    let status = child
        .wait()
        .map_err(|e| Failure::failed(format!("waiting for cargo: {e}")))?;
    if !status.success() {
        return Err(Failure::failed(format!(
            "building the kernel binary `{bin}` failed ({status})"
        )));
    }
    executable.ok_or_else(|| {
        Failure::failed(format!(
            "cargo built `{bin}` but reported no executable for it"
        ))
    })
}

/// The `executable` of a `compiler-artifact` message for the binary `bin`.
fn executable_from_message(line: &str, bin: &str) -> Option<PathBuf> {
    let message: Value = serde_json::from_str(line).ok()?;
    if message["reason"] != "compiler-artifact" || message["target"]["name"] != bin {
        return None;
    }
    message["executable"].as_str().map(PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_executable_of_the_named_binary() {
        let line = r#"{"reason":"compiler-artifact","target":{"name":"kernel","kind":["bin"]},"executable":"/t/kernel"}"#;
        assert_eq!(
            executable_from_message(line, "kernel"),
            Some(PathBuf::from("/t/kernel"))
        );
        assert_eq!(executable_from_message(line, "test_hang"), None);
    }

    #[test]
    fn ignores_libraries_other_messages_and_garbage() {
        let lib = r#"{"reason":"compiler-artifact","target":{"name":"kernel","kind":["lib"]},"executable":null}"#;
        let finished = r#"{"reason":"build-finished","success":true}"#;
        for line in [lib, finished, "not json", ""] {
            assert_eq!(executable_from_message(line, "kernel"), None, "{line}");
        }
    }

    #[test]
    fn workspace_root_holds_the_workspace_manifest() {
        assert!(workspace_root().join("Cargo.toml").is_file());
        assert!(workspace_root().join("boot").is_dir());
    }
}
