//! Helpers shared by the integration tests: where the workspace is, the
//! kernel ELFs (built once per test binary), and reading numbers out of the
//! kernel's and gdb's output.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

pub mod events;

/// The workspace root (the parent of `boot/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("boot/ has a parent")
        .to_path_buf()
}

/// The ELF of every kernel binary (`kernel`, `test_*`, `fault_*`), by name,
/// built once with `cargo kbuild --bins`.
fn kernels() -> &'static HashMap<String, PathBuf> {
    static KERNELS: OnceLock<HashMap<String, PathBuf>> = OnceLock::new();
    KERNELS.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let output = Command::new(cargo)
            .args([
                "kbuild",
                "--bins",
                "--message-format=json-render-diagnostics",
            ])
            .current_dir(workspace_root())
            .stderr(Stdio::inherit())
            .output()
            .expect("run cargo kbuild");
        assert!(output.status.success(), "cargo kbuild --bins failed");
        let mut kernels = HashMap::new();
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            if message["reason"] == "compiler-artifact"
                && let (Some(name), Some(exe)) = (
                    message["target"]["name"].as_str(),
                    message["executable"].as_str(),
                )
            {
                kernels.insert(name.to_string(), PathBuf::from(exe));
            }
        }
        kernels
    })
}

/// The ELF of the kernel binary `name`.
pub fn kernel(name: &str) -> &'static Path {
    kernels()
        .get(name)
        .unwrap_or_else(|| panic!("kernel binary {name} was not built"))
}

/// The hexadecimal number right after `key` in `line` (`0x` optional).
pub fn hex_after(line: &str, key: &str) -> u64 {
    let start = line
        .find(key)
        .unwrap_or_else(|| panic!("no {key} in {line:?}"))
        + key.len();
    let digits: String = line[start..]
        .trim_start_matches("0x")
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    u64::from_str_radix(&digits, 16)
        .unwrap_or_else(|_| panic!("bad number after {key} in {line:?}"))
}

/// The decimal number right after `key` in `line`.
pub fn dec_after(line: &str, key: &str) -> u64 {
    let start = line
        .find(key)
        .unwrap_or_else(|| panic!("no {key} in {line:?}"))
        + key.len();
    let digits: String = line[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("bad number after {key} in {line:?}"))
}
