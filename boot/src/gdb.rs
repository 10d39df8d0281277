//! The gdbstub side: choosing the port, waiting for QEMU to listen on it,
//! and starting gdb or telling the user how to.

use crate::emulator::qemu::Qemu;
use crate::error::Failure;
use crate::verdict::{Emulator, verdict};
use std::ffi::OsString;
use std::io::ErrorKind;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

/// How long QEMU may take to open the gdbstub port.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(10);

/// The gdbstub's port: `requested` if it is free on 127.0.0.1, else a usage
/// error; without a request, a free port chosen by the kernel (bind to port 0).
///
/// The test listener is closed before QEMU binds the port; another process
/// could take it in between, in which case QEMU reports the error itself.
pub fn choose_port(requested: Option<u16>) -> Result<u16, Failure> {
    let port = requested.unwrap_or(0);
    match TcpListener::bind((Ipv4Addr::LOCALHOST, port)) {
        Ok(listener) => listener
            .local_addr()
            .map(|addr| addr.port())
            .map_err(|e| Failure::usage(format!("cannot pick a gdb port: {e}"))),
        Err(e) if e.kind() == ErrorKind::AddrInUse => Err(Failure::usage(format!(
            "gdb port {port} on 127.0.0.1 is already in use; pass another --gdb-port or omit it to use a free one"
        ))),
        Err(e) => Err(Failure::usage(format!(
            "cannot use gdb port {port} on 127.0.0.1: {e}"
        ))),
    }
}

/// Waits until QEMU's gdbstub accepts connections on 127.0.0.1:`port`.
///
/// The probe connection is closed at once; QEMU's stub then waits for the
/// next client, and the guest stays paused (`-S`).
pub fn wait_for_listener(qemu: &mut Qemu, port: u16) -> Result<(), Failure> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let start = Instant::now();
    loop {
        if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if let Some(outcome) = qemu.try_outcome()? {
            let why = verdict(Emulator::Qemu, &outcome).err().map(|f| f.message);
            return Err(Failure::failed(format!(
                "QEMU exited before its gdbstub listened on 127.0.0.1:{port}: {}",
                why.unwrap_or_else(|| "the kernel already finished".into())
            )));
        }
        if start.elapsed() > LISTEN_TIMEOUT {
            return Err(Failure::failed(format!(
                "QEMU's gdbstub did not listen on 127.0.0.1:{port} within {} s",
                LISTEN_TIMEOUT.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The project's gdb script (`gdb/kernel.gdb`), if someone has written it.
pub fn script(workspace_root: &Path) -> Option<PathBuf> {
    Some(workspace_root.join("gdb").join("kernel.gdb")).filter(|path| path.is_file())
}

/// gdb's arguments: load the kernel's symbols, attach, then run the script.
pub fn gdb_args(elf: &Path, port: u16, script: Option<&Path>) -> Vec<OsString> {
    let mut args = vec![
        elf.into(),
        "-ex".into(),
        format!("target remote 127.0.0.1:{port}").into(),
    ];
    if let Some(script) = script {
        args.push("-x".into());
        args.push(script.into());
    }
    args
}

/// The gdb command line as a user types it into a shell.
pub fn attach_command(elf: &Path, port: u16, script: Option<&Path>) -> String {
    let mut words = vec!["gdb".to_string()];
    words.extend(
        gdb_args(elf, port, script)
            .iter()
            .map(|arg| shell_quote(&arg.to_string_lossy())),
    );
    words.join(" ")
}

/// Runs gdb in the foreground until it exits.
///
/// gdb stays in our process group, which owns the terminal, so it reads the
/// keyboard and gets Ctrl-C; the tool records that SIGINT and ignores it.
pub fn run_gdb(
    gdb: &Path,
    elf: &Path,
    port: u16,
    script: Option<&Path>,
) -> Result<ExitStatus, Failure> {
    Command::new(gdb)
        .args(gdb_args(elf, port, script))
        .status()
        .map_err(|e| Failure::usage(format!("cannot start {}: {e}", gdb.display())))
}

/// Quotes `word` for a POSIX shell when it contains anything but safe characters.
fn shell_quote(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./:=@+,%".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_port_is_chosen_when_none_is_given() {
        let port = choose_port(None).unwrap();
        assert_ne!(port, 0);
    }

    #[test]
    fn a_busy_port_is_a_usage_error() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let err = choose_port(Some(port)).unwrap_err();
        assert_eq!(err.code, crate::error::EXIT_USAGE);
        assert!(
            err.message
                .starts_with(&format!("gdb port {port} on 127.0.0.1 is already in use"))
        );
    }

    #[test]
    fn attach_command_is_copy_pasteable() {
        let cmd = attach_command(
            Path::new("target/k"),
            1234,
            Some(Path::new("gdb/kernel.gdb")),
        );
        assert_eq!(
            cmd,
            "gdb target/k -ex 'target remote 127.0.0.1:1234' -x gdb/kernel.gdb"
        );
        assert_eq!(
            attach_command(Path::new("a b/k"), 1, None),
            "gdb 'a b/k' -ex 'target remote 127.0.0.1:1'"
        );
    }

    #[test]
    fn quoting_escapes_single_quotes() {
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
