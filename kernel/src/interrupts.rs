//! The IDT: every CPU exception the kernel can provoke becomes one sentence
//! on serial and a failing QEMU exit, never a silent reboot loop.
//!
//! Why: without an IDT (or with the bootloader's), any fault escalates to a
//! triple fault and QEMU resets with nothing on the terminal. Each handler
//! here says what happened, where (RIP, and RSP or the fault address), and
//! which routine was running (see [`crate::report::who_runs`]), then exits with
//! [`ExitCode::Failed`]. None returns: this kernel has no way to repair
//! a coroutine that faulted.
//!
//! Every handler runs on an IST stack (see [`crate::gdt`]), so none needs
//! the stack that was in use when the fault hit: it may be the overflowed
//! 4096-byte coroutine stack. Output goes through
//! [`serial::panic_println`], which breaks the serial lock instead of
//! spinning on it if the fault hit while the lock was held.

use crate::events::LineBuf;
use crate::exit::exit_qemu;
use crate::gdt::{DOUBLE_FAULT_IST_INDEX, OTHER_FAULTS_IST_INDEX, PAGE_FAULT_IST_INDEX};
use crate::report::{report_fault, who_runs};
use crate::roster;
use protocol::ExitCode;
use spin::Once;
use x86_64::registers::control::Cr2;
use x86_64::structures::idt::{InterruptDescriptorTable, InterruptStackFrame, PageFaultErrorCode};

// Built once; the CPU keeps using them, so they must be 'static.
static IDT: Once<InterruptDescriptorTable> = Once::new();

/// The IDT of the double-fault test kernel: only the double-fault handler.
static DOUBLE_FAULT_ONLY_IDT: Once<InterruptDescriptorTable> = Once::new();

/// Fills the IDT and loads it.
///
/// # Safety
///
/// Call once, from `kernel::init`, after the GDT and TSS are loaded (each
/// entry records the current code segment, and the IST indices refer to the
/// TSS).
pub(crate) unsafe fn init() {
    let mut idt = InterruptDescriptorTable::new();
    // SAFETY: (every `set_stack_index` call) the indices name IST slots
    // that `gdt::init` filled with the tops of 'static stacks used by nothing
    // else; `OTHER_FAULTS_IST_INDEX` is shared by handlers that never
    // return, so no two of them are ever live on it.
    unsafe {
        idt.breakpoint
            .set_handler_fn(breakpoint_handler)
            .set_stack_index(OTHER_FAULTS_IST_INDEX);
        idt.invalid_opcode
            .set_handler_fn(invalid_opcode_handler)
            .set_stack_index(OTHER_FAULTS_IST_INDEX);
        idt.general_protection_fault
            .set_handler_fn(general_protection_fault_handler)
            .set_stack_index(OTHER_FAULTS_IST_INDEX);
        idt.page_fault
            .set_handler_fn(page_fault_handler)
            .set_stack_index(PAGE_FAULT_IST_INDEX);
        idt.double_fault
            .set_handler_fn(double_fault_handler)
            .set_stack_index(DOUBLE_FAULT_IST_INDEX);
    }
    IDT.call_once(|| idt).load();
}

/// Replaces the IDT with one that has *only* the double-fault handler, for
/// the double-fault test kernel (`src/bin/fault_double_fault.rs`).
///
/// The next page fault then finds no handler: delivering it raises a
/// segment-not-present fault, and that fault during the delivery of a page
/// fault is, by the CPU's rules, a double fault. That is the honest way to
/// provoke one; the usual cause (a page fault while pushing a page fault's
/// frame onto an overflowed stack) cannot happen here, since the page-fault
/// handler runs on its own IST stack.
///
/// # Panics
///
/// If called twice.
pub fn load_double_fault_only_idt() {
    assert!(
        !DOUBLE_FAULT_ONLY_IDT.is_completed(),
        "the double-fault-only IDT was loaded twice"
    );
    let mut idt = InterruptDescriptorTable::new();
    // SAFETY: as in `init`; `kernel::init` loaded the TSS with this slot.
    unsafe {
        idt.double_fault
            .set_handler_fn(double_fault_handler)
            .set_stack_index(DOUBLE_FAULT_IST_INDEX);
    }
    DOUBLE_FAULT_ONLY_IDT.call_once(|| idt).load();
}

/// Reports the fault (event line, then the sentence on COM1, neither
/// waiting for a lock) and fails the run. `frame` gives the RSP of the code
/// that faulted.
fn report(frame: &InterruptStackFrame, sentence: core::fmt::Arguments) -> ! {
    let sentence: LineBuf<512> = LineBuf::format(sentence);
    report_fault(frame.stack_pointer.as_u64(), sentence.as_str());
    exit_qemu(ExitCode::Failed)
}

extern "x86-interrupt" fn breakpoint_handler(frame: InterruptStackFrame) {
    report(
        &frame,
        format_args!(
            "breakpoint (int3) hit at RIP {:#x}{} and no debugger is attached, so the kernel stops.",
            frame.instruction_pointer.as_u64(),
            who_runs()
        ),
    )
}

extern "x86-interrupt" fn invalid_opcode_handler(frame: InterruptStackFrame) {
    report(
        &frame,
        format_args!(
            "invalid opcode (e.g. ud2) at RIP {:#x}{}.",
            frame.instruction_pointer.as_u64(),
            who_runs()
        ),
    )
}

extern "x86-interrupt" fn general_protection_fault_handler(
    frame: InterruptStackFrame,
    error_code: u64,
) {
    report(
        &frame,
        format_args!(
            "general protection fault (error code {error_code:#x}) at RIP {:#x}{}.",
            frame.instruction_pointer.as_u64(),
            who_runs()
        ),
    )
}

extern "x86-interrupt" fn page_fault_handler(
    frame: InterruptStackFrame,
    error_code: PageFaultErrorCode,
) {
    let address = Cr2::read_raw();
    let rsp = frame.stack_pointer.as_u64();
    let rip = frame.instruction_pointer.as_u64();
    match roster::guard_hit(address) {
        Some(hit) if hit.owner_overflowed(rsp) => report(
            &frame,
            format_args!(
                "{} overflowed its {}-byte stack (fault address {address:#x}, RSP {rsp:#x}, RIP {rip:#x}){}.",
                hit.owner,
                hit.stack_size,
                who_runs()
            ),
        ),
        Some(hit) => report(
            &frame,
            format_args!(
                "access to the guard page below {}'s stack (fault address {address:#x}) from RSP {rsp:#x}, which is not on that stack (RIP {rip:#x}){}.",
                hit.owner,
                who_runs()
            ),
        ),
        None => report(
            &frame,
            format_args!(
                "page fault: {} {} at {address:#x}, outside every guard page (RIP {rip:#x}, RSP {rsp:#x}){}.",
                access(error_code),
                cause(error_code),
                who_runs()
            ),
        ),
    }
}

/// "write to", "read from" or "instruction fetch from", from the error code.
fn access(error_code: PageFaultErrorCode) -> &'static str {
    if error_code.contains(PageFaultErrorCode::INSTRUCTION_FETCH) {
        "instruction fetch from"
    } else if error_code.contains(PageFaultErrorCode::CAUSED_BY_WRITE) {
        "write to"
    } else {
        "read from"
    }
}

/// Why the access failed, from the error code.
fn cause(error_code: PageFaultErrorCode) -> &'static str {
    if error_code.contains(PageFaultErrorCode::PROTECTION_VIOLATION) {
        "a page that forbids it"
    } else {
        "a non-present page"
    }
}

extern "x86-interrupt" fn double_fault_handler(frame: InterruptStackFrame, error_code: u64) -> ! {
    report(
        &frame,
        format_args!(
            "double fault: a fault occurred while the CPU was delivering another one (RIP {:#x}, RSP {:#x}, error code {error_code:#x}){}.",
            frame.instruction_pointer.as_u64(),
            frame.stack_pointer.as_u64(),
            who_runs()
        ),
    )
}
