//! The crate's one build requirement ("The suspend block" in the crate docs):
//! on a target without unwind tables, such as the kernel's, the suspend
//! block's `.cfi_adjust_cfa_offset` needs the enclosing function to have
//! CFI, which then only debug info gives it.
//!
//! Each test builds this crate's library in release, with `-C panic=abort
//! -C force-unwind-tables=no` (what a bare-metal target amounts to here),
//! in a target directory of its own, and sets the release profile's debug
//! info through cargo's environment, so that the result does not depend on
//! the workspace the crate sits in.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `cargo build --release --lib` of this crate without unwind tables, with
/// `debug` as the release profile's debug info, in `CARGO_TARGET_TMPDIR/dir`.
fn build_without_unwind_tables(debug: &str, dir: &str) -> Output {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let target_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(dir);
    Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--release", "--lib", "--manifest-path"])
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", &target_dir)
        .env("CARGO_PROFILE_RELEASE_DEBUG", debug)
        .env("RUSTFLAGS", "-C panic=abort -C force-unwind-tables=no")
        // Flags of an enclosing cargo would take precedence over RUSTFLAGS.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .expect("cargo runs")
}

#[test]
fn builds_without_unwind_tables_given_line_tables() {
    let out = build_without_unwind_tables("line-tables-only", "line-tables");
    assert!(
        out.status.success(),
        "the release build with line tables and no unwind tables failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The other side of the requirement, so that the test above is known to
/// build the case that matters: without debug info the assembler refuses.
/// Should a toolchain ever give such functions CFI anyway, this fails, and
/// the requirement in the crate docs can go.
#[test]
fn without_unwind_tables_or_debug_info_the_suspend_block_does_not_assemble() {
    let out = build_without_unwind_tables("false", "no-debug-info");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "built without CFI:\n{stderr}");
    assert!(
        stderr.contains("must appear between .cfi_startproc and .cfi_endproc")
            && stderr.contains(".cfi_adjust_cfa_offset"),
        "failed, but not on the suspend block's CFI:\n{stderr}"
    );
}
