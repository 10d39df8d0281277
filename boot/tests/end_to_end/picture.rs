//! `--trace FILE.json` and `--svg FILE.svg` on real runs: the coroutine
//! kernel's, and a fault kernel's whose run ends in the fault. What is
//! checked is read from the files and compared with the run's own event
//! lines (`--events`), never with a stored copy.

use crate::common;

use clap::Parser;
use common::KernelCopy;
use common::events::Run;
use protocol::event::{Event, Leaving, Routine};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// One boot with all three outputs.
struct Pictured {
    run: Run,
    trace: Vec<Value>,
    svg: String,
}

fn boot_pictured(kernel: &str) -> Pictured {
    let kernel = KernelCopy::new(kernel);
    let dir = tempfile::tempdir().expect("scratch directory");
    let path = |name: &str| dir.path().join(name);
    let sharing = common::sharing_the_machine();
    let output = Command::new(env!("CARGO_BIN_EXE_boot"))
        .arg(kernel.elf())
        .args(["--timeout", "60"])
        .arg("--events")
        .arg(path("run.events"))
        .arg("--trace")
        .arg(path("run.json"))
        .arg("--svg")
        .arg(path("run.svg"))
        .output()
        .expect("run boot");
    drop(sharing);
    let read =
        |p: &Path| std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let run = Run {
        output,
        text: read(&path("run.events")),
    };
    let json: Value = serde_json::from_str(&read(&path("run.json")))
        .unwrap_or_else(|e| panic!("the trace is not JSON: {e}\n{}", run.dump()));
    let trace = json["traceEvents"]
        .as_array()
        .unwrap_or_else(|| panic!("no traceEvents array: {json}"))
        .clone();
    Pictured {
        run,
        trace,
        svg: read(&path("run.svg")),
    }
}

fn of_phase<'a>(trace: &'a [Value], ph: &str) -> Vec<&'a Value> {
    trace.iter().filter(|e| e["ph"] == ph).collect()
}

/// The thread ids the trace gives each routine, by name.
fn threads(trace: &[Value]) -> Vec<(String, u64)> {
    of_phase(trace, "M")
        .into_iter()
        .filter(|e| e["name"] == "thread_name")
        .map(|e| {
            (
                e["args"]["name"].as_str().expect("thread name").to_owned(),
                e["tid"].as_u64().expect("tid"),
            )
        })
        .collect()
}

/// Checks every counter value against the stack it is named after.
fn counters_lie_inside_their_stacks(trace: &[Value], routines: &[Routine<'_>]) {
    let counters = of_phase(trace, "C");
    assert!(!counters.is_empty(), "no counters");
    for c in counters {
        let stack = c["name"].as_str().expect("counter name");
        let routine = routines
            .iter()
            .find(|r| r.stack == stack)
            .unwrap_or_else(|| panic!("counter {stack} names no stack"));
        let depth = c["args"]["bytes below top"].as_u64().expect("depth");
        assert!(depth <= routine.top - routine.bottom, "{c}");
    }
}

#[test]
fn the_kernel_run_as_a_trace_and_a_picture() {
    let p = boot_pictured("kernel");
    let dump = p.run.dump();
    assert!(p.run.output.status.success(), "{dump}");
    let routines = p.run.routines();
    let switches = p.run.switches();
    let Some(Event::Exit { switches: made, .. }) = p.run.events().last().copied() else {
        panic!("no exit event: {dump}");
    };
    assert_eq!(made, switches.len() as u64, "{dump}");

    // A thread per routine.
    let names: Vec<String> = threads(&p.trace).into_iter().map(|(n, _)| n).collect();
    let expected: Vec<String> = routines.iter().map(|r| r.name.to_owned()).collect();
    assert_eq!(names, expected);

    // The run slices cover every switch: one stretch before the first and
    // one after each, back to back, each on the thread of the routine the
    // switch brought in.
    let tid_of = |id: u32| {
        threads(&p.trace)
            .into_iter()
            .find(|(n, _)| *n == routines[id as usize].name)
            .map(|(_, t)| t)
            .expect("thread")
    };
    let slices = of_phase(&p.trace, "X");
    assert_eq!(slices.len() as u64, made + 1, "one slice per stretch");
    for pair in slices.windows(2) {
        let end = pair[0]["ts"].as_u64().unwrap() + pair[0]["dur"].as_u64().unwrap();
        assert_eq!(end, pair[1]["ts"].as_u64().unwrap(), "slices back to back");
    }
    assert_eq!(
        slices[0]["tid"].as_u64(),
        Some(tid_of(0)),
        "main runs first"
    );
    for (slice, switch) in slices[1..].iter().zip(&switches) {
        assert_eq!(
            slice["tid"].as_u64(),
            Some(tid_of(switch.to)),
            "#{}",
            switch.n
        );
    }
    // Every switch is marked, with a flow from the leaving thread.
    let marks = of_phase(&p.trace, "i")
        .into_iter()
        .filter(|e| e["cat"] == "switch")
        .count();
    let flows = of_phase(&p.trace, "s").len();
    assert_eq!((marks as u64, flows as u64), (made, made));
    counters_lie_inside_their_stacks(&p.trace, &routines);

    // The SVG is well-formed XML with a lane per routine and real text.
    let svg = roxmltree::Document::parse(&p.svg).expect("the SVG is well-formed XML");
    let lanes: Vec<&str> = svg
        .descendants()
        .filter(|n| n.attribute("class") == Some("lane"))
        .filter_map(|n| n.attribute("data-routine"))
        .collect();
    assert_eq!(
        lanes,
        expected.iter().map(String::as_str).collect::<Vec<_>>()
    );
    let texts: Vec<&str> = svg
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .collect();
    assert!(texts.contains(&"coroutine1_stack"), "{texts:?}");

    // For every switch, the arrow and the words under it say the same, and
    // what they say is the protocol's rule for the switch's kind.
    let arrows: Vec<(u64, String)> = svg
        .descendants()
        .filter(|n| n.attribute("class") == Some("switch"))
        .map(|g| {
            let n = g
                .attribute("data-n")
                .and_then(|n| n.parse().ok())
                .expect("data-n");
            let line = g
                .children()
                .find(|c| c.has_tag_name("line"))
                .expect("a line");
            (n, line.attribute("class").expect("class").to_owned())
        })
        .collect();
    let labels: Vec<(u64, String, &str)> = svg
        .descendants()
        .filter(|n| n.has_tag_name("text") && n.attribute("data-n").is_some())
        .map(|t| {
            let n = t
                .attribute("data-n")
                .and_then(|n| n.parse().ok())
                .expect("data-n");
            (
                n,
                t.attribute("class").expect("class").to_owned(),
                t.text().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(arrows.len(), switches.len());
    assert_eq!(labels.len(), switches.len());
    for ((switch, (n, arrow)), (label_n, label, words)) in switches.iter().zip(&arrows).zip(&labels)
    {
        assert_eq!((*n, *label_n), (switch.n, switch.n));
        let meaning = match switch.kind.leaving() {
            Leaving::Saved => "saved",
            Leaving::Lost => "lost",
            Leaving::Emptied => "emptied",
        };
        assert_eq!(arrow, &format!("arrow {meaning}"), "#{n}");
        assert_eq!(label, &format!("slot {meaning}"), "#{n}");
        assert!(words.starts_with(switch.kind.as_str()), "#{n}: {words}");
        let worded = match switch.kind.leaving() {
            Leaving::Saved => words.ends_with(routines[switch.from as usize].slot),
            Leaving::Lost => words.ends_with("saved nowhere"),
            Leaving::Emptied => words.ends_with("emptied"),
        };
        assert!(worded, "#{n} {meaning}: {words}");
    }

    // The same run's event file cut in the middle of a line, as a run
    // killed while the kernel wrote it leaves it: the tool's own saving
    // path still draws a trace and a picture, of the switches before the
    // cut.
    let text = p.run.text.clone();
    let tenth = text.find(" n=10 ").expect("a tenth switch");
    let dir = tempfile::tempdir().expect("scratch directory");
    let (events, json, picture) = (
        dir.path().join("cut.events"),
        dir.path().join("cut.json"),
        dir.path().join("cut.svg"),
    );
    std::fs::write(&events, &text[..tenth + " n=10 kind=".len()]).expect("write");
    let args = boot::cli::Args::try_parse_from([
        "boot",
        "--trace",
        json.to_str().unwrap(),
        "--svg",
        picture.to_str().unwrap(),
    ])
    .expect("arguments");
    let cut = boot::outputs::read(&events).expect("read the cut file");
    boot::outputs::save_outputs(&cut, &args.outputs()).unwrap_or_else(|e| panic!("{e}: {dump}"));
    let trace: Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("the trace")).expect("JSON");
    let slices = trace["traceEvents"]
        .as_array()
        .expect("traceEvents")
        .iter()
        .filter(|e| e["ph"] == "X")
        .count();
    assert_eq!(slices, 10, "switches 1 to 9 and the stretch before them");
    let picture = std::fs::read_to_string(&picture).expect("the picture");
    let picture = roxmltree::Document::parse(&picture).expect("well-formed");
    assert_eq!(
        picture
            .descendants()
            .filter(|n| n.attribute("class") == Some("switch"))
            .count(),
        9
    );
}

#[test]
fn a_fault_kernel_trace_ends_with_the_fault() {
    let p = boot_pictured("fault_stack_overflow");
    let dump = p.run.dump();
    assert_eq!(p.run.output.status.code(), Some(1), "{dump}");
    let fault = p
        .run
        .events()
        .iter()
        .find_map(|e| match *e {
            Event::Fault { who, what, .. } => Some((who, what.to_owned())),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no fault event: {dump}"));
    assert!(
        fault
            .1
            .starts_with("coroutine1 overflowed its 4096-byte stack"),
        "{dump}"
    );

    // The last event of the trace, and the latest in time, is the fault, on
    // the thread of the routine that ran.
    let last = p.trace.last().expect("a trace");
    assert_eq!(last["ph"], "i", "{last}");
    assert!(
        last["name"].as_str().unwrap_or("").contains(&fault.1[..20]),
        "{last}"
    );
    let latest = p.trace.iter().filter_map(|e| e["ts"].as_u64()).max();
    assert_eq!(last["ts"].as_u64(), latest);
    let tid = threads(&p.trace)
        .into_iter()
        .find(|(n, _)| n == "coroutine1")
        .map(|(_, t)| t);
    assert_eq!(last["tid"].as_u64(), tid, "{last}");
    counters_lie_inside_their_stacks(&p.trace, &p.run.routines());

    // The picture shows the fault.
    let svg = roxmltree::Document::parse(&p.svg).expect("the SVG is well-formed XML");
    assert!(
        svg.descendants()
            .any(|n| n.attribute("class") == Some("fault")),
        "no fault mark in the SVG"
    );
}
