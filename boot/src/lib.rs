//! `boot`: the host tool that builds, packages and boots the kernel in QEMU
//! (or Bochs),
//! as a library; `main.rs` only parses the command line and calls [`run`].
//! The integration tests (`boot/tests/`) use the same functions (building
//! the kernels, naming the images, checking for leftover QEMU processes)
//! instead of copies.
//!
//! The steps, each in its own module: parse the command line ([`cli`]),
//! check the input and the host ([`elf`], [`discover`]), build the kernel
//! ([`kernel_build`]), make the disk image from a stripped copy ([`strip`],
//! [`image`]) for the chosen [`firmware`], run QEMU ([`qemu`]) while
//! forwarding its serial output ([`serial`]), possibly with gdb ([`gdb`])
//! or under QEMU's record/replay ([`recording`]), or Bochs instead, plain or in its own debugger ([`bochs`]),
//! turn QEMU's exit into ours ([`status`], [`error`]) and save what the user
//! asked for from the kernel's event lines ([`events`]): the lines, and a
//! Chrome Trace Event file and an SVG picture, which the `picture` crate
//! draws. [`run`] ties them together.
//!
//! # Line endings
//!
//! The kernel ends its serial lines with CRLF. On a terminal they are shown
//! as sent; to a pipe or a file (`cargo run | grep ...`, `cargo run > log`)
//! they go with LF alone. [`serial::Endings`] is the one place that turns
//! CRLF into LF; the event lines (COM2) that the tests read, and the serial
//! log QEMU writes in `--gdb` mode, keep what the kernel sent.

pub mod bochs;
pub mod cli;
pub mod discover;
pub mod elf;
pub mod error;
pub mod events;
pub mod firmware;
pub mod gdb;
pub mod image;
pub mod kernel_build;
pub mod leftover;
pub mod paths;
pub mod qemu;
pub mod recording;
mod run;
pub mod serial;
pub mod signals;
pub mod status;
pub mod strip;

pub use run::run;
