//! The event lines of one run, parsed once and put in order for drawing:
//! who ran when, how deep each stack was at each switch, and how the run
//! ended.
//!
//! The kernel writes one [`Event`] line per switch to COM2 (see
//! [`protocol::event`]). Both pictures of a run, the Chrome trace
//! ([`crate::trace`]) and the SVG ([`crate::svg`]), take the one
//! [`Timeline`] that [`Timeline::parse`] makes of those lines:
//!
//! - **Runs**: a switch is written by the routine it brought in, so the
//!   routine running between two switches is the `to` of the first one, and
//!   main runs before the first switch. The last run ends at the fault, the
//!   exit, or wherever the lines stop.
//! - **Both sides of a switch**: the routine that leaves writes a `leave`
//!   line (its RSP) just before the switch, the one that arrives the
//!   `switch` line; they are joined by the switch's number, and the `leave`
//!   is kept with the run it ends ([`Run::left`]). A `leave` with no `switch`
//!   after it (the lines stop, or a fault struck in the middle of the
//!   switch) stays with the last run: the last thing its routine did.
//! - **Depth samples**: how far below its stack's top each stack's RSP was
//!   at a switch: the leaving routine's at the RSP the switch saved in its
//!   slot (when its kind saves one, see [`protocol::event::Kind::leaving`]), the arriving
//!   routine's at the RSP it wrote the event with.
//! - **Steps**: the pictures use the switch's place in the run as time
//!   (step 0 before the first switch, step k right after the k-th), not its
//!   time-stamp counter: under QEMU's emulation (TCG) the counter mostly
//!   measures the logging between switches, which would squeeze the switches
//!   themselves out of sight.
//!
//! A run cut short (a fault, a timeout, a line cut in the middle) still
//! gives a timeline: everything read up to the cut.

use protocol::ExitCode;
use protocol::event::{Event, Id, Leave, Leaving, Switch};

/// A routine, as its `routine` event line describes it.
pub use protocol::event::Routine;

/// Reads the event lines of a run, one per line; also returns a last line
/// left out because it was cut short.
///
/// Empty lines are skipped. A last line without its newline is a line the
/// kernel was still writing when QEMU stopped (a timeout, a triple fault):
/// even if it parses, a number or a sentence in it may be cut, so it is left
/// out and returned. Any other line that does not parse is an error naming
/// its line number (from 1).
pub fn parse_events(text: &str) -> Result<(Vec<Event<'_>>, Option<&str>), String> {
    let last_start = text.rfind('\n').map_or(0, |newline| newline + 1);
    let (whole, cut) = text.split_at(last_start);
    let mut events = Vec::new();
    for (index, line) in whole.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let event =
            Event::parse(line).map_err(|error| format!("line {}: {error}: {line}", index + 1))?;
        events.push(event);
    }
    Ok((events, Some(cut).filter(|line| !line.trim().is_empty())))
}

/// One stretch of time during which one routine runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    /// The routine.
    pub who: Id,
    /// The step it starts at: 0, or the place of the switch that brought it
    /// in.
    pub start: usize,
    /// The step it ends at: the place of the switch that took it out, or the
    /// timeline's [`Timeline::end_step`].
    pub end: usize,
    /// The switch that brought it in (none for main's first run).
    pub came_in: Option<Switch>,
    /// The routine's own side of the switch that ended this run: the
    /// `leave` line it wrote just before it, with its RSP. With `went_out`,
    /// the line of that switch's number; without (the last run), a switch
    /// the routine started and no `switch` line followed, because the lines
    /// stop or a fault struck in the middle of it.
    pub left: Option<Leave>,
    /// The switch that took it out (none for the last run).
    pub went_out: Option<Switch>,
}

/// How deep one stack was at one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DepthSample {
    /// The routine whose stack it is.
    pub stack_of: Id,
    /// The step.
    pub step: usize,
    /// The RSP seen.
    pub rsp: u64,
    /// Bytes below the stack's top, within `[0, size]`: an RSP below the
    /// bottom (an overflow into the guard page) counts as the whole stack.
    pub depth: u64,
    /// Whether the RSP was below the stack's bottom.
    pub overflowed: bool,
}

/// How the run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End<'a> {
    /// The kernel exited QEMU itself.
    Exit {
        /// What it wrote to the exit device.
        code: ExitCode,
        /// The switches made in all, as the kernel counted them.
        switches: u64,
    },
    /// A fault or a panic stopped the kernel.
    Fault {
        /// The routine that was running.
        who: Id,
        /// Its RSP then.
        rsp: u64,
        /// The kernel's sentence.
        what: &'a str,
    },
    /// The lines stop without either (a timeout, a hang, a lost line).
    Cut,
}

/// A part of the program (the kernel's phases) and where it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Phase<'a> {
    /// Its number.
    pub number: u32,
    /// What it is.
    pub title: &'a str,
    /// The step it starts at: the number of switches made before it.
    pub step: usize,
}

/// A stack's deepest use, from the kernel's stack painting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HighWater {
    /// The routine whose stack it is.
    pub stack_of: Id,
    /// Bytes below the top that were ever written.
    pub bytes: u64,
    /// The stack's size.
    pub size: u64,
}

/// One run of the kernel, read from its events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeline<'a> {
    /// Every routine, in the order of their `routine` lines.
    pub routines: Vec<Routine<'a>>,
    /// The phases, in order.
    pub phases: Vec<Phase<'a>>,
    /// Every switch, in order: the k-th (from 1) is at step k.
    pub switches: Vec<Switch>,
    /// Who ran when: one more than there are switches.
    pub runs: Vec<Run>,
    /// The stacks' depths at the switches, in step order.
    pub depths: Vec<DepthSample>,
    /// The high-water marks reported.
    pub high_water: Vec<HighWater>,
    /// How it ended.
    pub end: End<'a>,
    /// The last line, left out because the run stopped while the kernel
    /// wrote it (no newline).
    pub cut_line: Option<&'a str>,
}

impl<'a> Timeline<'a> {
    /// Reads a run's event lines: the one reading that the trace and the
    /// picture share. A last line without its newline is left out and kept
    /// in [`Timeline::cut_line`]; a line that does not parse is an error
    /// naming its number (from 1).
    pub fn parse(text: &'a str) -> Result<Timeline<'a>, String> {
        let (events, cut_line) = parse_events(text)?;
        Ok(Timeline {
            cut_line,
            ..Timeline::new(&events)
        })
    }

    /// Puts the events of one run in order. Events after a fault or an exit
    /// are ignored: nothing the kernel says after it stopped is part of the
    /// run.
    pub fn new(events: &[Event<'a>]) -> Timeline<'a> {
        let mut timeline = Timeline {
            routines: Vec::new(),
            phases: Vec::new(),
            switches: Vec::new(),
            runs: Vec::new(),
            depths: Vec::new(),
            high_water: Vec::new(),
            end: End::Cut,
            cut_line: None,
        };
        // main runs from the start until the first switch.
        let mut current = Run {
            who: 0,
            start: 0,
            end: 0,
            came_in: None,
            left: None,
            went_out: None,
        };
        for event in events {
            match *event {
                Event::Routine(routine) => timeline.routines.push(routine),
                Event::Phase { number, title } => timeline.phases.push(Phase {
                    number,
                    title,
                    step: timeline.switches.len(),
                }),
                Event::Leave(leave) => current.left = Some(leave),
                Event::Switch(switch) => {
                    // Joined by number: a `leave` of another switch is not
                    // this one's leaving side.
                    current.left = current.left.filter(|left| left.n == switch.n);
                    timeline.switches.push(switch);
                    let step = timeline.switches.len();
                    if let Some(saved) = saved_rsp(&switch) {
                        timeline.sample(switch.from, step, saved);
                    }
                    timeline.sample(switch.to, step, switch.rsp);
                    current.end = step;
                    current.went_out = Some(switch);
                    timeline.runs.push(current);
                    current = Run {
                        who: switch.to,
                        start: step,
                        end: step,
                        came_in: Some(switch),
                        left: None,
                        went_out: None,
                    };
                }
                Event::HighWater { id, bytes, size } => timeline.high_water.push(HighWater {
                    stack_of: id,
                    bytes,
                    size,
                }),
                Event::Fault { who, rsp, what, .. } => {
                    // The faulting RSP is often past the bottom: that is
                    // what an overflow is, so it is kept (and marked).
                    timeline.sample_clamped(who, timeline.end_step(), rsp);
                    timeline.end = End::Fault { who, rsp, what };
                    break;
                }
                Event::Exit { code, switches, .. } => {
                    timeline.end = End::Exit { code, switches };
                    break;
                }
            }
        }
        current.end = timeline.end_step();
        timeline.runs.push(current);
        timeline
    }

    /// The step at which the run ends: one after the last switch, so the
    /// last run has as much room as any other.
    pub fn end_step(&self) -> usize {
        self.switches.len() + 1
    }

    /// The leaving side of `switch`: the `leave` line of its number, which
    /// says the leaving routine's RSP just before it. None if the lines have
    /// no such line.
    pub fn leave_of(&self, switch: &Switch) -> Option<Leave> {
        self.runs
            .iter()
            .find(|run| run.went_out.as_ref() == Some(switch))
            .and_then(|run| run.left)
    }

    /// A `leave` that no `switch` line followed: the switch the last run's
    /// routine started when the lines stop or the fault struck (the last
    /// run is the one no switch took out).
    pub fn unfinished_switch(&self) -> Option<Leave> {
        self.runs.last().and_then(|run| run.left)
    }

    /// The routine numbered `id`, if a `routine` line described it.
    pub fn routine(&self, id: Id) -> Option<&Routine<'a>> {
        self.routines.iter().find(|r| r.id == id)
    }

    /// The name of routine `id`, or `routine N` for one never described.
    pub fn name(&self, id: Id) -> String {
        match self.routine(id) {
            Some(r) => r.name.to_owned(),
            // Routine 0 is main by the protocol's numbering, declared or not
            // (a kernel without a roster, such as test_panic).
            None if id == 0 => "main".to_owned(),
            None => format!("routine {id}"),
        }
    }

    /// The name of routine `id`'s slot, or `slot of routine N`.
    pub fn slot(&self, id: Id) -> String {
        self.routine(id)
            .map_or_else(|| format!("slot of routine {id}"), |r| r.slot.to_owned())
    }

    /// What `switch` did with the leaving routine's slot, by the kind's
    /// rule: `main_context ← 0x...`, `coro1_context ← 0 (emptied: ...)`, or
    /// why nothing.
    pub fn wrote(&self, switch: &Switch) -> String {
        // A switch writes the leaving routine's own slot, if any
        // (`Kind::writes_slot_of`), and `Event::parse` has checked that
        // `stored` is there exactly when it does.
        let slot = self.slot(switch.from);
        let stored = switch.stored.unwrap_or_default();
        match switch.kind.leaving() {
            Leaving::Saved => format!("{slot} ← {stored:#018x}"),
            Leaving::Emptied => format!(
                "{slot} ← {stored} (emptied: {} finished, nothing to resume)",
                self.name(switch.from)
            ),
            Leaving::Lost => format!(
                "nothing: {}'s RSP is saved nowhere, so it cannot be resumed (the original's flaw)",
                self.name(switch.from)
            ),
        }
    }

    /// What `switch` read: `coro1_context → 0x...`.
    pub fn read(&self, switch: &Switch) -> String {
        let slot = self.slot(switch.kind.reads_slot_of(switch.to));
        format!("{slot} → {:#018x}", switch.loaded)
    }

    /// Records `rsp` as a depth of `id`'s stack if it lies inside it. An
    /// RSP outside is no depth: a routine whose stack the lines never
    /// described, or one that is not on its stack.
    fn sample(&mut self, id: Id, step: usize, rsp: u64) {
        let Some(routine) = self.routine(id) else {
            return;
        };
        if routine.holds(rsp) {
            self.depths.push(DepthSample {
                stack_of: id,
                step,
                rsp,
                depth: routine.top - rsp,
                overflowed: false,
            });
        }
    }

    /// Records `rsp` as a depth of `id`'s stack even below its bottom,
    /// where it counts as the whole stack and is marked overflowed.
    fn sample_clamped(&mut self, id: Id, step: usize, rsp: u64) {
        let Some(routine) = self.routine(id) else {
            return;
        };
        if rsp < routine.bottom {
            let depth = routine.size();
            self.depths.push(DepthSample {
                stack_of: id,
                step,
                rsp,
                depth,
                overflowed: true,
            });
        } else {
            self.sample(id, step, rsp);
        }
    }
}

/// The leaving routine's RSP as `switch` saved it in its slot, if its kind
/// saves it there.
pub fn saved_rsp(switch: &Switch) -> Option<u64> {
    match switch.kind.leaving() {
        Leaving::Saved => switch.stored,
        Leaving::Lost | Leaving::Emptied => None,
    }
}

/// A few words for a switch: `#5 resume`.
pub fn switch_title(switch: &Switch) -> String {
    format!("#{} {}", switch.n, switch.kind.as_str())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use protocol::event::Kind;

    /// The two-coroutine kernel's events, from a real run (`cargo run --
    /// --events FILE`; 20 switches: each finish is a switch of its own).
    pub(crate) const TWO: &str = include_str!("../tests/data/two_coroutines.events");

    /// The same roster with coroutine1 overflowing its stack after switch 5,
    /// from a real run (`cargo run -- --bin fault_stack_overflow --events
    /// FILE`).
    pub(crate) const FAULT: &str = include_str!("../tests/data/two_coroutines_fault.events");

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
        let text = "phase number=1 title=one\nhigh_water id=1 bytes=2\nexit code=success switches=0 tsc=0\n";
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
        let Some(Event::Fault { rsp, .. }) =
            events.iter().find(|e| matches!(e, Event::Fault { .. }))
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
}
