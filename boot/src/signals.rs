//! Ctrl-C handling, and the signal that ends an emulator with the tool.
//!
//! QEMU runs in its own process group, so the terminal's SIGINT reaches only
//! the tool (and gdb, which shares our group). The tool does not die on it:
//! the handler (signal-hook's, which only sets a flag) records it, and the
//! QEMU wait loop then kills and reaps QEMU before exiting. While gdb runs
//! nobody reads the flag, which makes SIGINT a no-op for the tool, as gdb
//! needs (it uses Ctrl-C to stop the target). A caught signal, unlike an
//! ignored one, is reset to its default action in exec'd children, so gdb
//! and QEMU start with normal SIGINT.

use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set by the SIGINT handler; read and cleared by the wait loops.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Installs the recording SIGINT handler (once). Call before spawning QEMU.
pub fn catch_sigint() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Fails only for signals that cannot be caught, which SIGINT is not.
        signal_hook::flag::register(signal_hook::consts::SIGINT, &INTERRUPTED)
            .expect("SIGINT can be caught");
    });
}

/// Whether Ctrl-C was pressed since the last [`clear`].
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Forgets earlier Ctrl-C presses (those meant for gdb).
pub fn clear() {
    INTERRUPTED.store(false, Ordering::SeqCst);
}

/// Makes the child that `command` starts receive SIGKILL when the thread
/// that started it exits (PR_SET_PDEATHSIG): an emulator never outlives the
/// tool, even when the tool is killed outright. Spawn from the main thread.
pub fn kill_with_parent(command: &mut Command) {
    let parent = std::process::id();
    // SAFETY: the closure runs in the forked child before exec and only
    // calls async-signal-safe functions (prctl, getppid); it does not
    // allocate (the error is built from a raw OS error code).
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(io::Error::last_os_error());
            }
            // The tool may have died between fork and prctl.
            if libc::getppid() as u32 != parent {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}
