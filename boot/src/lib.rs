//! `boot`: the host tool that builds, packages and boots the kernel in QEMU
//! (or Bochs), as a library; `main.rs` only parses the command line and
//! calls [`run`]. The integration tests (`boot/tests/`) use the same
//! functions (building the kernels, naming the images, checking for
//! leftover QEMU processes) instead of copies.
//!
//! The steps, each in its own module: parse the command line ([`cli`]),
//! find the programs on the host ([`discover`]), build the kernel and make
//! the disk image ([`build`]), boot it in an emulator ([`emulator`]: QEMU,
//! its record/replay, or Bochs) while forwarding its serial output, possibly
//! with gdb ([`gdb`]), turn the way the run ended into the tool's exit
//! ([`verdict`], [`error`]) and save what the user asked for from the
//! kernel's event lines ([`outputs`]): the lines, and a Chrome Trace Event
//! file and an SVG picture, which the `picture` crate draws. [`run`] ties
//! them together.
//!
//! # Line endings
//!
//! The kernel ends its serial lines with CRLF. On a terminal they are shown
//! as sent; to a pipe or a file (`cargo run | grep ...`, `cargo run > log`)
//! they go with LF alone. [`emulator::serial::Endings`] is the one place that turns
//! CRLF into LF; the event lines (COM2) that the tests read, and the serial
//! log QEMU writes in `--gdb` mode, keep what the kernel sent.

pub mod build;
pub mod cli;
pub mod discover;
pub mod emulator;
pub mod error;
pub mod gdb;
pub mod leftover;
pub mod outputs;
pub mod paths;
mod run;
pub mod signals;
pub mod verdict;

pub use run::run;
