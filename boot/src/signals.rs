//! Ctrl-C handling.
//!
//! QEMU runs in its own process group, so the terminal's SIGINT reaches only
//! the tool (and gdb, which shares our group). The tool does not die on it:
//! the handler below only records it, and the QEMU wait loop then kills and
//! reaps QEMU before exiting. While gdb runs nobody reads the flag, which
//! makes SIGINT a no-op for the tool, as gdb needs (it uses Ctrl-C to stop the
//! target). A caught signal, unlike an ignored one, is reset to its default
//! action in exec'd children, so gdb and QEMU start with normal SIGINT.

use std::sync::atomic::{AtomicBool, Ordering};

/// Set by the SIGINT handler; read and cleared by the wait loops.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_signal: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Installs the recording SIGINT handler. Call before spawning QEMU.
pub fn catch_sigint() {
    // SAFETY: `sigaction` is called with a zero-initialised struct whose
    // handler is an `extern "C" fn(c_int)` that only performs an atomic store,
    // which is async-signal-safe; the old action is not needed (null).
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigint as extern "C" fn(libc::c_int) as libc::sighandler_t;
        action.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGINT, &action, std::ptr::null_mut());
    }
}

/// Whether Ctrl-C was pressed since the last [`clear`].
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Forgets earlier Ctrl-C presses (those meant for gdb).
pub fn clear() {
    INTERRUPTED.store(false, Ordering::SeqCst);
}
