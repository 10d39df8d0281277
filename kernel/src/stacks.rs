//! Names for stack addresses: which stack an RSP lies in, and how far below
//! that stack's top. Every transcript line that shows an RSP or a context slot
//! goes through [`locate`]: it reads the
//! installed roster and takes no lock.

use crate::roster;
use core::fmt;

/// The name the transcript and the events give main's stack (the bootloader
/// allocates it; it has no symbol).
pub const MAIN_STACK_NAME: &str = "main_stack";

/// A named stack: `[bottom, top)`, growing down from `top`.
#[derive(Debug, Clone, Copy)]
struct Region {
    name: &'static str,
    bottom: u64,
    top: u64,
}

/// Where `addr` lies: main's stack or a coroutine stack of the installed
/// roster, and the offset below its top. Displays as
/// `coroutine1_stack top-0x58`, `main_stack top-0x1d8`, or `empty` for 0 and
/// `outside every stack` for anything else.
pub fn locate(addr: u64) -> Location {
    let main = roster::main_stack().map(|(bottom, top)| Region {
        name: MAIN_STACK_NAME,
        bottom,
        top,
    });
    let coroutines = roster::coroutines().iter().map(|m| Region {
        name: m.stack.name(),
        bottom: m.stack.bottom(),
        top: m.stack.top(),
    });
    // RSP == top is an empty stack, still this stack's: hence `<=`.
    let region = main
        .into_iter()
        .chain(coroutines)
        .find(|r| r.bottom <= addr && addr <= r.top);
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
