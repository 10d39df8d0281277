//! Booting a kernel with its event lines saved (`boot --events FILE`), and
//! reading them back as the tool does: with the picture crate's reading
//! ([`picture::timeline::parse_events`], [`Timeline`]), which leaves out a
//! last line cut short, and joins the two sides of each switch.

use picture::Timeline;
use picture::timeline::parse_events;
use protocol::event::{Event, Leave, Routine, Switch};
use std::path::Path;
use std::process::{Command, Output};

/// A run: the boot tool's output and the event lines the kernel wrote.
pub struct Run {
    pub output: Output,
    /// The events file as the kernel left it.
    pub text: String,
}

impl Run {
    /// Every whole line, parsed; a line that does not parse fails the test.
    /// A last line cut short (the run stopped while the kernel wrote it) is
    /// left out, as the tool leaves it out.
    pub fn events(&self) -> Vec<Event<'_>> {
        parse_events(&self.text)
            .unwrap_or_else(|e| panic!("event {e}\n{}", self.dump()))
            .0
    }

    /// The run's timeline, as the tool's trace and picture read it.
    pub fn timeline(&self) -> Timeline<'_> {
        Timeline::parse(&self.text).unwrap_or_else(|e| panic!("event {e}\n{}", self.dump()))
    }

    /// The routines, in id order (main first).
    pub fn routines(&self) -> Vec<Routine<'_>> {
        let mut routines = self.timeline().routines;
        routines.sort_by_key(|r| r.id);
        for (i, r) in routines.iter().enumerate() {
            assert_eq!(
                r.id as usize, i,
                "routine ids are 0, 1, 2, ...: {routines:?}"
            );
        }
        routines
    }

    /// The switch events, in order.
    pub fn switches(&self) -> Vec<Switch> {
        self.timeline().switches
    }

    /// The switches, in order, each with its leaving side: the `leave` line
    /// of its number, joined by [`Timeline::leave_of`]. A switch without
    /// one, or whose `leave` names another routine, fails the test.
    pub fn handovers(&self) -> Vec<(Leave, Switch)> {
        let timeline = self.timeline();
        timeline
            .switches
            .iter()
            .map(|&switch| {
                let left = timeline.leave_of(&switch).unwrap_or_else(|| {
                    panic!("switch #{} has no leave line: {}", switch.n, self.dump())
                });
                assert_eq!(
                    left.from,
                    switch.from,
                    "#{}: the leave line names another routine: {}",
                    switch.n,
                    self.dump()
                );
                (left, switch)
            })
            .collect()
    }

    /// Everything the run printed, for assertion messages.
    pub fn dump(&self) -> String {
        format!(
            "status {:?}\nstdout:\n{}\nstderr:\n{}\nevents:\n{}",
            self.output.status,
            String::from_utf8_lossy(&self.output.stdout),
            String::from_utf8_lossy(&self.output.stderr),
            self.text
        )
    }
}

/// Boots `kernel` (an ELF path) with `--events` into a scratch file and
/// returns what it printed and the event lines.
pub fn boot_with_events(kernel: &Path, extra: &[&str]) -> Run {
    let dir = tempfile::tempdir().expect("scratch directory");
    let events = dir.path().join("events.txt");
    let output = Command::new(env!("CARGO_BIN_EXE_boot"))
        .arg(kernel)
        .args(["--timeout", "60", "--events"])
        .arg(&events)
        .args(extra)
        .output()
        .expect("run boot");
    Run {
        output,
        text: std::fs::read_to_string(&events).unwrap_or_default(),
    }
}
