//! Booting a kernel with its event lines saved (`boot --events FILE`), and
//! reading them back with the kernel's own format (`protocol::event`), the
//! two sides of each switch joined as the picture crate joins them.

use picture::Timeline;
use protocol::event::{Event, Leave, Routine, Switch};
use std::path::Path;
use std::process::{Command, Output};

/// A run: the boot tool's output and the event lines the kernel wrote.
pub struct Run {
    pub output: Output,
    pub lines: Vec<String>,
}

impl Run {
    /// Every line, parsed; a line that does not parse fails the test.
    pub fn events(&self) -> Vec<Event<'_>> {
        self.lines
            .iter()
            .enumerate()
            .map(|(i, line)| {
                Event::parse(line).unwrap_or_else(|e| panic!("event line {}: {e}: {line:?}", i + 1))
            })
            .collect()
    }

    /// The routines, in id order (main first).
    pub fn routines(&self) -> Vec<Routine<'_>> {
        let mut routines: Vec<Routine<'_>> = self
            .events()
            .into_iter()
            .filter_map(|e| match e {
                Event::Routine(routine) => Some(routine),
                _ => None,
            })
            .collect();
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
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                Event::Switch(s) => Some(s),
                _ => None,
            })
            .collect()
    }

    /// The switches, in order, each with its leaving side: the `leave` line
    /// of its number, joined by [`Timeline::leave_of`]. A switch without
    /// one, or whose `leave` names another routine, fails the test.
    pub fn handovers(&self) -> Vec<(Leave, Switch)> {
        let events = self.events();
        let timeline = Timeline::new(&events);
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
            self.lines.join("\n")
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
    let text = std::fs::read_to_string(&events).unwrap_or_default();
    Run {
        output,
        lines: text.lines().map(str::to_owned).collect(),
    }
}
