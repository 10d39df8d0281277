//! A run as a Chrome Trace Event file, for ui.perfetto.dev and
//! chrome://tracing.
//!
//! The format is the JSON object form of Google's "Trace Event Format":
//! `{"traceEvents": [...]}`, each event a JSON object with a phase `ph`.
//! What this file puts in it:
//!
//! - one process (`pid` 1, the kernel) and one thread per routine, named by
//!   `thread_name` metadata (`M`) and kept in roster order by
//!   `thread_sort_index`;
//! - a complete slice (`X`) on a routine's thread for each stretch it runs,
//!   with the switches that brought it in and took it out, its RSP on
//!   arrival and, from its `leave` line, on leaving (also when the lines
//!   stop in the middle of that switch: then the slice says which switch it
//!   left for);
//! - each switch as an instant (`i`) on the arriving thread, named with its
//!   number, kind and routines, whose args say which slot got the leaving
//!   RSP and which slot was loaded, and as a flow arrow (`s` to `f`) from the
//!   leaving thread's slice to the arriving one's;
//! - a counter (`C`) per stack: how many bytes below its top RSP was at each
//!   switch, always within `[0, size]`;
//! - the phases and the exit as global instants, a fault as an instant on
//!   the faulting routine's thread, last in the file.
//!
//! **Time**: the trace's clock is the switch's place in the run, one switch
//! per [`STEP_US`] microseconds, not the time-stamp counter. Under QEMU's
//! emulation (TCG) the counter mostly measures the logging between switches
//! and has no known frequency, so a TSC axis would hide the switches among
//! uneven gaps. The counter is kept in each slice's args (`tsc ticks`) for
//! whoever wants it.

use crate::timeline::{End, Run, Timeline, switch_title};
use protocol::event::{Id, Switch};
use serde_json::{Value, json};

/// Microseconds of trace time per switch: viewers label 1000 µs as "1 ms",
/// so the ruler reads directly as switch numbers.
pub const STEP_US: u64 = 1000;

/// The one process of the trace.
const PID: u32 = 1;

/// The thread of routine `id`: kept off 0, which Linux-minded viewers such
/// as Perfetto read as the idle task.
fn tid(id: Id) -> u64 {
    u64::from(id) + 1
}

/// Trace time of a step.
fn ts(step: usize) -> u64 {
    step as u64 * STEP_US
}

/// An address as the transcript writes it.
fn hex(address: u64) -> String {
    format!("{address:#018x}")
}

/// A run as a Chrome Trace Event JSON object.
pub fn chrome_trace(timeline: &Timeline<'_>) -> Value {
    let mut out = Vec::new();
    out.push(json!({
        "name": "process_name", "ph": "M", "pid": PID,
        "args": { "name": "kernel (time: 1 ms per switch)" },
    }));
    for (index, routine) in timeline.routines.iter().enumerate() {
        out.push(json!({
            "name": "thread_name", "ph": "M", "pid": PID, "tid": tid(routine.id),
            "args": { "name": routine.name },
        }));
        out.push(json!({
            "name": "thread_sort_index", "ph": "M", "pid": PID, "tid": tid(routine.id),
            "args": { "sort_index": index },
        }));
    }
    let mut phases = timeline.phases.iter().peekable();
    for run in &timeline.runs {
        while let Some(phase) = phases.next_if(|p| p.step <= run.start) {
            out.push(json!({
                "name": format!("phase {}: {}", phase.number, phase.title),
                "ph": "i", "s": "g", "pid": PID, "tid": tid(0), "ts": ts(phase.step),
            }));
        }
        out.push(run_slice(timeline, run));
        if let Some(switch) = run.went_out {
            out.extend(switch_events(timeline, &switch, run.end));
        }
        out.extend(
            timeline
                .depths
                .iter()
                .filter(|sample| sample.step == run.end)
                .filter_map(|sample| {
                    let routine = timeline.routine(sample.stack_of)?;
                    Some(json!({
                        // Viewers name the track after the event and the
                        // arg: "coroutine1_stack bytes below top".
                        "name": routine.stack,
                        "ph": "C", "pid": PID, "ts": ts(sample.step),
                        "args": { "bytes below top": sample.depth },
                    }))
                }),
        );
    }
    let end = ts(timeline.end_step());
    for mark in &timeline.high_water {
        out.push(json!({
            "name": format!("high water: {} of {} bytes", mark.bytes, mark.size),
            "ph": "i", "s": "t", "pid": PID, "tid": tid(mark.stack_of), "ts": end,
        }));
    }
    match &timeline.end {
        End::Exit { code, switches } => {
            out.push(json!({
                "name": format!("exit: {} after {switches} switches", code.word()),
                "ph": "i", "s": "g", "pid": PID, "tid": tid(0), "ts": end,
            }));
        }
        End::Fault { who, rsp, what } => {
            let mut args = json!({ "rsp": hex(*rsp), "sentence": what });
            if let Some(routine) = timeline.routine(*who)
                && *rsp < routine.bottom
            {
                args["bytes below the stack's bottom"] = json!(routine.bottom - rsp);
            }
            out.push(json!({
                "name": format!("fault: {what}"),
                "ph": "i", "s": "t", "pid": PID, "tid": tid(*who), "ts": end,
                "args": args,
            }));
        }
        End::Cut => {}
    }
    let mut other = json!({
        "time axis": format!("switch number: one switch per {STEP_US} µs of trace time; \
                              the emulated TSC is in the slices' args"),
    });
    if let Some(line) = timeline.cut_line {
        other["last line, cut short and left out"] = json!(line);
    }
    json!({
        "traceEvents": out,
        "displayTimeUnit": "ms",
        "otherData": other,
    })
}

/// The slice of one run: `coroutine1 runs`, from the switch that brought it
/// in to the one that took it out.
fn run_slice(timeline: &Timeline<'_>, run: &Run) -> Value {
    let came_in = run.came_in.as_ref().map_or("start".into(), switch_title);
    let went_out = match (&run.went_out, &timeline.end) {
        (Some(switch), _) => switch_title(switch),
        (None, End::Exit { .. }) => "exit".into(),
        (None, End::Fault { .. }) => "fault".into(),
        (None, End::Cut) => "end of the event lines".into(),
    };
    let mut args = json!({ "in": came_in, "out": went_out });
    if let Some(switch) = &run.came_in {
        args["rsp at entry"] = json!(hex(switch.rsp));
        if let Some(routine) = timeline.routine(run.who)
            && routine.holds(switch.rsp)
        {
            args["bytes below top at entry"] = json!(routine.top - switch.rsp);
        }
    }
    if let Some(left) = &run.left {
        args["rsp on leaving"] = json!(hex(left.rsp));
        if run.went_out.is_none() {
            args["left for"] = json!(format!("#{}, but no switch line followed", left.n));
        }
    }
    if let (Some(came_in), Some(went_out)) = (&run.came_in, &run.went_out) {
        args["tsc ticks"] = json!(went_out.tsc.saturating_sub(came_in.tsc));
    }
    json!({
        "name": format!("{} runs", timeline.name(run.who)),
        "cat": "run", "ph": "X", "pid": PID, "tid": tid(run.who),
        "ts": ts(run.start), "dur": ts(run.end) - ts(run.start),
        "args": args,
    })
}

/// A switch at `step`: a flow arrow from the leaving thread to the arriving
/// one and an instant on the arriving thread that names the slots.
fn switch_events(timeline: &Timeline<'_>, switch: &Switch, step: usize) -> [Value; 3] {
    let name = format!(
        "{} {} → {}",
        switch_title(switch),
        timeline.name(switch.from),
        timeline.name(switch.to)
    );
    let at = ts(step);
    [
        // The flow starts just inside the leaving slice, which ends at `at`,
        // so that viewers bind it to that slice rather than to none.
        json!({
            "name": name, "cat": "switch", "ph": "s", "id": switch.n,
            "pid": PID, "tid": tid(switch.from), "ts": at - 1,
        }),
        json!({
            "name": name, "cat": "switch", "ph": "f", "bp": "e", "id": switch.n,
            "pid": PID, "tid": tid(switch.to), "ts": at,
        }),
        json!({
            "name": name, "cat": "switch", "ph": "i", "s": "t",
            "pid": PID, "tid": tid(switch.to), "ts": at,
            "args": {
                "wrote": timeline.wrote(switch), "read": timeline.read(switch),
                "rsp on arrival": hex(switch.rsp), "tsc": switch.tsc,
            },
        }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::tests::{FAULT, TWO, round_robin};
    use protocol::event::Event;

    /// The trace of `text`'s events, as a viewer would read it back from
    /// the file.
    fn trace_of(text: &str) -> Vec<Value> {
        let written = chrome_trace(&Timeline::parse(text).unwrap()).to_string();
        let read: Value = serde_json::from_str(&written).unwrap();
        read["traceEvents"].as_array().unwrap().clone()
    }

    fn phase<'v>(events: &'v [Value], ph: &str) -> Vec<&'v Value> {
        events.iter().filter(|e| e["ph"] == ph).collect()
    }

    #[test]
    fn each_routine_has_a_named_thread_of_its_own() {
        let events = trace_of(TWO);
        let names: Vec<(&str, u64)> = phase(&events, "M")
            .into_iter()
            .filter(|e| e["name"] == "thread_name")
            .map(|e| {
                (
                    e["args"]["name"].as_str().unwrap(),
                    e["tid"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(names, [("main", 1), ("coroutine1", 2), ("coroutine2", 3)]);
    }

    #[test]
    fn the_run_slices_cover_the_run_one_per_stretch_on_the_right_thread() {
        let events = trace_of(TWO);
        let slices = phase(&events, "X");
        // 20 switches: 21 stretches, main first.
        assert_eq!(slices.len(), 21);
        assert_eq!(slices[0]["name"], "main runs");
        assert_eq!(slices[0]["ts"], 0);
        for pair in slices.windows(2) {
            let end = pair[0]["ts"].as_u64().unwrap() + pair[0]["dur"].as_u64().unwrap();
            assert_eq!(pair[1]["ts"].as_u64().unwrap(), end, "no gap, no overlap");
            assert_eq!(pair[0]["args"]["out"], pair[1]["args"]["in"]);
        }
        let c1 = phase(&events, "M")
            .into_iter()
            .find(|e| e["args"]["name"] == "coroutine1")
            .unwrap()["tid"]
            .clone();
        let c1_slices: Vec<_> = slices.iter().filter(|s| s["tid"] == c1).collect();
        // Phase 1 calls it once, phase 2 resumes it four times.
        assert_eq!(c1_slices.len(), 5);
        assert!(c1_slices.iter().all(|s| s["name"] == "coroutine1 runs"));
    }

    #[test]
    fn every_switch_has_an_instant_naming_the_slots_and_a_flow_between_threads() {
        let events = trace_of(TWO);
        let instants: Vec<_> = phase(&events, "i")
            .into_iter()
            .filter(|e| e["cat"] == "switch")
            .collect();
        assert_eq!(instants.len(), 20);
        let first = instants[0];
        assert!(first["name"].as_str().unwrap().starts_with("#1 call"));
        let Some(one) = TWO.lines().find_map(|line| match Event::parse(line) {
            Ok(Event::Switch(switch)) => Some(switch),
            _ => None,
        }) else {
            panic!("the sample has no switch")
        };
        let wrote = format!("main_context ← {:#018x}", one.stored.unwrap());
        let read = format!("coro1_context → {:#018x}", one.loaded);
        assert_eq!(first["args"]["wrote"], wrote.as_str());
        assert_eq!(first["args"]["read"], read.as_str());
        // The original's return saves nothing, and the trace says so.
        assert!(
            instants[1]["args"]["wrote"]
                .as_str()
                .unwrap()
                .starts_with("nothing")
        );
        let starts = phase(&events, "s");
        let finishes = phase(&events, "f");
        assert_eq!((starts.len(), finishes.len()), (20, 20));
        for (s, f) in starts.iter().zip(&finishes) {
            assert_eq!(s["id"], f["id"]);
            assert_ne!(
                s["tid"], f["tid"],
                "a switch goes from one thread to another"
            );
        }
    }

    #[test]
    fn counters_stay_within_their_stacks_even_past_an_overflow() {
        for text in [TWO, FAULT, &round_robin(8, 5)] {
            let events = trace_of(text);
            let counters = phase(&events, "C");
            assert!(!counters.is_empty());
            for counter in counters {
                let name = counter["name"].as_str().unwrap();
                let size = if name.starts_with("main") {
                    0x10000
                } else {
                    4096
                };
                let depth = counter["args"]["bytes below top"].as_u64().unwrap();
                assert!(depth <= size, "{name}: {depth}");
            }
        }
    }

    #[test]
    fn lines_cut_short_still_give_a_trace_up_to_the_cut() {
        let cut_at = TWO.find("switch n=8 ").unwrap() + "switch n=8 kind=yi".len();
        let events = trace_of(&TWO[..cut_at]);
        let slices = phase(&events, "X");
        // Switches 1 to 7 were read whole; the half line is dropped.
        assert_eq!(slices.len(), 8);
        let last = slices.last().unwrap();
        assert_eq!(last["args"]["out"], "end of the event lines");
        // coroutine2's `leave` for switch 8 was written whole: its slice
        // says where it left from, and that nothing arrived.
        let Some(Event::Leave(left)) = TWO
            .lines()
            .map(|line| Event::parse(line).unwrap())
            .find(|e| matches!(e, Event::Leave(l) if l.n == 8))
        else {
            panic!("the sample has no leave line for switch 8")
        };
        assert_eq!(last["name"], "coroutine2 runs");
        assert_eq!(last["args"]["rsp on leaving"], hex(left.rsp).as_str());
        assert_eq!(last["args"]["left for"], "#8, but no switch line followed");
        // Every slice that a switch ended says the RSP its routine left at.
        assert!(
            slices[..slices.len() - 1]
                .iter()
                .all(|s| s["args"]["rsp on leaving"].is_string())
        );
        assert!(trace_of("")[0]["name"] == "process_name");
    }

    #[test]
    fn a_fault_is_the_last_event_on_the_faulting_thread() {
        let events = trace_of(FAULT);
        let last = events.last().unwrap();
        assert_eq!(last["ph"], "i");
        assert!(
            last["name"]
                .as_str()
                .unwrap()
                .starts_with("fault: coroutine1 overflowed")
        );
        assert_eq!(last["tid"], 2);
        // Past the bottom only if the faulting RSP was below it.
        let parsed: Vec<Event<'_>> = FAULT.lines().map(|l| Event::parse(l).unwrap()).collect();
        let bottom = parsed
            .iter()
            .find_map(|e| match e {
                Event::Routine(r) if r.id == 1 => Some(r.bottom),
                _ => None,
            })
            .unwrap();
        let rsp = parsed
            .iter()
            .find_map(|e| match e {
                Event::Fault { rsp, .. } => Some(*rsp),
                _ => None,
            })
            .unwrap();
        let below = if rsp < bottom {
            json!(bottom - rsp)
        } else {
            Value::Null
        };
        assert_eq!(last["args"]["bytes below the stack's bottom"], below);
        let latest = events.iter().filter_map(|e| e["ts"].as_u64()).max();
        assert_eq!(last["ts"].as_u64(), latest);
        let slices = phase(&events, "X");
        assert_eq!(slices.len(), 6);
        assert_eq!(slices.last().unwrap()["args"]["out"], "fault");
    }
}
