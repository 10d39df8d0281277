//! `boot`: builds, packages and boots the kernel in QEMU (see the library,
//! `lib.rs`). It is also the cargo runner of the kernel target (see
//! `.cargo/config.toml`), so `cargo krun` hands it a freshly built ELF, and
//! `cargo run` at the workspace root runs it without one (it then builds the
//! kernel itself).

use boot::cli::Args;
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    match boot::run(&Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("{failure}");
            failure.exit_code()
        }
    }
}
