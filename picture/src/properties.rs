//! Property tests: whatever event lines come in (a real run's lines cut,
//! reordered or edited; any sequence of well-formed events, however
//! inconsistent), reading them gives a timeline or a one-line reason, and
//! a timeline always draws, as a trace and as an SVG. `PROPTEST_CASES`
//! sets how many cases (`make fuzz` runs many more).

use crate::timeline::tests::{FAULT, TWO};
use crate::{Timeline, svg, trace};
use proptest::prelude::*;
use protocol::ExitCode;
use protocol::event::{Event, Id, Kind, Leave, Routine, Switch};

/// Reads `text`; a timeline must draw, a refusal must be one line.
fn reads_and_draws(text: &str) -> Result<(), TestCaseError> {
    match Timeline::parse(text) {
        Ok(timeline) => {
            let svg = svg::svg(&timeline);
            prop_assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(80)]);
            let trace = trace::chrome_trace(&timeline);
            prop_assert!(trace.is_object() || trace.is_array());
        }
        Err(reason) => prop_assert!(!reason.contains('\n'), "{reason:?}"),
    }
    Ok(())
}

/// One change to a run's lines.
#[derive(Debug, Clone)]
enum Change {
    /// The line at this place removed.
    Remove(f64),
    /// The line at this place repeated.
    Repeat(f64),
    /// The lines at these two places swapped.
    Swap(f64, f64),
    /// The number starting at a place in a line replaced.
    Number(f64, f64, u64),
    /// The text cut at a place (as a run that stops).
    Cut(f64),
}

fn a_change() -> impl Strategy<Value = Change> {
    let at = || 0.0..1.0f64;
    prop_oneof![
        at().prop_map(Change::Remove),
        at().prop_map(Change::Repeat),
        (at(), at()).prop_map(|(a, b)| Change::Swap(a, b)),
        (at(), at(), a_number()).prop_map(|(a, b, n)| Change::Number(a, b, n)),
        at().prop_map(Change::Cut),
    ]
}

/// `text` with `changes` made, in order.
fn changed(text: &str, changes: &[Change]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut cut = None;
    let place = |len: usize, at: f64| ((len as f64 * at) as usize).min(len.saturating_sub(1));
    for change in changes {
        let len = lines.len();
        if len == 0 {
            break;
        }
        match *change {
            Change::Remove(at) => {
                lines.remove(place(len, at));
            }
            Change::Repeat(at) => {
                let line = lines[place(len, at)].clone();
                lines.insert(place(len, at), line);
            }
            Change::Swap(a, b) => lines.swap(place(len, a), place(len, b)),
            Change::Number(at, within, number) => {
                let line = &mut lines[place(len, at)];
                let starts: Vec<usize> = line.match_indices('=').map(|(i, _)| i + 1).collect();
                if let Some(&start) = starts.get(place(starts.len(), within)) {
                    let end = line[start..].find(' ').map_or(line.len(), |e| start + e);
                    let value = if number % 2 == 0 {
                        format!("{number:#018x}")
                    } else {
                        number.to_string()
                    };
                    line.replace_range(start..end, &value);
                }
            }
            Change::Cut(at) => cut = Some(at),
        }
    }
    let mut text = lines.join("\n") + "\n";
    if let Some(at) = cut {
        let mut end = (text.len() as f64 * at) as usize;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// A number as event lines hold them: anything, small, or an address in
/// or near the kernel's stacks.
fn a_number() -> impl Strategy<Value = u64> {
    prop_oneof![
        any::<u64>(),
        0..64u64,
        0xffff_ffff_8001_0000..0xffff_ffff_8002_0000u64,
        0x0000_0100_0000_0000..0x0000_0100_0002_0000u64,
    ]
}

/// A routine number: mostly ones that a run has, sometimes not.
fn an_id() -> impl Strategy<Value = Id> {
    prop_oneof![4 => 0..3u32, 1 => any::<Id>()]
}

const NAMES: [(&str, &str, &str); 3] = [
    ("main", "main_stack", "main_context"),
    ("coroutine1", "coroutine1_stack", "coro1_context"),
    ("coroutine2", "coroutine2_stack", "coro2_context"),
];

/// A well-formed event line, with any numbers in it.
fn a_line() -> impl Strategy<Value = String> {
    let kind = prop::sample::select(Kind::ALL.to_vec());
    let code = prop::sample::select(ExitCode::ALL.to_vec());
    prop_oneof![
        (0..3usize, a_number(), a_number(), a_number()).prop_map(|(i, bottom, top, slot)| {
            let (name, stack, slot_name) = NAMES[i];
            Event::Routine(Routine {
                id: i as Id,
                name,
                stack,
                bottom,
                top,
                slot: slot_name,
                slot_addr: slot,
            })
            .to_string()
        }),
        (an_id(), a_number(), a_number())
            .prop_map(|(from, n, rsp)| { Event::Leave(Leave { n, from, rsp }).to_string() }),
        (
            (a_number(), kind, an_id(), an_id()),
            (
                any::<Option<u64>>(),
                a_number(),
                a_number(),
                a_number(),
                a_number()
            )
        )
            .prop_map(|((n, kind, from, to), (value, stored, loaded, rsp, tsc))| {
                Event::Switch(Switch {
                    n,
                    kind,
                    from,
                    to,
                    value,
                    stored: kind.leaving().writes_slot().then_some(stored),
                    loaded,
                    rsp,
                    tsc,
                })
                .to_string()
            }),
        (an_id(), a_number(), a_number()).prop_map(|(id, bytes, size)| Event::HighWater {
            id,
            bytes,
            size
        }
        .to_string()),
        (an_id(), a_number(), a_number(), a_number()).prop_map(|(who, switch, rsp, tsc)| {
            Event::Fault {
                who,
                switch,
                rsp,
                tsc,
                what: "a fault",
            }
            .to_string()
        }),
        (code, a_number(), a_number()).prop_map(|(code, switches, tsc)| {
            Event::Exit {
                code,
                switches,
                tsc,
            }
            .to_string()
        }),
        an_id().prop_map(|number| Event::Phase {
            number,
            title: "a phase"
        }
        .to_string()),
    ]
}

proptest! {
    #[test]
    fn a_real_run_changed_reads_and_draws(
        text in prop::sample::select(vec![TWO, FAULT]),
        changes in prop::collection::vec(a_change(), 1..8),
    ) {
        reads_and_draws(&changed(text, &changes))?;
    }

    #[test]
    fn any_well_formed_lines_read_and_draw(
        lines in prop::collection::vec(a_line(), 0..40),
        cut in any::<bool>(),
    ) {
        let mut text = lines.join("\n");
        if !cut {
            text.push('\n');
        }
        prop_assert!(Timeline::parse(&text).is_ok(), "{text}");
        reads_and_draws(&text)?;
    }

    #[test]
    fn any_text_reads_and_draws_or_says_why(text in any::<String>()) {
        reads_and_draws(&text)?;
    }
}
