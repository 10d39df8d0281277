//! Names for stack addresses: which stack an RSP lies in, and how far below
//! that stack's top. Every transcript line that shows an RSP or a context slot
//! goes through [`locate`], and so do the fault handlers.

use core::fmt;
use spin::Mutex;

/// A named stack: `[bottom, top)`, growing down from `top`. A plain struct
/// (no `Option`) so that gdb/kernel.gdb can read the table easily.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
struct Region {
    name: &'static str,
    bottom: u64,
    top: u64,
}

impl Region {
    /// An unused entry.
    const FREE: Region = Region {
        name: "",
        bottom: 0,
        top: 0,
    };
}

/// main's stack and the two coroutine stacks, with room to spare; read by
/// gdb/kernel.gdb too.
static REGIONS: Mutex<[Region; 4]> = Mutex::new([Region::FREE; 4]);

/// Gives the stack `[bottom, top)` a name for [`locate`].
///
/// # Panics
///
/// If four stacks are already registered.
pub fn register(name: &'static str, bottom: u64, top: u64) {
    let mut regions = REGIONS.lock();
    let free = regions
        .iter_mut()
        .find(|r| r.top == 0)
        .expect("more than four named stacks");
    *free = Region { name, bottom, top };
}

/// Where `addr` lies: a registered stack and the offset below its top.
/// Displays as `COROUTINE1_STACK top-0x58`, `main stack top-0x1d8`, or
/// `empty` for 0 and `outside every stack` for anything else.
pub fn locate(addr: u64) -> Location {
    let regions = REGIONS.lock();
    // RSP == top is an empty stack, still this stack's: hence `<=`.
    let region = regions
        .iter()
        .find(|r| r.top != 0 && r.bottom <= addr && addr <= r.top)
        .copied();
    Location { addr, region }
}

/// The result of [`locate`].
#[derive(Debug, Clone, Copy)]
pub struct Location {
    addr: u64,
    region: Option<Region>,
}

impl Location {
    /// The name of the stack `addr` lies in, if any.
    pub fn stack_name(&self) -> Option<&'static str> {
        self.region.map(|r| r.name)
    }

    /// How many bytes below the top of its stack `addr` lies.
    pub fn depth(&self) -> Option<u64> {
        self.region.map(|r| r.top - self.addr)
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match (self.region, self.addr) {
            (Some(r), addr) => write!(f, "{} top-{:#x}", r.name, r.top - addr),
            (None, 0) => f.write_str("empty"),
            (None, _) => f.write_str("outside every stack"),
        }
    }
}

/// The current stack pointer of the calling function.
#[inline(always)]
pub fn rsp() -> u64 {
    let rsp: u64;
    // SAFETY: reads a register into another; no memory, stack or flags
    // are touched.
    unsafe {
        core::arch::asm!("mov {}, rsp", out(reg) rsp, options(nomem, nostack, preserves_flags));
    }
    rsp
}
