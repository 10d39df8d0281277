use super::*;
use protocol::event::Kind;

/// The two-coroutine kernel's events, from a real run (`cargo run --
/// --events FILE`; 20 switches: each finish is a switch of its own).
pub(crate) const TWO: &str = include_str!("../../tests/data/two_coroutines.events");

/// The same roster with coroutine1 overflowing its stack after switch 5,
/// from a real run (`cargo run -- --bin fault_stack_overflow --events
/// FILE`).
pub(crate) const FAULT: &str = include_str!("../../tests/data/two_coroutines_fault.events");

/// A round-robin kernel: main resumes `coroutines` coroutines in turn
/// for `rounds` rounds; each yields, and finishes in the last round.
/// Written through [`Event`]'s `Display`, as the kernel writes them.
pub(crate) fn round_robin(coroutines: u32, rounds: u32) -> String {
    let mut lines = Vec::new();
    let main_top = 0x0000_0100_0001_1000;
    lines.push(
        Event::Routine(Routine {
            id: 0,
            name: "main",
            stack: "main_stack",
            bottom: main_top - 0x10000,
            top: main_top,
            slot: "main_context",
            slot_addr: 0xffff_ffff_8001_2000,
        })
        .to_string(),
    );
    let names: Vec<(String, String, String)> = (1..=coroutines)
        .map(|c| {
            (
                format!("coroutine{c}"),
                format!("coroutine{c}_stack"),
                format!("coro{c}_context"),
            )
        })
        .collect();
    let top = |c: u32| 0xffff_ffff_8001_4000 + u64::from(c - 1) * 0x2000;
    for (c, (name, stack, slot)) in (1..).zip(&names) {
        lines.push(
            Event::Routine(Routine {
                id: c,
                name,
                stack,
                bottom: top(c) - 0x1000,
                top: top(c),
                slot,
                slot_addr: 0xffff_ffff_8001_2000 + 8 * u64::from(c),
            })
            .to_string(),
        );
    }
    // As the kernel writes a switch: the leaving side's line, then the
    // arriving side's, where the leaving side's slot holds what the
    // kind's rule puts there and the arriving side's what was loaded.
    let mut n = 0;
    let mut switch = |kind: Kind, from, to, from_rsp: u64, slot_after: u64, loaded, rsp| {
        n += 1;
        let leave = Event::Leave(Leave {
            n,
            from,
            rsp: from_rsp,
        });
        let arrive = Event::Switch(Switch {
            n,
            kind,
            from,
            to,
            value: Some(n),
            stored: kind.leaving().writes_slot().then_some(slot_after),
            loaded,
            rsp,
            tsc: n * 1000,
        });
        format!("{leave}\n{arrive}")
    };
    let main_saved = main_top - 0x328;
    for round in 1..=rounds {
        for c in 1..=coroutines {
            let loaded = top(c) - if round == 1 { 0x38 } else { 0x1f8 };
            let deeper = top(c) - 0x1e0 - 0x40 * u64::from(c % 3);
            lines.push(switch(
                Kind::Resume,
                0,
                c,
                main_saved + 24,
                main_saved,
                loaded,
                deeper,
            ));
            let (kind, slot_after) = if round == rounds {
                // A finished coroutine's slot is emptied.
                (Kind::Finish, 0)
            } else {
                (Kind::Yield, top(c) - 0x1f8)
            };
            lines.push(switch(
                kind,
                c,
                0,
                top(c) - 0x1e0,
                slot_after,
                main_saved,
                main_top - 0x310,
            ));
        }
    }
    for c in 1..=coroutines {
        lines.push(
            Event::HighWater {
                id: c,
                bytes: 1648 + 64 * u64::from(c % 3),
                size: 4096,
            }
            .to_string(),
        );
    }
    lines.push(
        Event::Exit {
            code: ExitCode::Success,
            switches: u64::from(2 * coroutines * rounds),
            tsc: 0,
        }
        .to_string(),
    );
    lines.join("\n") + "\n"
}

#[test]
fn a_bad_line_is_named_by_its_number() {
    let text =
        "phase number=1 title=one\nhigh_water id=1 bytes=2\nexit code=success switches=0 tsc=0\n";
    let error = parse_events(text).unwrap_err();
    assert!(error.starts_with("line 2: missing field (size)"), "{error}");
}

#[test]
fn a_trailing_half_line_is_dropped_but_a_bad_last_full_line_is_not() {
    let half = "phase number=1 title=one\nswitch n=1 kind=ca";
    assert_eq!(parse_events(half).unwrap().0.len(), 1);
    assert_eq!(
        Timeline::parse(half).unwrap().cut_line,
        Some("switch n=1 kind=ca")
    );
    // Cut in a number, the line would parse, but wrongly: left out too.
    let number = "phase number=1 title=one\nhigh_water id=1 bytes=19";
    assert_eq!(parse_events(number).unwrap().0.len(), 1);
    let whole = "phase number=1 title=one\nswitch n=1 kind=ca\n";
    assert!(parse_events(whole).unwrap_err().starts_with("line 2:"));
}

#[test]
fn main_runs_first_and_each_switch_hands_over_to_its_target() {
    let timeline = Timeline::parse(TWO).unwrap();
    assert_eq!(timeline.switches.len(), 20);
    assert_eq!(timeline.runs.len(), timeline.switches.len() + 1);
    assert_eq!(timeline.runs[0].who, 0);
    for pair in timeline.runs.windows(2) {
        let (before, after) = (pair[0], pair[1]);
        let switch = before.went_out.unwrap();
        assert_eq!(after.came_in, Some(switch));
        assert_eq!((switch.from, switch.to), (before.who, after.who));
        assert_eq!(before.end, after.start);
        assert!(before.start < before.end);
    }
    assert_eq!(
        timeline.end,
        End::Exit {
            code: ExitCode::Success,
            switches: 20
        }
    );
}

#[test]
fn each_switch_is_joined_with_the_leave_line_of_its_number() {
    let (events, _) = parse_events(TWO).unwrap();
    let timeline = Timeline::new(&events);
    let leaves: Vec<Leave> = events
        .iter()
        .filter_map(|e| match e {
            Event::Leave(leave) => Some(*leave),
            _ => None,
        })
        .collect();
    assert_eq!(leaves.len(), timeline.switches.len());
    for (switch, leave) in timeline.switches.iter().zip(&leaves) {
        let joined = timeline.leave_of(switch).unwrap();
        assert_eq!(joined, *leave);
        assert_eq!((joined.n, joined.from), (switch.n, switch.from));
        // The kind's rule says where the leaving RSP went: below the
        // return address of phase 1's `call`, below the frame of a
        // phase 2 switch.
        match switch.kind {
            Kind::Call => assert_eq!(switch.stored, Some(joined.rsp - 8)),
            Kind::Resume | Kind::Yield => assert_eq!(switch.stored, Some(joined.rsp - 24)),
            Kind::Return | Kind::Finish => {}
        }
    }
    // A run that ended with a switch carries its routine's side of it.
    for run in &timeline.runs[..timeline.runs.len() - 1] {
        assert_eq!(run.left.map(|l| l.from), Some(run.who));
    }
    assert_eq!(timeline.unfinished_switch(), None);
}

#[test]
fn a_leave_of_another_number_is_not_joined() {
    let text = "leave n=7 from=0 rsp=0x10\n\
                switch n=1 kind=resume from=0 to=1 value=1 stored=0x8 loaded=0x20 rsp=0x18 tsc=1\n";
    let timeline = Timeline::parse(text).unwrap();
    assert_eq!(timeline.leave_of(&timeline.switches[0]), None);
    assert_eq!(timeline.runs[0].left, None);
}

#[test]
fn a_leave_with_no_switch_after_it_is_the_last_thing_its_routine_did() {
    // Cut right after switch 3, in the middle of the `switch` line of
    // switch 4: coroutine2's `leave` for it is whole, so it is kept.
    let cut_at = TWO.find("switch n=4 ").unwrap() + "switch n=4 kind=re".len();
    let timeline = Timeline::parse(&TWO[..cut_at]).unwrap();
    assert_eq!(timeline.switches.len(), 3);
    assert_eq!(timeline.end, End::Cut);
    let last = timeline.runs.last().unwrap();
    assert_eq!((last.who, last.went_out), (2, None));
    let left = timeline.unfinished_switch().unwrap();
    assert_eq!((left.n, left.from), (4, 2));
    assert!(timeline.routine(2).unwrap().holds(left.rsp));
    assert_eq!(last.left, Some(left));

    // A fault in the middle of a switch: the leaving routine still runs
    // (it wrote no arrival), and its `leave` stays with it.
    let (head, _) = FAULT.split_at(FAULT.find("switch n=5 ").unwrap());
    let fault = format!(
        "{head}fault who=0 switch=5 rsp=0x0000010000010c00 tsc=1 what=main faulted mid-switch\n"
    );
    let timeline = Timeline::parse(&fault).unwrap();
    assert_eq!(timeline.switches.len(), 4);
    assert!(matches!(timeline.end, End::Fault { who: 0, .. }));
    let left = timeline.unfinished_switch().unwrap();
    assert_eq!((left.n, left.from), (5, 0));
    assert_eq!(timeline.runs.last().unwrap().who, 0);
}

#[test]
fn depths_lie_inside_their_stacks_and_return_samples_no_leaving_side() {
    let timeline = Timeline::parse(TWO).unwrap();
    for sample in &timeline.depths {
        let routine = timeline.routine(sample.stack_of).unwrap();
        assert!(sample.depth <= routine.size());
        assert_eq!(routine.top - sample.rsp, sample.depth);
    }
    // Switch 2 (coroutine1 returns) stored nothing: only main's depth.
    let at_2: Vec<Id> = timeline
        .depths
        .iter()
        .filter(|s| s.step == 2)
        .map(|s| s.stack_of)
        .collect();
    assert_eq!(at_2, [0]);
    // Switch 6 (coroutine1 yields): coroutine1's depth is that of the
    // RSP the switch stored in its slot.
    let c1_at_6 = timeline
        .depths
        .iter()
        .find(|s| s.step == 6 && s.stack_of == 1)
        .unwrap();
    let stored = timeline.switches[5].stored.unwrap();
    let top = timeline.routine(1).unwrap().top;
    assert_eq!(c1_at_6.depth, top - stored);
}

#[test]
fn a_fault_ends_the_run_with_the_faulting_routine_and_a_clamped_depth() {
    let (events, _) = parse_events(FAULT).unwrap();
    let timeline = Timeline::new(&events);
    assert_eq!(timeline.switches.len(), 5);
    let last = timeline.runs.last().unwrap();
    assert_eq!(last.who, 1);
    assert_eq!(last.end, timeline.end_step());
    assert!(matches!(timeline.end, End::Fault { who: 1, .. }));
    // The fault's RSP, clamped to the stack: the overflow reached (or
    // passed) the bottom.
    let Some(Event::Fault { rsp, .. }) = events.iter().find(|e| matches!(e, Event::Fault { .. }))
    else {
        panic!("no fault event in the sample");
    };
    let routine = timeline.routine(1).unwrap();
    let deepest = timeline.depths.last().unwrap();
    assert_eq!(deepest.overflowed, *rsp < routine.bottom);
    assert_eq!(deepest.depth, routine.size());
}

#[test]
fn lines_that_stop_early_still_give_a_timeline() {
    let cut: String = TWO.lines().take(12).collect::<Vec<_>>().join("\n");
    let timeline = Timeline::parse(&cut).unwrap();
    assert_eq!(timeline.end, End::Cut);
    assert_eq!(timeline.runs.len(), timeline.switches.len() + 1);
    // The twelfth line, switch 4's, has no newline: the kernel may not
    // have finished it, so it is left out, and kept to be said.
    assert!(TWO.lines().nth(11).unwrap().starts_with("switch n=4 "));
    assert_eq!(timeline.switches.len(), 3);
    assert_eq!(timeline.cut_line, TWO.lines().nth(11));
}

#[test]
fn the_round_robin_generator_makes_a_consistent_run() {
    let text = round_robin(8, 5);
    let timeline = Timeline::parse(&text).unwrap();
    assert_eq!(timeline.routines.len(), 9);
    assert_eq!(timeline.switches.len(), 80);
    assert_eq!(timeline.runs.len(), 81);
    // Every RSP where the kernel's would be: the leaving side's in its
    // own stack, the arriving side's and the loaded one in the
    // arriver's, a saved one in the leaver's, a finished slot empty.
    for s in &timeline.switches {
        let (from, to) = (
            timeline.routine(s.from).unwrap(),
            timeline.routine(s.to).unwrap(),
        );
        let left = timeline.leave_of(s).unwrap();
        assert!(
            from.holds(left.rsp) && to.holds(s.rsp) && to.holds(s.loaded),
            "{s:?} {left:?}"
        );
        match s.kind.leaving() {
            Leaving::Saved => assert!(from.holds(s.stored.unwrap()), "{s:?}"),
            Leaving::Emptied => assert_eq!(s.stored, Some(0), "{s:?}"),
            Leaving::Lost => assert_eq!(s.stored, None, "{s:?}"),
        }
    }
}
