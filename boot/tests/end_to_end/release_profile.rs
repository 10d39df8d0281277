//! `cargo run -- --release` builds the kernel with the workspace's release
//! profile, and the kernel has no unwind tables: the switch's suspend block
//! then assembles only if that profile keeps debug info (root `Cargo.toml`,
//! `[profile.release]`; `switch/tests/no_unwind_tables.rs` shows both sides
//! of the requirement). A full release kernel build (core from source) takes
//! about 50 s cold; the switch library built the same way, on the host, takes
//! a second and fails in the same way if the profile loses its debug info.

use crate::common;

use std::process::Command;

#[test]
fn the_workspace_release_profile_lets_the_switch_assemble_without_unwind_tables() {
    let target_dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("release-profile");
    let _sharing = common::sharing_the_machine();
    let out = Command::new(env!("CARGO"))
        .current_dir(common::workspace_root())
        .args([
            "build",
            "--quiet",
            "--release",
            "--lib",
            "-p",
            "coroutine-switch",
        ])
        .env("CARGO_TARGET_DIR", &target_dir)
        .env("RUSTFLAGS", "-C panic=abort -C force-unwind-tables=no")
        // Only the workspace's own profile counts here.
        .env_remove("CARGO_PROFILE_RELEASE_DEBUG")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "the switch does not build under the workspace's release profile without unwind tables, \
         so `--release` kernels do not either:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
