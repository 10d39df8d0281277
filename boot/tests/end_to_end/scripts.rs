//! The Python scripts behind `make bench`, `make soak` and the instruction
//! count (scripts/*.py), without running what they measure (minutes each,
//! and no test is timed): pyflakes finds nothing in them, so a misspelt name
//! in a branch no run took still fails here, and each prints its usage for
//! `--help` and exits 0.

use crate::common;

use common::{run_within_a_minute, said, workspace_root};
use std::process::{Command, Output};

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

/// `program args` in scripts/.
fn run(program: &str, args: &[&str]) -> Output {
    let _sharing = common::sharing_the_machine();
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(workspace_root().join("scripts"));
    run_within_a_minute(command, program)
}

#[test]
fn pyflakes_finds_nothing_in_the_scripts() {
    let names = scripts();
    let args: Vec<&str> = names.iter().map(String::as_str).collect();
    let output = run("pyflakes3", &args);
    assert!(output.status.success(), "{}", said(&output));
    assert_eq!(said(&output), "");
}

#[test]
fn every_script_prints_its_usage_for_help() {
    for name in scripts() {
        let output = run("python3", &[&name, "--help"]);
        let usage = said(&output);
        assert!(output.status.success(), "{name} --help:\n{usage}");
        // Every script's usage names the script itself.
        assert!(
            usage.contains("sage") && usage.contains(name.as_str()),
            "{name} --help does not show its usage:\n{usage}"
        );
    }
}
