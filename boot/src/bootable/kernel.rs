//! Builds a kernel binary with `cargo kbuild` when no ELF path is given.
//!
//! Cargo's JSON messages name the produced executable, so the tool never
//! guesses target-directory layouts (custom target, profile, CARGO_TARGET_DIR).

use crate::error::Failure;
use serde_json::Value;
use std::collections::HashMap;
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

/// The name cargo gives the kernel's target directory: the target
/// specification's file name without `.json` (see the `kbuild` alias in
/// `.cargo/config.toml`).
const KERNEL_TARGET: &str = "x86_64-target";

/// Where cargo is expected to put kernel binary `bin`, judging by where this
/// runner is: `<target>/x86_64-target/<profile>/<bin>` for a runner in
/// `<target>/<profile>/`. Only a guess, for starting a boot early (see
/// `run.rs`): the path that cargo reports is the one that counts.
pub fn expected_elf(bin: &str, release: bool) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let target = exe.parent()?.parent()?;
    let profile = if release { "release" } else { "debug" };
    Some(target.join(KERNEL_TARGET).join(profile).join(bin))
}

/// Runs `$CARGO kbuild --bin NAME` in the workspace root and returns the ELF path.
/// A NAME that is not a kernel binary is a usage error that lists them.
pub fn build_kernel(bin: &str, release: bool) -> Result<PathBuf, Failure> {
    let kernels = kernel_names()?;
    if !kernels.iter().any(|k| k == bin) {
        return Err(Failure::usage(format!(
            "no kernel binary named `{bin}`; the kernels are: {}",
            kernels.join(", ")
        )));
    }
    let mut args = vec!["--bin", bin];
    if release {
        args.push("--release");
    }
    let what = format!("the kernel binary `{bin}`");
    kbuild(&args, &what)?.remove(bin).ok_or_else(|| {
        Failure::failed(format!(
            "cargo built `{bin}` but reported no executable for it"
        ))
    })
}

/// The names of the kernel crate's binaries, sorted, as `cargo metadata`
/// lists them (`kernel`, the `test_*` and `fault_*` kernels...).
pub fn kernel_names() -> Result<Vec<String>, Failure> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(&cargo)
        .args(["metadata", "--format-version=1", "--no-deps", "--offline"])
        .current_dir(workspace_root())
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| Failure::usage(format!("cannot run {}: {e}", Path::new(&cargo).display())))?;
    if !output.status.success() {
        return Err(Failure::failed(format!(
            "cargo metadata failed ({})",
            output.status
        )));
    }
    let metadata: Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| Failure::failed(format!("reading cargo metadata: {e}")))?;
    Ok(binaries_of(&metadata, "kernel"))
}

/// The sorted names of the `bin` targets of package `package` in `cargo
/// metadata` output.
fn binaries_of(metadata: &Value, package: &str) -> Vec<String> {
    let packages = metadata["packages"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    let mut names: Vec<String> = packages
        .iter()
        .filter(|p| p["name"] == package)
        .flat_map(|p| p["targets"].as_array().map_or(&[][..], Vec::as_slice))
        .filter(|t| {
            t["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "bin"))
        })
        .filter_map(|t| t["name"].as_str().map(str::to_owned))
        .collect();
    names.sort();
    names
}

/// Runs `$CARGO kbuild --bins` (debug) in the workspace root and returns the
/// ELF of every kernel binary (`kernel`, `test_*`, `fault_*`) by name.
pub fn build_all_kernels() -> Result<HashMap<String, PathBuf>, Failure> {
    kbuild(&["--bins"], "the kernel binaries")
}

/// Runs `$CARGO kbuild ARGS` in the workspace root; the executables it
/// reports, by binary name. `what` names the build in error messages.
///
/// Cargo's human-readable diagnostics go to our stderr (thanks to
/// `json-render-diagnostics`); its JSON messages on stdout are parsed here.
fn kbuild(args: &[&str], what: &str) -> Result<HashMap<String, PathBuf>, Failure> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut child = Command::new(&cargo)
        .arg("kbuild")
        .args(args)
        .arg("--message-format=json-render-diagnostics")
        .current_dir(workspace_root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| Failure::usage(format!("cannot run {}: {e}", Path::new(&cargo).display())))?;

    let stdout = child.stdout.take().expect("stdout is piped");
    let mut executables = HashMap::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.map_err(|e| Failure::failed(format!("reading cargo's output: {e}")))?;
        if let Some((name, path)) = executable_from_message(&line) {
            executables.insert(name, path);
        }
    }
    let status = child
        .wait()
        .map_err(|e| Failure::failed(format!("waiting for cargo: {e}")))?;
    if !status.success() {
        return Err(Failure::failed(format!(
            "building {what} failed ({status})"
        )));
    }
    Ok(executables)
}

/// The binary name and `executable` of a `compiler-artifact` message that
/// has one (libraries have none).
fn executable_from_message(line: &str) -> Option<(String, PathBuf)> {
    let message: Value = serde_json::from_str(line).ok()?;
    if message["reason"] != "compiler-artifact" {
        return None;
    }
    let name = message["target"]["name"].as_str()?;
    let executable = message["executable"].as_str()?;
    Some((name.to_owned(), PathBuf::from(executable)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_binary_name_and_executable() {
        let line = r#"{"reason":"compiler-artifact","target":{"name":"kernel","kind":["bin"]},"executable":"/t/kernel"}"#;
        assert_eq!(
            executable_from_message(line),
            Some(("kernel".to_owned(), PathBuf::from("/t/kernel")))
        );
    }

    #[test]
    fn ignores_libraries_other_messages_and_garbage() {
        let lib = r#"{"reason":"compiler-artifact","target":{"name":"kernel","kind":["lib"]},"executable":null}"#;
        let finished = r#"{"reason":"build-finished","success":true}"#;
        for line in [lib, finished, "not json", ""] {
            assert_eq!(executable_from_message(line), None, "{line}");
        }
    }

    #[test]
    fn binaries_of_a_package_sorted_without_its_library() {
        let metadata: Value = serde_json::from_str(
            r#"{"packages":[
                {"name":"boot","targets":[{"name":"boot","kind":["bin"]}]},
                {"name":"kernel","targets":[
                    {"name":"test_panic","kind":["bin"]},
                    {"name":"kernel","kind":["lib"]},
                    {"name":"kernel","kind":["bin"]}]}]}"#,
        )
        .unwrap();
        assert_eq!(binaries_of(&metadata, "kernel"), ["kernel", "test_panic"]);
        assert!(binaries_of(&metadata, "nothing").is_empty());
    }

    #[test]
    fn the_kernel_binaries_include_kernel_and_round_robin() {
        let names = kernel_names().unwrap();
        for name in ["kernel", "round_robin", "test_panic"] {
            assert!(names.iter().any(|n| n == name), "{names:?}");
        }
    }

    #[test]
    fn workspace_root_holds_the_workspace_manifest() {
        assert!(workspace_root().join("Cargo.toml").is_file());
        assert!(workspace_root().join("boot").is_dir());
    }
}
