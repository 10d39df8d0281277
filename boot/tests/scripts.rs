//! The Python scripts behind `make bench`, `make soak` and the instruction
//! count (scripts/*.py), without running what they measure (minutes each,
//! and no test is timed): pyflakes finds nothing in them, so a misspelt name
//! in a branch no run took still fails here, and each prints its usage for
//! `--help` and exits 0.

mod common;

use common::{output_within, workspace_root};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// The scripts, found rather than listed, so that a new one is checked too.
fn scripts() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(workspace_root().join("scripts"))
        .expect("read scripts/")
        .map(|entry| entry.expect("a directory entry").file_name())
        .filter_map(|name| name.into_string().ok())
        .filter(|name| name.ends_with(".py"))
        .collect();
    names.sort();
    // bench.py, icount.py and soak.py today.
    assert!(names.len() >= 3, "scripts/ holds only {names:?}");
    names
}

fn run(program: &str, args: &[&str]) -> Output {
    let child = Command::new(program)
        .args(args)
        .current_dir(workspace_root().join("scripts"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {program} (make setup installs it): {e}"));
    output_within(child, Duration::from_secs(60), program)
}

fn text(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr)
}

#[test]
fn pyflakes_finds_nothing_in_the_scripts() {
    let names = scripts();
    let args: Vec<&str> = names.iter().map(String::as_str).collect();
    let output = run("pyflakes3", &args);
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(text(&output), "");
}

#[test]
fn every_script_prints_its_usage_for_help() {
    for name in scripts() {
        let output = run("python3", &[&name, "--help"]);
        let said = text(&output);
        assert!(output.status.success(), "{name} --help:\n{said}");
        // Every script's usage names the script itself.
        assert!(
            said.contains("sage") && said.contains(name.as_str()),
            "{name} --help does not show its usage:\n{said}"
        );
    }
}
