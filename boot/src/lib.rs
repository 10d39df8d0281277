//! `boot`: the host tool that builds, packages and boots the kernel in QEMU
//! (or Bochs), as a library; `main.rs` only parses the command line and
//! calls [`run`]. The integration tests (`boot/tests/`) use the same
//! functions (building the kernels, naming the images, checking for
//! leftover QEMU processes) instead of copies.
//!
//! The steps, each in its own module: parse the command line ([`cli`]),
//! find the programs on the host ([`discover`]), build the kernel and make
//! the disk image ([`bootable`]), boot it in an emulator ([`emulator`]: QEMU,
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
//!
//! # Time
//!
//! A warm run (nothing to rebuild) is QEMU's time and the tool's own,
//! which is almost all cargo's: `cargo kbuild` takes about 0.2 s of CPU to
//! find that the kernel is up to date. So a plain run of a kernel that
//! cargo builds boots the image made last time while cargo checks the
//! kernel, with QEMU's output held back; once cargo has left the kernel as
//! it was, the output goes out and the run goes on, and if cargo rebuilt
//! it, that QEMU is killed and the new kernel booted (`boot_early` in
//! `run.rs`, [`emulator::qemu::Qemu::spawn_held`]). An image is made again
//! only when its kernel or the runner changed ([`bootable::image::make_image`]),
//! which spares a `rustc`, an `llvm-objcopy` and the disk writer (about
//! 40 ms) per run.
//!
//! Measured on a 2-vCPU Intel Xeon VM (KVM guest), whole process, paired runs against QEMU
//! alone on the same image with the same devices (0.86 s), medians, load
//! average about 1: `target/debug/boot` takes 1.08 times QEMU's wall time
//! (0.92 s, 16 pairs; 1.31 before this overlap, 10 pairs at load average
//! 3), a warm `cargo run` 1.15 (12 pairs: cargo's own check of the runner
//! comes first), and the runner given the ELF (`target/debug/boot
//! KERNEL_ELF`, no cargo) 1.00 (10 pairs): the runner itself costs nothing
//! measurable. What is left is cargo's CPU time (about 0.3 s more than
//! QEMU alone), which overlaps the boot when a processor is free and adds
//! to it when none is: 1.17 at load average 4 to 5.

pub mod bootable;
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
