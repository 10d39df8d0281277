//! From the kernel's source to a bootable disk image: build the kernel
//! ([`kernel`]), check the ELF and read its symbols ([`elf`]), strip a copy
//! of its debug info ([`strip`]) and package it for the chosen
//! [`firmware`] ([`image`]).

pub mod elf;
pub mod firmware;
pub mod image;
pub mod kernel;
pub mod strip;
