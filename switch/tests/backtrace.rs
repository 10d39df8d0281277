//! gdb's backtrace across the switch, checked at every instruction.
//!
//! `gdb_target` is the program: a coroutine whose body yields twice and
//! returns, resumed three times from `bt_resumer`. Run normally it does
//! nothing; `every_instruction_has_a_backtrace_through_the_switch` runs this
//! same test binary under `gdb -batch` with `GDB_TARGET` set, breaks in
//! `bt_resumer`, and single-steps every instruction until `bt_resumer`
//! returns — its own code, `Coroutine::resume`, the naked `switch_into`,
//! the trampoline, `coroutine_main`, the body, the `asm!` block of
//! `Yielder::suspend` and the naked `switch_back` — taking a `bt` after each
//! step. Every one must reach `gdb_target` and the thread's first frame
//! without `??`, without the stack paint (0xcd), and without "Backtrace
//! stopped"; wherever the coroutine's frames are listed, they must be
//! followed by the trampoline and then by the resumer's frames.
//!
//! Skipped, with a message, when gdb is not installed (`make setup`
//! installs it).

use coroutine_switch::{Context, Coroutine, Resumed, Stack, Yielder};
use std::hint::black_box;
use std::process::Command;

/// Set in the environment of the test binary that gdb runs.
const GDB_TARGET: &str = "COROUTINE_SWITCH_GDB_TARGET";

const STACK_BYTES: usize = 64 * 1024;

/// A frame of the coroutine's own, not inlined, so that it shows in `bt`.
#[inline(never)]
fn bt_in_body(value: u64) -> u64 {
    black_box(value) + 1
}

/// The coroutine: yields twice, then returns.
#[inline(never)]
fn bt_body(y: &Yielder, first: u64) -> u64 {
    let yielded = y.suspend(bt_in_body(first));
    let yielded = y.suspend(bt_in_body(yielded));
    bt_in_body(yielded)
}

/// The resumer: one frame of its own between the test and the switch.
#[inline(never)]
fn bt_resumer(co: &Coroutine<'_, STACK_BYTES>, value: u64) -> Resumed {
    co.resume(black_box(value))
}

/// A resumer that is itself a coroutine: `first` is the address of the
/// coroutine it resumes, three times.
fn bt_outer_body(_: &Yielder, first: u64) -> u64 {
    // SAFETY: `gdb_target` passes the address of a live coroutine that only
    // this body resumes.
    let inner = unsafe { &*(first as *const Coroutine<'_, STACK_BYTES>) };
    run_three_resumes(inner);
    0
}

/// Resumes `co` until its body returns, checking what it hands back.
fn run_three_resumes(co: &Coroutine<'_, STACK_BYTES>) {
    assert_eq!(bt_resumer(co, 1), Resumed::Yielded(2));
    assert_eq!(bt_resumer(co, 10), Resumed::Yielded(11));
    assert_eq!(bt_resumer(co, 20), Resumed::Returned(21));
}

/// The program gdb steps through (does nothing in a normal test run).
///
/// First the coroutine is resumed from the test's own thread stack. Then
/// again, from another coroutine whose stack lies *below* it: the kernel's
/// case (its coroutine stacks are above main's), where gdb needs the
/// trampoline to be a signal frame to accept a caller below its callee.
#[test]
fn gdb_target() {
    if std::env::var_os(GDB_TARGET).is_none() {
        return;
    }
    let (a, b) = (
        Box::new(Stack::<STACK_BYTES>::new()),
        Box::new(Stack::<STACK_BYTES>::new()),
    );
    let (low, high) = if a.bottom() < b.bottom() {
        (a, b)
    } else {
        (b, a)
    };
    let (own, main) = (Context::new(), Context::new());
    // SAFETY: the stack and slots are this test's alone; each coroutine
    // below is used by one resumer at a time.
    let co = unsafe { Coroutine::new(&high, &own, &main, bt_body) };
    run_three_resumes(&co);

    let (inner_own, inner_caller) = (Context::new(), Context::new());
    let (outer_own, outer_caller) = (Context::new(), Context::new());
    // SAFETY: as above; `high` is free again, the first coroutine finished.
    let inner = unsafe { Coroutine::new(&high, &inner_own, &inner_caller, bt_body) };
    // SAFETY: as above.
    let outer = unsafe { Coroutine::new(&low, &outer_own, &outer_caller, bt_outer_body) };
    assert_eq!(
        outer.resume(&inner as *const _ as u64),
        Resumed::Returned(0)
    );
}

/// The gdb side: for each of the three calls of `bt_resumer`, step until it
/// returns and print, per instruction, the instruction, the function names
/// of the backtrace (innermost first; the trampoline is a signal frame, which
/// gdb prints as `<signal handler called>`), the reason the backtrace ends,
/// and the text of `bt` itself.
const GDB_SCRIPT: &str = r#"
import gdb

gdb.execute("set pagination off")
gdb.execute("set confirm off")
gdb.execute("set disassembly-flavor intel")
gdb.execute("break backtrace::bt_resumer")
gdb.execute("run")


def names():
    out = []
    frame = gdb.newest_frame()
    last = frame
    while frame is not None:
        if frame.type() == gdb.SIGTRAMP_FRAME:
            out.append("<signal handler called>")
        else:
            out.append(frame.name() or "??")
        last = frame
        frame = frame.older()
    return out, gdb.frame_stop_reason_string(last.unwind_stop_reason())


for call in range(6):
    if call:
        gdb.execute("continue")
    # bt_resumer's own (non-inlined) frame and the address it returns to.
    frame = gdb.newest_frame()
    while frame.type() == gdb.INLINE_FRAME:
        frame = frame.older()
    back_at = frame.older().pc()
    for step in range(100000):
        pc = int(gdb.parse_and_eval("$pc")) & 0xFFFFFFFFFFFFFFFF
        if pc == back_at:
            break
        insn = gdb.selected_frame().architecture().disassemble(pc)[0]["asm"]
        frames, end = names()
        print("STEP %d %#x %s" % (call, pc, insn))
        print("FRAMES " + " | ".join(frames))
        print("END " + end)
        for line in gdb.execute("bt", to_string=True).splitlines():
            print("BT " + line)
        gdb.execute("stepi", to_string=True)
    print("RETURNED %d" % call)
gdb.execute("kill")
"#;

/// One `stepi` stop as gdb reported it.
struct Stop {
    heading: String,
    frames: Vec<String>,
    end: String,
    bt: String,
}

fn parse(output: &str) -> Vec<Stop> {
    let mut stops: Vec<Stop> = Vec::new();
    for line in output.lines() {
        if let Some(heading) = line.strip_prefix("STEP ") {
            stops.push(Stop {
                heading: heading.to_owned(),
                frames: Vec::new(),
                end: String::new(),
                bt: String::new(),
            });
        } else if let Some(stop) = stops.last_mut() {
            if let Some(frames) = line.strip_prefix("FRAMES ") {
                stop.frames = frames.split(" | ").map(str::to_owned).collect();
            } else if let Some(end) = line.strip_prefix("END ") {
                stop.end = end.to_owned();
            } else if let Some(bt) = line.strip_prefix("BT ") {
                stop.bt.push_str(bt);
                stop.bt.push('\n');
            }
        }
    }
    stops
}

/// Position of the first frame whose name ends with `suffix`.
fn find(frames: &[String], suffix: &str) -> Option<usize> {
    frames.iter().position(|name| name.ends_with(suffix))
}

#[test]
fn every_instruction_has_a_backtrace_through_the_switch() {
    let script =
        std::env::temp_dir().join(format!("coroutine-switch-bt-{}.py", std::process::id()));
    std::fs::write(&script, GDB_SCRIPT).expect("write the gdb script");
    let exe = std::env::current_exe().expect("path of this test binary");
    let result = Command::new("gdb")
        .args(["-batch", "-nx", "-x"])
        .arg(&script)
        .arg("--args")
        .arg(&exe)
        .args(["--exact", "gdb_target", "--test-threads=1"])
        .env(GDB_TARGET, "1")
        .output();
    let _ = std::fs::remove_file(&script);
    let output = match result {
        Ok(output) => output,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("SKIPPED: gdb is not installed (make setup installs it)");
            return;
        }
        Err(error) => panic!("could not run gdb: {error}"),
    };
    let text = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    for call in 0..6 {
        assert!(
            text.contains(&format!("RETURNED {call}\n")),
            "gdb did not step through call {call}:\n{text}\n{stderr}"
        );
    }
    let stops = parse(&text);
    let mut in_coroutine = 0;
    let mut nested = 0;
    let mut in_switch = [0, 0];
    for stop in &stops {
        let context = || format!("at {}:\n{}", stop.heading, stop.bt);
        for garbage in ["??", "0xcdcdcdcd", "Backtrace stopped", "corrupt stack"] {
            assert!(
                !stop.bt.contains(garbage),
                "`{garbage}` in the backtrace {}",
                context()
            );
        }
        // The backtrace ends where the thread starts, not in the middle.
        assert_eq!(
            stop.end,
            "outermost",
            "the backtrace ends early {}",
            context()
        );
        let frames = &stop.frames;
        let resumer =
            find(frames, "::bt_resumer").unwrap_or_else(|| panic!("no bt_resumer {}", context()));
        let test =
            find(frames, "::gdb_target").unwrap_or_else(|| panic!("no gdb_target {}", context()));
        assert!(resumer < test, "{}", context());
        // Every trampoline (`<signal handler called>`) is entered from the
        // coroutine's first frame (`coroutine_main`, or `switch_into` on the
        // way into a fresh coroutine, or none when stopped in the
        // trampoline itself), and links to the `call_into` of its resumer.
        let trampolines: Vec<usize> = (0..frames.len())
            .filter(|&i| frames[i] == "<signal handler called>")
            .collect();
        for &t in &trampolines {
            assert!(
                t == 0
                    || frames[t - 1].ends_with("::coroutine_main")
                    || frames[t - 1] == "switch_into",
                "trampoline entered from {} {}",
                frames[t - 1],
                context()
            );
            assert!(
                frames
                    .get(t + 1)
                    .is_some_and(|name| name.ends_with("::call_into")),
                "trampoline not linked to a resumer {}",
                context()
            );
        }
        // Inside the coroutine's body, the trampoline is listed.
        if find(frames, "::bt_body").is_some_and(|body| trampolines.iter().all(|&t| t < body)) {
            panic!(
                "the body's frames are not followed by a trampoline {}",
                context()
            );
        }
        if !trampolines.is_empty() {
            in_coroutine += 1;
        }
        if trampolines.len() == 2 {
            nested += 1;
        }
        if frames[0] == "switch_into" {
            in_switch[0] += 1;
        }
        if frames[0] == "switch_back" {
            in_switch[1] += 1;
        }
    }
    // Six resumes and six switches back, 9 and 8 instructions each.
    assert_eq!(
        in_switch,
        [6 * 9, 6 * 8],
        "instructions stepped inside switch_into, switch_back"
    );
    assert!(
        in_coroutine > 40,
        "only {in_coroutine} stops on the coroutine's side"
    );
    assert!(nested > 20, "only {nested} stops two coroutines deep");
    eprintln!(
        "{} instructions stepped: {in_coroutine} on a coroutine's side, {nested} of them two coroutines deep",
        stops.len()
    );
}
