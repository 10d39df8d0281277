//! The kernel's own GDT, with a TSS whose Interrupt Stack Table gives the
//! fault handlers stacks of their own.
//!
//! Why: a coroutine that overflows its 4096-byte stack faults *because* the
//! page below is unmapped. Without an IST the CPU would push the page fault's
//! exception frame onto that same unmapped page, fault again (a double
//! fault), then again (a triple fault: QEMU resets and the user sees
//! nothing). With an IST entry the CPU switches to a known-good stack before
//! pushing anything, so the handler can run and explain what happened.
//!
//! The bootloader's GDT has no TSS, so we load our own: a 64-bit kernel code
//! segment, a data segment and the TSS descriptor.

use core::cell::UnsafeCell;
use spin::Once;
use x86_64::VirtAddr;
use x86_64::instructions::segmentation::{CS, DS, ES, SS, Segment};
use x86_64::instructions::tables::load_tss;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable, SegmentSelector};
use x86_64::structures::tss::TaskStateSegment;

/// IST slot of the double-fault handler's stack.
pub const DOUBLE_FAULT_IST_INDEX: u16 = 0;
/// IST slot of the page-fault handler's stack (guard-page hits land here).
pub const PAGE_FAULT_IST_INDEX: u16 = 1;
/// IST slot shared by the other exception handlers. None of them returns, so
/// two of them never need the stack at the same time.
pub const OTHER_FAULTS_IST_INDEX: u16 = 2;

/// Size of each IST stack: the handlers format a line with `core::fmt`.
const IST_STACK_SIZE: usize = 16 * 1024;

/// One IST stack. `UnsafeCell` keeps it in writable `.bss`: the CPU writes
/// to it behind the compiler's back.
#[repr(C, align(16))]
struct IstStack(UnsafeCell<[u8; IST_STACK_SIZE]>);

// SAFETY: only the CPU writes to these bytes (when it delivers an exception);
// Rust code only takes their address.
unsafe impl Sync for IstStack {}

impl IstStack {
    const fn new() -> Self {
        Self(UnsafeCell::new([0; IST_STACK_SIZE]))
    }

    /// The top of the stack, where RSP starts (16-byte aligned).
    fn top(&self) -> VirtAddr {
        VirtAddr::from_ptr(self.0.get()) + IST_STACK_SIZE as u64
    }
}

static DOUBLE_FAULT_STACK: IstStack = IstStack::new();
static PAGE_FAULT_STACK: IstStack = IstStack::new();
static OTHER_FAULTS_STACK: IstStack = IstStack::new();

// Built once by `init`: the CPU keeps using them, so they must be 'static,
// and `Once` hands out exactly that.
static TSS: Once<TaskStateSegment> = Once::new();
static GDT: Once<(GlobalDescriptorTable, Selectors)> = Once::new();

/// The GDT's selectors, loaded into the segment registers and the task
/// register.
struct Selectors {
    code: SegmentSelector,
    data: SegmentSelector,
    tss: SegmentSelector,
}

/// Fills the TSS, builds and loads the GDT, reloads the segment registers
/// and loads the task register.
///
/// # Safety
///
/// Call once, from `kernel::init`, before anything else uses the GDT or TSS.
pub(crate) unsafe fn init() {
    let tss = TSS.call_once(|| {
        let mut tss = TaskStateSegment::new();
        tss.interrupt_stack_table[DOUBLE_FAULT_IST_INDEX as usize] = DOUBLE_FAULT_STACK.top();
        tss.interrupt_stack_table[PAGE_FAULT_IST_INDEX as usize] = PAGE_FAULT_STACK.top();
        tss.interrupt_stack_table[OTHER_FAULTS_IST_INDEX as usize] = OTHER_FAULTS_STACK.top();
        tss
    });
    let (gdt, selectors) = GDT.call_once(|| {
        let mut gdt = GlobalDescriptorTable::new();
        let selectors = Selectors {
            code: gdt.append(Descriptor::kernel_code_segment()),
            data: gdt.append(Descriptor::kernel_data_segment()),
            tss: gdt.append(Descriptor::tss_segment(tss)),
        };
        (gdt, selectors)
    });
    gdt.load();
    let Selectors {
        code,
        data,
        tss: tss_selector,
    } = *selectors;
    // SAFETY: the selectors index the GDT just loaded, whose code segment is
    // a 64-bit kernel segment like the bootloader's, so execution continues
    // unchanged; the TSS descriptor points at a 'static TSS whose IST
    // entries are the tops of 'static stacks.
    unsafe {
        CS::set_reg(code);
        SS::set_reg(data);
        DS::set_reg(data);
        ES::set_reg(data);
        load_tss(tss_selector);
    }
}
