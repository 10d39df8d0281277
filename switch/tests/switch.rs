//! Host tests of the real switch: the same `switch`, trampoline and safe API
//! the kernel runs, on stacks allocated by the test.
//!
//! Every test owns its stacks and slots (cargo runs tests on parallel
//! threads); stacks are boxed because a test thread's own stack is small.

use core::arch::asm;
use coroutine_switch::{
    CANARY, Context, Coroutine, FINISHED, INITIAL_FRAME_SIZE, PAINT, Resumed, STACK_SIZE, Stack,
    Yielder, switch_back, switch_into,
};
use std::hint::black_box;

/// A stack roomy enough for test bodies that format or assert.
type BigStack = Stack<{ 64 * 1024 }>;

#[test]
fn values_travel_both_ways() {
    fn body(y: &Yielder, first: u64) -> u64 {
        assert_eq!(first, 10);
        let second = y.suspend(first + 1);
        let third = y.suspend(second * 2);
        third + 1000
    }
    let stack = Box::new(BigStack::new());
    let (own, main) = (Context::new(), Context::new());
    // SAFETY: the stack and slots are this test's alone.
    let co = unsafe { Coroutine::new(&stack, &own, &main, body) };
    assert_eq!(co.resume(10), Resumed::Yielded(11));
    assert_eq!(co.resume(21), Resumed::Yielded(42));
    assert_eq!(co.resume(5), Resumed::Returned(1005));
    assert!(co.is_finished());
}

#[test]
fn a_local_counter_survives_yields() {
    fn body(y: &Yielder, _: u64) -> u64 {
        let mut counter = 0;
        for _ in 0..5 {
            counter += 1;
            y.suspend(counter);
        }
        counter * 100
    }
    let stack = Box::new(Stack::<STACK_SIZE>::new());
    let (own, main) = (Context::new(), Context::new());
    // SAFETY: the stack and slots are this test's alone.
    let co = unsafe { Coroutine::new(&stack, &own, &main, body) };
    let seen: Vec<Resumed> = (0..6).map(|_| co.resume(0)).collect();
    let mut expected: Vec<Resumed> = (1..=5).map(Resumed::Yielded).collect();
    expected.push(Resumed::Returned(500));
    assert_eq!(seen, expected);
}

#[test]
fn two_coroutines_interleave_through_one_main_slot() {
    fn count_from(y: &Yielder, start: u64) -> u64 {
        let mut n = start;
        for _ in 0..3 {
            n += 1;
            y.suspend(n);
        }
        n
    }
    let (s1, s2) = (Box::new(BigStack::new()), Box::new(BigStack::new()));
    let (c1, c2, main) = (Context::new(), Context::new(), Context::new());
    // SAFETY: each coroutine has its own stack and slot; main resumes both
    // through `main`, but neither resumes the other.
    let (co1, co2) = unsafe {
        (
            Coroutine::new(&s1, &c1, &main, count_from),
            Coroutine::new(&s2, &c2, &main, count_from),
        )
    };
    let mut log = Vec::new();
    for _ in 0..4 {
        log.push((1, co1.resume(100)));
        log.push((2, co2.resume(200)));
    }
    use Resumed::{Returned, Yielded};
    assert_eq!(
        log,
        [
            (1, Yielded(101)),
            (2, Yielded(201)),
            (1, Yielded(102)),
            (2, Yielded(202)),
            (1, Yielded(103)),
            (2, Yielded(203)),
            (1, Returned(103)),
            (2, Returned(203)),
        ]
    );
}

#[test]
fn a_million_round_trips() {
    fn echo_plus_one(y: &Yielder, first: u64) -> u64 {
        let mut v = first;
        loop {
            v = y.suspend(v + 1);
            if v == u64::MAX {
                return 7;
            }
        }
    }
    let stack = Box::new(Stack::<STACK_SIZE>::new());
    let (own, main) = (Context::new(), Context::new());
    // SAFETY: the stack and slots are this test's alone.
    let co = unsafe { Coroutine::new(&stack, &own, &main, echo_plus_one) };
    for i in 0..1_000_000u64 {
        assert_eq!(co.resume(i), Resumed::Yielded(i + 1));
    }
    assert_eq!(co.resume(u64::MAX), Resumed::Returned(7));
}

#[test]
#[should_panic(expected = "resumed a finished coroutine")]
fn resuming_a_finished_coroutine_panics() {
    fn done(_: &Yielder, v: u64) -> u64 {
        v
    }
    let stack = Box::new(BigStack::new());
    let (own, main) = (Context::new(), Context::new());
    // SAFETY: the stack and slots are this test's alone.
    let co = unsafe { Coroutine::new(&stack, &own, &main, done) };
    assert_eq!(co.resume(3), Resumed::Returned(3));
    co.resume(4);
}

#[test]
fn a_finished_coroutine_sends_every_resume_back_through_the_switch_to_panic() {
    fn done(_: &Yielder, v: u64) -> u64 {
        v
    }
    let stack = Box::new(BigStack::new());
    let (own, main) = (Context::new(), Context::new());
    // SAFETY: the stack and slots are this test's alone.
    let co = unsafe { Coroutine::new(&stack, &own, &main, done) };
    assert_eq!(co.resume(3), Resumed::Returned(3));
    assert!(co.is_finished());
    // Nothing to resume, as `saved_rsp` reports it; the slot itself holds
    // the tombstone's address.
    assert_eq!(own.saved_rsp(), 0);
    // SAFETY: reading the slot's word; nothing runs on this coroutine.
    assert_ne!(unsafe { *own.as_ptr() }, 0);
    let expected = format!(
        "resumed a finished coroutine (stack at {:#x})",
        stack.bottom()
    );
    // Twice: the tombstone stays where it is.
    for _ in 0..2 {
        // SAFETY: main's slot is this test's; emptied to see the switch
        // write it.
        unsafe { main.set_saved_rsp(0) };
        let here = black_box(0u64);
        let resume = std::panic::AssertUnwindSafe(|| co.resume(4));
        let panic = std::panic::catch_unwind(resume).expect_err("resume must panic");
        let message = panic.downcast_ref::<String>().expect("a formatted message");
        assert_eq!(*message, expected);
        // The panic came after a real switch (no check before it):
        // `switch_into` saved main's RSP in the emptied slot, an address on
        // this thread's stack (2 MiB for a test thread) below this frame.
        let saved = main.saved_rsp();
        let distance = (&raw const here as u64).wrapping_sub(saved);
        assert!(
            saved != 0 && distance < 2 << 20,
            "main's slot {saved:#x}, a local at {:p}",
            &raw const here
        );
        assert!(co.is_finished());
    }
}

#[test]
fn a_switch_reads_the_other_sides_slot_before_it_writes_its_own() {
    // The order that keeps slots 4 KiB apart from stalling every switch
    // (switch.rs, "Why the other side's slot is read before this side's is
    // written"), seen from outside: one slot can then serve both sides. A
    // switch that wrote first would read back its own RSP and return to
    // its caller at once, the value unchanged.
    fn add_one_forever(y: &Yielder, mut v: u64) -> u64 {
        loop {
            v = y.suspend(v + 1);
        }
    }
    let stack = Box::new(BigStack::new());
    let one = Context::new();
    // SAFETY: the stack and the slot are this test's alone. The slot is
    // both sides': each switch reads it (the other side's RSP) before it
    // writes it (its own). The body never returns, which would leave the
    // tombstone in the slot before the switch back reads it.
    let co = unsafe { Coroutine::new(&stack, &one, &one, add_one_forever) };
    assert_eq!(co.resume(1), Resumed::Yielded(2));
    // Between resumes the slot holds the coroutine's RSP, in its stack.
    assert!(stack.contains(one.saved_rsp()), "{:#x}", one.saved_rsp());
    assert_eq!(co.resume(5), Resumed::Yielded(6));
}

#[test]
fn the_tombstone_restores_rbx_rbp_and_rsp_and_says_it_saved_nothing() {
    fn done(_: &Yielder, v: u64) -> u64 {
        v
    }
    let stack = Box::new(BigStack::new());
    let (own, main) = (Context::new(), Context::new());
    // SAFETY: the stack and slots are this test's alone.
    let co = unsafe { Coroutine::new(&stack, &own, &main, done) };
    assert_eq!(co.resume(0), Resumed::Returned(0));
    // SAFETY: `own` holds the tombstone, which returns straight to `main`'s
    // frame.
    let out = unsafe { switch_into_with_sentinels(&main, &own) };
    assert_eq!(out[0], SENTINEL, "rbx was not restored");
    assert_eq!(out[1], SENTINEL + 1, "rbp was not restored");
    assert_eq!(out[2], out[3], "RSP differs after the round trip");
    // A yield leaves the coroutine's own slot there; the tombstone, 0.
    assert_eq!(out[5], 0, "rdi: the slot the other side saved itself in");
}

#[test]
fn body_starts_with_the_system_v_stack_alignment() {
    #[repr(align(16))]
    struct Aligned(#[allow(dead_code)] [u8; 16]);
    fn body(y: &Yielder, _: u64) -> u64 {
        // The compiler places this local assuming the ABI alignment at entry;
        // had the trampoline misaligned RSP by 8, so would the local be.
        let local = Aligned([0; 16]);
        let address = black_box(&local) as *const Aligned as u64;
        y.suspend(address % 16);
        0
    }
    let stack = Box::new(BigStack::new());
    let (own, main) = (Context::new(), Context::new());
    // SAFETY: the stack and slots are this test's alone.
    let co = unsafe { Coroutine::new(&stack, &own, &main, body) };
    assert_eq!(co.resume(0), Resumed::Yielded(0));
}

#[test]
fn a_fresh_stack_is_painted_with_a_canary_and_the_initial_frame_on_top() {
    fn body(_: &Yielder, _: u64) -> u64 {
        0
    }
    let stack = Box::new(Stack::<STACK_SIZE>::new());
    let (own, main) = (Context::new(), Context::new());
    // SAFETY: the stack and slots are this test's alone.
    let co = unsafe { Coroutine::new(&stack, &own, &main, body) };
    assert_eq!(stack.top() % 16, 0);
    assert_eq!(own.saved_rsp(), stack.top() - INITIAL_FRAME_SIZE as u64);
    assert!(stack.canary_intact());
    // SAFETY: reading the test's own stack memory while nothing runs on it.
    let bottom_word = unsafe { *(stack.bottom() as *const u64) };
    assert_eq!(bottom_word, CANARY);
    assert_eq!(stack.high_water_mark(), INITIAL_FRAME_SIZE);
    assert_eq!(co.resume(0), Resumed::Returned(0));
    // The trampoline and the body ran: deeper than the initial frame, not
    // all the way down.
    let used = stack.high_water_mark();
    assert!(used > INITIAL_FRAME_SIZE && used < STACK_SIZE - 8, "{used}");
}

#[test]
fn high_water_mark_sees_a_deep_frame() {
    fn deep(y: &Yielder, _: u64) -> u64 {
        let buffer = [1u8; 2048];
        black_box(&buffer);
        y.suspend(0);
        0
    }
    let stack = Box::new(Stack::<STACK_SIZE>::new());
    let (own, main) = (Context::new(), Context::new());
    // SAFETY: the stack and slots are this test's alone.
    let co = unsafe { Coroutine::new(&stack, &own, &main, deep) };
    co.resume(0);
    assert!(stack.high_water_mark() >= 2048 + INITIAL_FRAME_SIZE);
}

#[test]
#[should_panic(expected = "overflowed it: its canary was overwritten")]
fn an_overwritten_canary_is_caught_at_the_next_switch_back() {
    fn scribble(y: &Yielder, bottom: u64) -> u64 {
        // Stands in for a frame that ran past the bottom of the stack.
        // SAFETY: `bottom` is the bottom word of this coroutine's own stack.
        unsafe { (bottom as *mut u64).write_volatile(0) };
        y.suspend(0);
        0
    }
    let stack = Box::new(BigStack::new());
    let (own, main) = (Context::new(), Context::new());
    // SAFETY: the stack and slots are this test's alone.
    let co = unsafe { Coroutine::new(&stack, &own, &main, scribble) };
    co.resume(stack.bottom());
}

#[test]
#[should_panic(expected = "overflowed it: its canary was overwritten")]
fn an_overwritten_canary_is_caught_when_the_body_returns() {
    fn scribble_and_return(_: &Yielder, bottom: u64) -> u64 {
        // SAFETY: `bottom` is the bottom word of this coroutine's own stack.
        unsafe { (bottom as *mut u64).write_volatile(0) };
        5
    }
    let stack = Box::new(BigStack::new());
    let (own, main) = (Context::new(), Context::new());
    // SAFETY: the stack and slots are this test's alone.
    let co = unsafe { Coroutine::new(&stack, &own, &main, scribble_and_return) };
    // Not `Returned(5)`: the overflow is what is reported.
    co.resume(stack.bottom());
}

#[test]
fn a_return_replaces_the_canary_with_finished() {
    fn done(_: &Yielder, v: u64) -> u64 {
        v + 1
    }
    let stack = Box::new(BigStack::new());
    let (own, main) = (Context::new(), Context::new());
    // SAFETY: the stack and slots are this test's alone.
    let co = unsafe { Coroutine::new(&stack, &own, &main, done) };
    assert_eq!(co.resume(6), Resumed::Returned(7));
    // SAFETY: reading the test's own stack memory while nothing runs on it.
    let bottom_word = unsafe { *(stack.bottom() as *const u64) };
    assert_eq!(bottom_word, FINISHED);
    assert!(stack.canary_intact(), "a finished stack did not overflow");
    assert!(co.is_finished());
}

#[test]
fn paint_is_the_documented_byte() {
    let stack = Box::new(Stack::<128>::new());
    let (own, main) = (Context::new(), Context::new());
    fn body(_: &Yielder, _: u64) -> u64 {
        0
    }
    // SAFETY: the stack and slots are this test's alone; never resumed.
    let _co = unsafe { Coroutine::new(&stack, &own, &main, body) };
    // SAFETY: reading the test's own stack memory while nothing runs on it.
    let byte = unsafe { *((stack.bottom() + 8) as *const u8) };
    assert_eq!(byte, PAINT);
}

/// Register values set by the main side before the switch, and the garbage
/// the coroutine side leaves in the same registers when it switches back.
const SENTINEL: u64 = 0x5E57_1E10_0000_0000;
const GARBAGE: u64 = 0x6A5B_A6E0_0000_0000;

/// Runs on the coroutine: fills rbx, rbp and r12–r15 with garbage and enters
/// `switch_back` directly, the way `Context::return_to` does, so that the
/// resumer gets control back with garbage in every register the switch does
/// not restore.
fn garbage_everywhere_then_switch_back(y: &Yielder, main_slot: u64) -> u64 {
    let own = y.context().as_ptr();
    // SAFETY: `main_slot` is the slot main saved its RSP in when it resumed
    // us. rbx and rbp are saved around the garbage because the compiler
    // relies on them; r12–r15 are declared clobbered, as the switch requires.
    // The resume that comes back pops the pushed continue address.
    unsafe {
        asm!(
            "push rbx",
            "push rbp",
            "mov rbx, {g}",
            "lea rbp, [rbx + 1]",
            "lea r12, [rbx + 2]",
            "lea r13, [rbx + 3]",
            "lea r14, [rbx + 4]",
            "lea r15, [rbx + 5]",
            "mov eax, 99",
            "lea rcx, [rip + 2f]",
            "push rcx",
            "jmp {switch_back}",
            "2:",
            "pop rbp",
            "pop rbx",
            g = in(reg) GARBAGE,
            switch_back = sym switch_back,
            in("rdi") own,
            in("rsi") main_slot,
            out("rax") _,
            out("r12") _, out("r13") _, out("r14") _, out("r15") _,
            clobber_abi("sysv64"),
        );
    }
    1
}

/// Enters `switch_into` from `main` into `own` directly, with sentinels in
/// rbx (`SENTINEL`) and rbp (`SENTINEL + 1`) and main's slot in rax (the
/// value handed in, so that a body can switch back to it), and returns what
/// came back: rbx, rbp, RSP at the call, RSP after, rax, rdi.
///
/// # Safety
///
/// `own` must hold a frame that switches back to `main` (through
/// `switch_back` or the tombstone); rbx and rbp are pushed and popped around
/// the sentinels because the compiler relies on them, and the switch's
/// contract makes every other register clobbered.
unsafe fn switch_into_with_sentinels(main: &Context, own: &Context) -> [u64; 6] {
    let mut out = [0u64; 6];
    // SAFETY: the caller's contract; the block pushes three words and pops
    // them, and the switch back pops the address its `call` pushed.
    unsafe {
        asm!(
            "push rbx",
            "push rbp",
            // Keep the output pointer across the switch, on our stack.
            "push {out}",
            // RSP at the call.
            "mov [{out} + 16], rsp",
            "mov rbx, {s}",
            "lea rbp, [rbx + 1]",
            // rdi = main's slot, rsi = the coroutine's, rax = the value
            // handed in: main's slot, so the body can switch back to it.
            "mov rax, rdi",
            "call {switch_into}",
            // RSP after the round trip, before undoing our pushes.
            "mov rcx, rsp",
            "pop rdx",
            "mov [rdx], rbx",
            "mov [rdx + 8], rbp",
            "mov [rdx + 24], rcx",
            "mov [rdx + 32], rax",
            "mov [rdx + 40], rdi",
            "pop rbp",
            "pop rbx",
            out = in(reg) out.as_mut_ptr(),
            s = in(reg) SENTINEL,
            switch_into = sym switch_into,
            in("rdi") main.as_ptr(),
            in("rsi") own.as_ptr(),
            out("rax") _,
            out("r12") _, out("r13") _, out("r14") _, out("r15") _,
            clobber_abi("sysv64"),
        );
    }
    out
}

#[test]
fn the_switch_restores_rbx_rbp_and_rsp_and_saves_rsp_below_its_frame() {
    let stack = Box::new(BigStack::new());
    let (own, main) = (Context::new(), Context::new());
    // SAFETY: the stack and slots are this test's alone.
    let co = unsafe { Coroutine::new(&stack, &own, &main, garbage_everywhere_then_switch_back) };
    // SAFETY: `own` holds the fresh frame `Coroutine::new` prepared; the
    // coroutine switches straight back to `main`.
    let out = unsafe { switch_into_with_sentinels(&main, &own) };
    assert_eq!(out[0], SENTINEL, "rbx was not restored");
    assert_eq!(out[1], SENTINEL + 1, "rbp was not restored");
    assert_eq!(out[2], out[3], "RSP differs after the round trip");
    assert_eq!(out[4], 99, "the value handed back in rax");
    // The slot main saved: its RSP at the call, minus the return address
    // and the two registers `switch_into` pushed.
    assert_eq!(main.saved_rsp(), out[2] - 8 - 2 * 8);
    // Let the coroutine finish through the safe API.
    assert_eq!(co.resume(0), Resumed::Returned(1));
}

#[test]
fn values_live_across_resume_survive_a_coroutine_that_trashes_every_register() {
    // r12–r15 are the compiler's to keep safe (the switch declares them
    // clobbered): this checks it does, with more values live across the
    // resume than the caller-saved registers could hold.
    let stack = Box::new(BigStack::new());
    let (own, main) = (Context::new(), Context::new());
    // SAFETY: the stack and slots are this test's alone.
    let co = unsafe { Coroutine::new(&stack, &own, &main, garbage_everywhere_then_switch_back) };
    let live: [u64; 8] = core::array::from_fn(|i| black_box(SENTINEL + 10 * i as u64));
    let (a, b, c, d, e, f, g, h) = (
        live[0], live[1], live[2], live[3], live[4], live[5], live[6], live[7],
    );
    assert_eq!(co.resume(main.as_ptr() as u64), Resumed::Yielded(99));
    assert_eq!(
        black_box([a, b, c, d, e, f, g, h]),
        core::array::from_fn(|i| SENTINEL + 10 * i as u64)
    );
    assert_eq!(co.resume(0), Resumed::Returned(1));
}

#[test]
fn each_switch_starts_a_cache_line_with_its_first_push() {
    for (name, switch) in [
        ("switch_into", switch_into as *const u8),
        ("switch_back", switch_back as *const u8),
    ] {
        assert_eq!(switch as usize % 64, 0, "{name} at {switch:p}");
        // SAFETY: the first byte of a function's code, mapped readable.
        let first = unsafe { switch.read() };
        // The `.p2align` that aligns it inserted no padding before the
        // code: the first byte is `push rbp` (0x55).
        assert_eq!(first, 0x55, "{name} does not start with push rbp");
    }
}

#[test]
fn the_two_switches_share_one_128_byte_block() {
    let back = switch_back as *const u8 as usize;
    let into = switch_into as *const u8 as usize;
    // So both are on one page, in two adjacent lines, wherever the loader
    // puts the code (switch.rs, "Where the two switches lie").
    assert_eq!(back % 128, 0, "switch_back at {back:#x}");
    assert_eq!(
        into,
        back + 64,
        "switch_into at {into:#x}, switch_back at {back:#x}"
    );
}
