//! `boot`: builds, packages and boots the kernel in QEMU (see the library,
//! `lib.rs`). It is also the cargo runner of the kernel target (see
//! `.cargo/config.toml`), so `cargo krun` hands it a freshly built ELF, and
//! `cargo run` at the workspace root runs it without one (it then builds the
//! kernel itself).

use boot::cli::Args;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args =
        Args::try_from_command_line(std::env::args_os()).unwrap_or_else(|error| error.exit());
    match boot::run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("{failure}");
            failure.exit_code()
        }
    }
}
