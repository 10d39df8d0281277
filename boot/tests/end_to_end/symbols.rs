//! The original program's labels are the kernel's ELF symbols, so a gdb
//! user types `break switch_to_coro1` or `x/gx &main_context` as on the NASM
//! program; and they name the very objects the kernel uses, which its event
//! lines report by address.

use crate::common;

use common::KernelCopy;
use common::events::boot_with_events;
use object::{Object, ObjectSection, ObjectSymbol, SectionKind, SymbolKind};
use std::collections::HashMap;

/// name -> (address, size, kind, section kind) of every symbol of `elf`.
fn symbols(elf: &[u8]) -> HashMap<String, (u64, u64, SymbolKind, SectionKind)> {
    let file = object::File::parse(elf).expect("the kernel is an ELF file");
    file.symbols()
        .filter_map(|s| {
            let section = s
                .section_index()
                .map(|i| file.section_by_index(i).expect("section"))?;
            Some((
                s.name().ok()?.to_owned(),
                (s.address(), s.size(), s.kind(), section.kind()),
            ))
        })
        .collect()
}

/// The crate's two switches share one 128-byte block in the kernels as on
/// the host (switch/src/switch.rs, "Where the two switches lie").
#[test]
fn the_two_switches_share_one_128_byte_block_in_the_kernels() {
    for kernel in ["kernel", "round_robin"] {
        let elf = std::fs::read(common::kernel(kernel)).expect("read the kernel");
        let symbols = symbols(&elf);
        let at = |name: &str| {
            symbols
                .get(name)
                .unwrap_or_else(|| panic!("no symbol {name} in {kernel}"))
                .0
        };
        let (back, into) = (at("switch_back"), at("switch_into"));
        assert_eq!(back % 128, 0, "{kernel}: switch_back at {back:#x}");
        assert_eq!(
            into,
            back + 64,
            "{kernel}: switch_into at {into:#x}, switch_back at {back:#x}"
        );
    }
}

#[test]
fn the_seed_labels_are_symbols_of_the_objects_the_kernel_uses() {
    let elf = std::fs::read(common::kernel("kernel")).expect("read the kernel");
    let symbols = symbols(&elf);
    let get = |name: &str| {
        *symbols
            .get(name)
            .unwrap_or_else(|| panic!("no symbol {name} in the kernel"))
    };
    for function in [
        "switch_to_coro1",
        "switch_to_coro2",
        "coroutine1_func",
        "coroutine2_func",
        "init_coroutines",
    ] {
        let (_, _, kind, section) = get(function);
        assert_eq!(
            (kind, section),
            (SymbolKind::Text, SectionKind::Text),
            "{function}"
        );
    }
    for (slot, size) in [
        ("main_context", 8),
        ("coro1_context", 8),
        ("coro2_context", 8),
    ] {
        let (_, actual, kind, section) = get(slot);
        assert_eq!(
            (actual, kind, section),
            (size, SymbolKind::Data, SectionKind::UninitializedData),
            "{slot}"
        );
    }
    for stack in ["coroutine1_stack", "coroutine2_stack"] {
        let (address, size, kind, section) = get(stack);
        assert_eq!(
            (size, kind, section),
            (4096, SymbolKind::Data, SectionKind::UninitializedData),
            "{stack}"
        );
        assert_eq!(
            address % 4096,
            0,
            "{stack} is page-aligned above its guard page"
        );
    }

    // The routines the kernel reports are those symbols: its stacks and
    // slots are the listing's, not copies.
    let kernel = KernelCopy::new("kernel");
    let run = {
        let _sharing = common::sharing_the_machine();
        boot_with_events(kernel.elf(), &[])
    };
    assert!(run.output.status.success(), "{}", run.dump());
    for routine in &run.routines()[1..] {
        assert_eq!(get(routine.stack).0, routine.bottom, "{routine:?}");
        assert_eq!(get(routine.slot).0, routine.slot_addr, "{routine:?}");
    }
    assert_eq!(get("main_context").0, run.routines()[0].slot_addr);
}
