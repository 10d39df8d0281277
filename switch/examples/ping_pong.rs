// A coroutine on a stack of our own: main resumes it, it yields values
// back, main hands values in, and the body returns. Run it with
// `cargo run -p coroutine-switch --example ping_pong`; the crate docs run
// the same file as their doc test.
use coroutine_switch::{Context, Coroutine, Resumed, Stack, Yielder};

/// The coroutine's body: `first` is the value of the first resume; every
/// `suspend` hands a value to main and returns the value of the next resume.
fn doubler(y: &Yielder, first: u64) -> u64 {
    println!("  coroutine: started with {first}");
    let mut received = first;
    for _ in 0..2 {
        println!("  coroutine: yield {}", received * 2);
        received = y.suspend(received * 2);
        println!("  coroutine: resumed with {received}");
    }
    println!("  coroutine: return {}", received + 100);
    received + 100
}

fn main() {
    // The stack the coroutine runs on (16-byte aligned; boxed because 64 KiB
    // is a lot for main's own stack), its context slot, and the slot main is
    // saved in while the coroutine runs.
    let stack = Box::new(Stack::<{ 64 * 1024 }>::new());
    let (own, main_slot) = (Context::new(), Context::new());
    // SAFETY: the stack and both slots are this coroutine's alone, and it
    // resumes nothing itself.
    let co = unsafe { Coroutine::new(&stack, &own, &main_slot, doubler) };

    let mut value = 1;
    loop {
        println!("main: resume with {value}");
        match co.resume(value) {
            Resumed::Yielded(v) => {
                println!("main: it yielded {v}");
                value = v + 1;
            }
            Resumed::Returned(v) => {
                println!("main: it returned {v}, finished");
                assert_eq!(v, 107);
                break;
            }
        }
    }
    assert!(co.is_finished());
    println!(
        "main: the body used {} of the stack's {} bytes",
        stack.high_water_mark(),
        64 * 1024
    );
}
