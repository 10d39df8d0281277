//! The book stays true to the code (`scripts/docs.py`, declared in
//! `docs/listings.toml`): the listings quoted in README.md and docs/ that are
//! cheap to rerun (marked `check`) are what the code prints now, and every
//! relative link and `#anchor` between those pages resolves. Each check is
//! also run on an edited copy of the pages, where it must fail and say why.

use crate::common;

use common::{output_within, said, workspace_root};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::Duration;

/// Held while a check reruns listings: two at once would both write
/// target/original/ (`make original`).
static LISTINGS: Mutex<()> = Mutex::new(());

/// `scripts/docs.py ARGS`, with the boot tool this test built; the pages
/// are read from `pages` when given (an edited copy), else the repository.
fn docs(pages: Option<&Path>, args: &[&str]) -> Output {
    // The listings boot the kernel: build it (once for the suite) first.
    common::kernel("kernel");
    let _sharing = common::sharing_the_machine();
    let mut command = Command::new("python3");
    command
        .arg(workspace_root().join("scripts/docs.py"))
        .env("BOOT", env!("CARGO_BIN_EXE_boot"));
    if let Some(pages) = pages {
        command.arg("--pages").arg(pages);
    }
    let child = command
        .args(args)
        .current_dir(workspace_root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start python3 (make setup installs it)");
    output_within(child, Duration::from_secs(300), "scripts/docs.py")
}

/// A copy of README.md and docs/*.md in a scratch directory, laid out as in
/// the repository.
fn copy_of_the_pages() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("scratch directory");
    std::fs::create_dir(dir.path().join("docs")).expect("docs/");
    std::fs::copy(
        workspace_root().join("README.md"),
        dir.path().join("README.md"),
    )
    .expect("copy README.md");
    for entry in std::fs::read_dir(workspace_root().join("docs")).expect("read docs/") {
        let path = entry.expect("an entry").path();
        if path.extension().is_some_and(|e| e == "md") {
            std::fs::copy(
                &path,
                dir.path().join("docs").join(path.file_name().unwrap()),
            )
            .expect("copy a chapter");
        }
    }
    dir
}

/// Replaces the one occurrence of `from` in `file` by `to`.
fn edit(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).expect("read a page");
    assert_eq!(text.matches(from).count(), 1, "{from:?} in {file:?}");
    std::fs::write(file, text.replace(from, to)).expect("write a page");
}

#[test]
fn the_quoted_listings_are_what_the_code_prints() {
    let _one_at_a_time = LISTINGS.lock().unwrap_or_else(|e| e.into_inner());
    let output = docs(None, &["check"]);
    assert!(
        output.status.success(),
        "a listing differs from a fresh run; `make docs` rewrites them:\n{}",
        said(&output)
    );
}

#[test]
fn an_edited_listing_fails_the_check_with_a_diff() {
    let copy = copy_of_the_pages();
    // A step of the original's trace, edited by hand: RSP one word off.
    let line =
        "switch_to_coro1+8   mov rsp,QWORD PTR [coro1_context]  RSP=coroutine1_stack top-0x0";
    let edited = line.replace("top-0x0", "top-0x8");
    edit(&copy.path().join("docs/original.md"), line, &edited);
    let _one_at_a_time = LISTINGS.lock().unwrap_or_else(|e| e.into_inner());
    let output = docs(Some(copy.path()), &["check", "original"]);
    let text = said(&output);
    assert!(!output.status.success(), "the check passed:\n{text}");
    assert!(
        text.contains(&format!("-  {edited}")) && text.contains(&format!("+  {line}")),
        "the diff does not show the edited line and the real one:\n{text}"
    );
    assert!(text.contains("1 of 1 checked listings differ"), "{text}");
}

#[test]
fn every_link_and_anchor_resolves() {
    let output = docs(None, &["links"]);
    assert!(output.status.success(), "{}", said(&output));
}

#[test]
fn a_broken_link_and_a_broken_anchor_fail_the_check() {
    let copy = copy_of_the_pages();
    edit(
        &copy.path().join("README.md"),
        "(docs/original.md)",
        "(docs/orginal.md)",
    );
    edit(
        &copy.path().join("docs/picture.md"),
        "[What the tests check](testing.md)",
        "[What the tests check](testing.md#no-such-heading)",
    );
    let output = docs(Some(copy.path()), &["links"]);
    let text = said(&output);
    assert!(!output.status.success(), "the check passed:\n{text}");
    assert!(
        text.contains("README.md:") && text.contains("docs/orginal.md: no such file"),
        "{text}"
    );
    assert!(
        text.contains("testing.md#no-such-heading: no heading #no-such-heading"),
        "{text}"
    );
}
