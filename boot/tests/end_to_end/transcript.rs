//! Boots the real coroutine kernel under QEMU and checks what it did, read
//! from its event lines (`protocol::event`), not from the prose of its
//! transcript: the switches of both phases in order with the values handed
//! across, each joined with its leaving side's `leave` line, every RSP inside
//! the stack it should be in, main's RSP restored,
//! each context slot exactly where the switch must have left it, and the
//! summary (switch count, high-water marks, exit). One line of the
//! transcript is read too: the cycles figure, which under QEMU's TCG the
//! kernel (asking CPUID) must call emulated.

use crate::common;

use common::KernelCopy;
use common::events::{Run, boot_with_events};
use protocol::ExitCode;
use protocol::event::{Event, Id, Kind, Leave, Leaving, Routine, Switch};

/// The words the switch crate puts on a fresh stack below its top: the
/// 32-byte Yielder and the three-word frame (switch/src/trampoline.rs, "A
/// fresh stack").
const FRESH_FRAME: u64 = 32 + 3 * 8;
/// What a phase 2 switch pushes before it stores RSP: the continue address
/// (`call` or `push`), rbp and rbx.
const FRAME: u64 = 3 * 8;

/// The switches the program must make, as (kind, from, to, value), computed
/// from what `kernel/src/main.rs` is specified to do: phase 1 calls each
/// coroutine function once (they return 1 and 2); phase 2 resumes the two
/// coroutines alternately with 1, 2, 3, ...; each yields its counter
/// (coroutine2: its square) for 3 rounds and returns the sum of the values
/// it received.
fn expected_switches() -> Vec<(Kind, Id, Id, Option<u64>)> {
    let mut steps = Vec::new();
    for k in 1..=2 {
        steps.push((Kind::Call, 0, k, None));
        steps.push((Kind::Return, k, 0, Some(u64::from(k))));
    }
    let (mut counters, mut sums, mut done) = ([0u64; 2], [0u64; 2], [false; 2]);
    let mut value = 0;
    while done.contains(&false) {
        for i in 0..2 {
            if done[i] {
                continue;
            }
            let id = i as Id + 1;
            value += 1;
            steps.push((Kind::Resume, 0, id, Some(value)));
            sums[i] += value;
            if counters[i] < 3 {
                counters[i] += 1;
                let c = counters[i];
                steps.push((Kind::Yield, id, 0, Some(if i == 0 { c } else { c * c })));
            } else {
                steps.push((Kind::Finish, id, 0, Some(sums[i])));
                done[i] = true;
            }
        }
    }
    steps
}

fn boot() -> Run {
    let kernel = KernelCopy::new("kernel");
    let _sharing = common::sharing_the_machine();
    let run = boot_with_events(kernel.elf(), &[]);
    assert!(run.output.status.success(), "{}", run.dump());
    run
}

#[test]
fn both_phases_switch_in_order_and_the_numbers_hold() {
    let run = boot();
    let routines = run.routines();
    let switches = run.switches();
    // Each switch with its `leave` line: every switch has one, naming the
    // routine that left.
    let handovers = run.handovers();
    let dump = run.dump();

    // The routines: main and two 4096-byte coroutine stacks with the
    // listing's names.
    let names: Vec<(&str, &str, &str)> =
        routines.iter().map(|r| (r.name, r.stack, r.slot)).collect();
    assert_eq!(
        names,
        [
            ("main", "main_stack", "main_context"),
            ("coroutine1", "coroutine1_stack", "coro1_context"),
            ("coroutine2", "coroutine2_stack", "coro2_context"),
        ],
        "{dump}"
    );
    for r in &routines[1..] {
        assert_eq!(r.top - r.bottom, 4096, "{r:?}");
        assert_eq!(r.top % 16, 0, "stack tops are 16-byte aligned: {r:?}");
    }

    // The switches, in order, numbered from 1, with the values handed across.
    let seen: Vec<(Kind, Id, Id, Option<u64>)> = switches
        .iter()
        .map(|s| (s.kind, s.from, s.to, s.value))
        .collect();
    assert_eq!(seen, expected_switches(), "{dump}");
    for (i, s) in switches.iter().enumerate() {
        assert_eq!(s.n, i as u64 + 1, "switch numbers: {dump}");
    }

    check_stacks_and_slots(&routines, &handovers, &dump);
    check_summary(&run, &routines, &handovers, &dump);
}

/// Every RSP in its own stack, main's RSP restored, every slot written and
/// read where the switch must have put it. `handovers` are the switches with
/// their `leave` lines.
fn check_stacks_and_slots(routines: &[Routine<'_>], handovers: &[(Leave, Switch)], dump: &str) {
    let main = &routines[0];
    let switches: Vec<Switch> = handovers.iter().map(|&(_, s)| s).collect();
    // 1. Each side's RSP lies in its own stack: the leaving side's before the
    //    switch (its `leave` line), the arriving side's after it, and every
    //    RSP a slot receives.
    for (left, s) in handovers {
        let (from, to) = (&routines[s.from as usize], &routines[s.to as usize]);
        assert!(from.holds(left.rsp), "#{} leave rsp: {dump}", s.n);
        assert!(to.holds(s.rsp), "#{} rsp: {dump}", s.n);
        assert!(to.holds(s.loaded), "#{} loaded: {dump}", s.n);
        // The slots written and read are the protocol's rule for the kind
        // (its unit tests); what the leaver's slot got must be the
        // leaver's RSP, where the rule says it was saved.
        if s.kind.leaving() == Leaving::Saved {
            let stored = s
                .stored
                .unwrap_or_else(|| panic!("#{} stored: {dump}", s.n));
            assert!(from.holds(stored), "#{} stored: {dump}", s.n);
        }
    }

    // 2. What the switch writes: main_context gets main's RSP below the
    //    return address of `call switch_to_coroN` in phase 1, below the
    //    three-word frame in phase 2 (a coroutine's slot too, on a yield);
    //    the phase 1 return writes no slot, and the final switch of a
    //    finished coroutine leaves its slot empty (0). The leaving RSP is
    //    the one its `leave` line says.
    for (left, s) in handovers {
        let expected = match s.kind {
            Kind::Call => Some(left.rsp - 8),
            Kind::Resume | Kind::Yield => Some(left.rsp - FRAME),
            Kind::Return => None,
            Kind::Finish => Some(0),
        };
        assert_eq!(s.stored, expected, "#{} {:?} stored: {dump}", s.n, s.kind);
    }

    // 3. What the switch reads is what was written there last: main gets
    //    back exactly the RSP it saved; a coroutine resumes at the RSP of its
    //    last yield, or, the first time, on the fresh frame below its top
    //    (phase 1: at the very top, as `init_coroutines` set it).
    let mut last_stored: Vec<Option<u64>> = vec![None; routines.len()];
    for s in &switches {
        let to = &routines[s.to as usize];
        let expected = match (s.kind, last_stored[s.to as usize]) {
            (Kind::Call, _) => to.top,
            (Kind::Resume, None) => to.top - FRESH_FRAME,
            (_, Some(stored)) => stored,
            (kind, None) => panic!("#{} {kind:?} reads a slot never written: {dump}", s.n),
        };
        assert_eq!(s.loaded, expected, "#{} {:?} loaded: {dump}", s.n, s.kind);
        if s.kind.leaving() == Leaving::Saved {
            last_stored[s.from as usize] = s.stored;
        }
        // A phase 1 coroutine function returns: nothing of it is kept, and
        // phase 2 starts it afresh.
        if matches!(s.kind, Kind::Return | Kind::Finish) {
            last_stored[s.from as usize] = None;
        }
    }

    // 4. main's RSP is restored: every switch back into main lands it at the
    //    same RSP, in each phase, and main leaves from the same RSP each time.
    for (back, away) in [
        ([Kind::Return, Kind::Return], Kind::Call),
        ([Kind::Yield, Kind::Finish], Kind::Resume),
    ] {
        let arrivals: Vec<u64> = switches
            .iter()
            .filter(|s| s.to == 0 && back.contains(&s.kind))
            .map(|s| s.rsp)
            .collect();
        assert!(arrivals.len() >= 2, "{dump}");
        assert!(
            arrivals.iter().all(|&r| r == arrivals[0]),
            "main's RSP: {arrivals:x?}"
        );
        assert!(main.holds(arrivals[0]), "{dump}");
        let departures: Vec<u64> = handovers
            .iter()
            .filter(|(_, s)| s.from == 0 && s.kind == away)
            .map(|(left, _)| left.rsp)
            .collect();
        assert!(departures.len() >= 2, "{dump}");
        assert!(
            departures.iter().all(|&r| r == departures[0]),
            "main's RSP when it leaves: {departures:x?}"
        );
    }

    // 5. A finished coroutine is never switched to again.
    for s in switches.iter().filter(|s| s.kind == Kind::Finish) {
        assert!(
            !switches
                .iter()
                .any(|later| later.n > s.n && later.to == s.from),
            "{} resumed after it finished: {dump}",
            routines[s.from as usize].name
        );
    }
}

/// The summary: switch count, high-water marks, exit.
fn check_summary(run: &Run, routines: &[Routine<'_>], handovers: &[(Leave, Switch)], dump: &str) {
    let events = run.events();
    let Some(Event::Exit {
        code, switches: n, ..
    }) = events.last().copied()
    else {
        panic!("the last event is not the exit: {dump}");
    };
    assert_eq!(code, ExitCode::Success, "{dump}");
    assert_eq!(n, handovers.len() as u64, "switches made: {dump}");
    // The boot tool runs QEMU under TCG: the kernel, asking CPUID, must call
    // its cycles figure emulated.
    let stdout = String::from_utf8_lossy(&run.output.stdout);
    let cycles = stdout
        .lines()
        .find(|l| l.contains("cycles per switch: "))
        .unwrap_or_else(|| panic!("no cycles line: {dump}"));
    assert!(
        cycles.ends_with("; EMULATED by QEMU TCG, not a hardware figure)"),
        "{cycles}"
    );
    for r in &routines[1..] {
        let bytes = events
            .iter()
            .find_map(|e| match *e {
                Event::HighWater { id, bytes, size } if id == r.id => {
                    assert_eq!(size, 4096, "{dump}");
                    Some(bytes)
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("no high-water mark for {}: {dump}", r.name));
        // At least as deep as any RSP the events saw on that stack in phase 2,
        // and the stack did not overflow.
        let deepest = handovers
            .iter()
            .filter(|(_, s)| matches!(s.kind, Kind::Resume | Kind::Yield))
            .flat_map(|(left, s)| [(s.to, s.rsp), (s.from, left.rsp)])
            .filter(|&(id, _)| id == r.id)
            .map(|(_, rsp)| r.top - rsp)
            .max()
            .expect("phase 2 ran on the stack");
        assert!(
            deepest <= bytes && bytes < 4096,
            "{}: {bytes}, deepest {deepest}",
            r.name
        );
    }
}
