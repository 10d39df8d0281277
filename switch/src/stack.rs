//! A coroutine's stack: `N` bytes you provide, painted when a coroutine is
//! set up on it (to measure how deep it got) and guarded by a canary word at
//! its lowest address (to catch an overflow that skipped the guard page).

use core::cell::UnsafeCell;

/// The size of each coroutine stack in the original program (`resb 4096`).
pub const STACK_SIZE: usize = 4096;

/// The byte pattern painted over a fresh stack; [`Stack::high_water_mark`]
/// counts how far from the top it was overwritten.
pub const PAINT: u8 = 0xCD;

/// The word written at the lowest address of a stack. If it changes, the
/// coroutine wrote below the end of its stack: an overflow.
///
/// `0xDEADC0DE` sign-extended to 64 bits: it fits the 32-bit immediate of
/// `cmp`, so [`Coroutine::resume`](crate::Coroutine::resume) compares the
/// canary with it directly instead of first loading it into a register with
/// a 10-byte `movabs` (docs/measuring.md).
pub const CANARY: u64 = 0xFFFF_FFFF_DEAD_C0DE;
const _: () = assert!(
    CANARY == CANARY as i32 as i64 as u64,
    "CANARY must fit a sign-extended imm32"
);

/// The word that replaces an intact [`CANARY`] when the coroutine's body
/// returns: the one compare [`Coroutine::resume`](crate::Coroutine::resume)
/// makes after a switch back then fails for a finished coroutine too, so it
/// need not also check whether the coroutine yielded. An overwritten canary
/// is left as it is.
pub const FINISHED: u64 = 0xFFFF_FFFF_F1E1_5EED;

/// A coroutine stack: `N` bytes, 16-byte aligned, zero-initialised so that a
/// `static` of this type lands in `.bss` like the original's `resb 4096`.
#[repr(C, align(16))]
pub struct Stack<const N: usize = STACK_SIZE> {
    bytes: UnsafeCell<[u8; N]>,
}

// SAFETY: the bytes are only written through raw pointers by
// `Coroutine::new` (whose contract gives it exclusive use of the stack) and by
// the coroutine running on it; `Stack`'s own methods only read. Sharing the
// address between threads is what a `static` stack needs.
unsafe impl<const N: usize> Sync for Stack<N> {}

impl<const N: usize> Stack<N> {
    // Checked at compile time for every N that is used; that a coroutine's
    // first frame fits is checked where one is set up (`Coroutine::new`).
    const VALID: () = assert!(N % 16 == 0, "a stack must be a multiple of 16 bytes");

    /// A zeroed stack (all of it in `.bss` when used as a `static`).
    pub const fn new() -> Self {
        let () = Self::VALID;
        Self {
            bytes: UnsafeCell::new([0; N]),
        }
    }

    /// The lowest address of the stack; the canary lives here.
    #[inline]
    pub fn bottom(&self) -> u64 {
        self.bytes.get() as u64
    }

    /// One past the highest address: where RSP starts, as in the original's
    /// `coroutine1_stack + 4096`.
    #[inline]
    pub fn top(&self) -> u64 {
        self.bottom() + N as u64
    }

    /// Whether `rsp` points into this stack. RSP equal to [`top`](Self::top)
    /// counts as inside: it is an empty stack, not a neighbouring one.
    #[inline]
    pub fn contains(&self, rsp: u64) -> bool {
        (self.bottom()..=self.top()).contains(&rsp)
    }

    /// Whether the canary at the bottom is intact ([`FINISHED`] counts: it
    /// replaced an intact canary when the body returned).
    #[inline]
    pub fn canary_intact(&self) -> bool {
        matches!(self.bottom_word(), CANARY | FINISHED)
    }

    /// The word at the bottom: [`CANARY`], [`FINISHED`] once the body has
    /// returned, or what an overflow wrote there.
    #[inline]
    pub(crate) fn bottom_word(&self) -> u64 {
        // SAFETY: the bottom is 16-byte aligned and inside the stack; a
        // volatile read because the coroutine wrote it behind the compiler's
        // back.
        unsafe { (self.bottom() as *const u64).read_volatile() }
    }

    /// How many bytes below the top were ever written since
    /// [`Coroutine::new`](crate::Coroutine::new) painted the stack: the
    /// deepest the coroutine got.
    ///
    /// A byte that happens to be written with [`PAINT`] is not seen; the
    /// figure can only be low by the length of such a run at the very edge.
    pub fn high_water_mark(&self) -> usize {
        let base = self.bottom() as *const u8;
        // The canary is not paint, so start just above it.
        let untouched = (8..N)
            // SAFETY: `i < N`, so every address read is inside the stack.
            .take_while(|&i| unsafe { base.add(i).read_volatile() } == PAINT)
            .count();
        N - 8 - untouched
    }
}

impl<const N: usize> Default for Stack<N> {
    fn default() -> Self {
        Self::new()
    }
}
