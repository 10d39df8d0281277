//! The emulators that boot the image: QEMU ([`qemu`]), under its
//! deterministic record/replay or not ([`recording`]), and Bochs
//! ([`bochs`]), with the guest's serial output forwarded to the terminal
//! by [`serial`] for both.

pub mod bochs;
pub mod qemu;
pub mod recording;
pub mod serial;
