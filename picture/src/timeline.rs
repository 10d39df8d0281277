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
pub(crate) mod tests;
