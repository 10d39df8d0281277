//! Finds emulator processes (QEMU, Bochs) that outlived the `boot` that
//! started them: the tests' check that the tool never leaves one behind.

use std::path::Path;

/// Command lines of running `qemu-system-x86_64` processes that contain
/// `needle` (e.g. an image path) and whose parent is not a `boot` process.
///
/// A QEMU whose parent is a live `boot` belongs to a run in progress (e.g.
/// another `cargo test` in the same workspace): not a leak. One that outlived
/// its `boot` has been re-parented to init or a subreaper, so it is listed.
/// Linux only: reads `/proc`.
pub fn leftover_qemus(needle: &str) -> Vec<String> {
    leftover_processes(crate::discover::QEMU, needle)
}

/// The same for Bochs (`bochs-bin`, which Debian's `bochs` script runs).
pub fn leftover_bochs(needle: &str) -> Vec<String> {
    leftover_processes(crate::emulator::bochs::PROGRAM, needle)
}

/// Command lines of running processes whose command line contains both
/// `program` and `needle` and whose parent is not a `boot` process.
fn leftover_processes(program: &str, needle: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(program) && cmdline.contains(needle) && !parent_is_boot(&entry.path()) {
            found.push(cmdline);
        }
    }
    found
}

/// Whether the parent of the process at `/proc/<pid>` is a `boot` process.
fn parent_is_boot(proc_dir: &Path) -> bool {
    let Ok(stat) = std::fs::read_to_string(proc_dir.join("stat")) else {
        return false;
    };
    // `pid (comm) state ppid ...`; comm may contain spaces, so split after
    // its closing parenthesis.
    let ppid = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().nth(1))
        .unwrap_or("1");
    std::fs::read_to_string(format!("/proc/{ppid}/comm")).is_ok_and(|comm| comm.trim() == "boot")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    #[test]
    fn a_matching_process_not_started_by_boot_is_listed_until_it_ends() {
        // A stand-in named like QEMU would need a binary of that name; a
        // `sleep` whose arguments contain both words matches the same way.
        let needle = format!("qemu-system-x86_64-leftover-test-{}", std::process::id());
        let mut child = Command::new("sh")
            .args(["-c", "sleep 30; true", &needle])
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        // Our test binary is not called `boot`, so the child counts as left
        // over, once it runs `sh`: until its exec, /proc shows the forked
        // test binary's command line, so look again until it shows (a loaded
        // machine once took over two seconds to get there), for up to as
        // long as the child sleeps.
        let mut found = leftover_qemus(&needle);
        for _ in 0..1500 {
            if !found.is_empty() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
            found = leftover_qemus(&needle);
        }
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(leftover_qemus(&needle).is_empty());
    }
}
