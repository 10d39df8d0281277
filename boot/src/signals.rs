//! Ctrl-C handling.
//!
//! QEMU runs in its own process group, so the terminal's SIGINT reaches only
//! the tool (and gdb, which shares our group). The tool does not die on it:
//! the handler (signal-hook's, which only sets a flag) records it, and the
//! QEMU wait loop then kills and reaps QEMU before exiting. While gdb runs
//! nobody reads the flag, which makes SIGINT a no-op for the tool, as gdb
//! needs (it uses Ctrl-C to stop the target). A caught signal, unlike an
//! ignored one, is reset to its default action in exec'd children, so gdb
//! and QEMU start with normal SIGINT.

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
