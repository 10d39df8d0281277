//! Names for stack addresses: which stack an RSP lies in, and how far below
//! that stack's top. Every transcript line that shows an RSP or a context slot
//! goes through a [`Location`]; the roster finds it among the stacks it
//! knows (`roster::locate`), taking no lock.

use core::fmt;

/// The name the transcript and the events give main's stack (the bootloader
/// allocates it; it has no symbol).
pub const MAIN_STACK_NAME: &str = "main_stack";

/// A named stack: `[bottom, top)`, growing down from `top`.
#[derive(Debug, Clone, Copy)]
pub struct Region {
    /// The stack's name, e.g. `coroutine1_stack`.
    pub name: &'static str,
    /// Its lowest address.
    pub bottom: u64,
    /// One past its highest address: an empty stack's RSP.
    pub top: u64,
}

/// Where an address lies: in one of some named stacks, and how far below its
/// top. Displays as `coroutine1_stack top-0x58`, `main_stack top-0x1d8`, or
/// `empty` for 0 and `outside every stack` for anything else.
#[derive(Debug, Clone, Copy)]
pub struct Location {
    addr: u64,
    region: Option<Region>,
}

impl Location {
    /// Where `addr` lies among `regions`: the first that holds it.
    pub fn among(addr: u64, regions: impl IntoIterator<Item = Region>) -> Self {
        // RSP == top is an empty stack, still this stack's: hence `<=`.
        let region = regions
            .into_iter()
            .find(|r| r.bottom <= addr && addr <= r.top);
        Location { addr, region }
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
