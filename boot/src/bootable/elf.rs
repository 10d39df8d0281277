//! Checks that a file is an x86_64 ELF executable before anything else runs,
//! and reads its entry point and symbols for debuggers that do not read ELF
//! files themselves (Bochs's, see `bochs.rs`).
//!
//! The bootloader would reject a wrong file only after the disk image is built
//! and QEMU booted, with a message on the guest's screen that `-display none`
//! hides; checking the 20-byte ELF header up front gives a clear line instead.

use crate::error::Failure;
use object::{Object, ObjectSymbol, SymbolKind};
use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::Path;

/// `\x7fELF`: the first four bytes of every ELF file.
const MAGIC: [u8; 4] = [0x7f, b'E', b'L', b'F'];
/// `e_ident[EI_CLASS]` for 64-bit objects.
const CLASS_64: u8 = 2;
/// `e_ident[EI_DATA]` for little-endian objects.
const DATA_LSB: u8 = 1;
/// `e_type` of an executable (ET_EXEC) and of a position-independent one (ET_DYN).
const TYPES_EXECUTABLE: [u16; 2] = [2, 3];
/// `e_machine` of x86_64 (EM_X86_64).
const MACHINE_X86_64: u16 = 62;
/// Bytes needed to read `e_ident`, `e_type` and `e_machine`.
const HEADER_LEN: usize = 20;

/// Fails with a usage error (exit 2) unless `path` is an x86_64 ELF executable.
pub fn validate_kernel(path: &Path) -> Result<(), Failure> {
    let not_elf = || {
        Failure::usage(format!(
            "{} is not an x86_64 ELF executable",
            path.display()
        ))
    };
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(Failure::usage(format!(
                "kernel file not found: {}",
                path.display()
            )));
        }
        Err(e) => {
            return Err(Failure::usage(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    };
    let mut header = [0u8; HEADER_LEN];
    // A directory or a file shorter than the header fails here.
    file.read_exact(&mut header).map_err(|_| not_elf())?;
    if is_x86_64_executable(&header) {
        Ok(())
    } else {
        Err(not_elf())
    }
}

/// Whether the first bytes of a file are the header of an x86_64 ELF executable.
fn is_x86_64_executable(header: &[u8; HEADER_LEN]) -> bool {
    let e_type = u16::from_le_bytes([header[16], header[17]]);
    let e_machine = u16::from_le_bytes([header[18], header[19]]);
    header[..4] == MAGIC
        && header[4] == CLASS_64
        && header[5] == DATA_LSB
        && TYPES_EXECUTABLE.contains(&e_type)
        && e_machine == MACHINE_X86_64
}

/// The symbols of the kernel ELF at `path`, as its debugger needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbols {
    /// The entry point (`e_entry`): the bootloader jumps there.
    pub entry: u64,
    /// `(address, name)` of every function and data object, by address.
    pub by_address: Vec<(u64, String)>,
}

impl Symbols {
    /// Reads the entry point and the symbol table of the ELF at `path`.
    pub fn read(path: &Path) -> Result<Self, Failure> {
        let bytes = std::fs::read(path)
            .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))?;
        let file = object::File::parse(&*bytes).map_err(|e| {
            Failure::usage(format!("cannot read the ELF file {}: {e}", path.display()))
        })?;
        let mut by_address: Vec<(u64, String)> = file
            .symbols()
            .filter(|s| matches!(s.kind(), SymbolKind::Text | SymbolKind::Data) && s.address() != 0)
            .filter_map(|s| Some((s.address(), s.name().ok()?.to_owned())))
            .filter(|(_, name)| !name.is_empty())
            .collect();
        by_address.sort();
        Ok(Symbols {
            entry: file.entry(),
            by_address,
        })
    }

    /// The address of the symbol `name`, if the ELF has it.
    pub fn address(&self, name: &str) -> Option<u64> {
        self.by_address
            .iter()
            .find(|(_, n)| n == name)
            .map(|&(address, _)| address)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::EXIT_USAGE;

    /// A minimal ELF header with the given class, type and machine.
    fn header(class: u8, e_type: u16, machine: u16) -> Vec<u8> {
        let mut h = vec![0u8; 64];
        h[..4].copy_from_slice(&MAGIC);
        h[4] = class;
        h[5] = DATA_LSB;
        h[6] = 1;
        h[16..18].copy_from_slice(&e_type.to_le_bytes());
        h[18..20].copy_from_slice(&machine.to_le_bytes());
        h
    }

    fn check(name: &str, contents: &[u8]) -> Result<(), Failure> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        validate_kernel(&path)
    }

    #[test]
    fn accepts_x86_64_executables() {
        assert_eq!(check("exec", &header(CLASS_64, 2, MACHINE_X86_64)), Ok(()));
        assert_eq!(check("pie", &header(CLASS_64, 3, MACHINE_X86_64)), Ok(()));
    }

    #[test]
    fn accepts_this_test_binary() {
        // The test runs on an x86_64 Linux host: its own executable is an ELF.
        if cfg!(all(target_arch = "x86_64", target_os = "linux")) {
            assert_eq!(validate_kernel(&std::env::current_exe().unwrap()), Ok(()));
        }
    }

    #[test]
    fn symbols_of_this_test_binary() {
        // The test binary is an ELF with a symbol table (tests are not stripped).
        if cfg!(all(target_arch = "x86_64", target_os = "linux")) {
            let symbols = Symbols::read(&std::env::current_exe().unwrap()).unwrap();
            assert_ne!(symbols.entry, 0);
            assert!(symbols.by_address.is_sorted());
            let main = symbols.address("main").expect("a `main` symbol");
            assert!(symbols.by_address.contains(&(main, "main".to_owned())));
            assert_eq!(symbols.address("no such symbol"), None);
        }
    }

    #[test]
    fn symbols_of_a_file_that_is_not_elf_are_a_usage_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("text");
        std::fs::write(&path, b"not an ELF file").unwrap();
        let err = Symbols::read(&path).unwrap_err();
        assert_eq!(err.code, EXIT_USAGE);
        assert!(
            err.message.starts_with("cannot read the ELF file "),
            "{}",
            err.message
        );
    }

    #[test]
    fn rejects_other_files() {
        let cases: [(&str, Vec<u8>); 6] = [
            (
                "text",
                b"#!/bin/sh\necho this is not a kernel at all\n".to_vec(),
            ),
            ("empty", Vec::new()),
            ("short", MAGIC.to_vec()),
            ("elf32", header(1, 2, MACHINE_X86_64)),
            ("aarch64", header(CLASS_64, 2, 183)),
            ("object", header(CLASS_64, 1, MACHINE_X86_64)),
        ];
        for (name, contents) in cases {
            let err = check(name, &contents).unwrap_err();
            assert_eq!(err.code, EXIT_USAGE, "{name}");
            assert!(
                err.message.ends_with("is not an x86_64 ELF executable"),
                "{name}: {}",
                err.message
            );
        }
    }

    #[test]
    fn rejects_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let err = validate_kernel(dir.path()).unwrap_err();
        assert!(
            err.message.ends_with("is not an x86_64 ELF executable"),
            "{}",
            err.message
        );
    }

    #[test]
    fn missing_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no-such-kernel");
        let err = validate_kernel(&path).unwrap_err();
        assert_eq!(err.code, EXIT_USAGE);
        assert_eq!(
            err.message,
            format!("kernel file not found: {}", path.display())
        );
    }
}
