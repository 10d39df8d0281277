//! Boots the real coroutine kernel under QEMU and checks its transcript: the
//! steps of both phases in order, and invariants read from the numbers it
//! prints (every RSP inside the stack it should be in, main's RSP restored,
//! each saved slot where the switch must have put it).

mod common;

use common::{dec_after, hex_after};
use std::process::Command;

/// The kernel's serial lines, without the `[INFO ] ` prefix.
fn boot_transcript() -> Vec<String> {
    let output = Command::new(env!("CARGO_BIN_EXE_boot"))
        .arg(common::kernel("kernel"))
        .args(["--timeout", "60"])
        .output()
        .expect("run boot");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "the kernel did not exit with success: {:?}\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("[INFO ] "))
        .map(str::to_owned)
        .collect()
}

/// Who printed the line (`main`, `coroutine1`, `coroutine2`) and the rest.
fn speaker(line: &str) -> Option<(&str, &str)> {
    let (who, rest) = line.split_once(" | ")?;
    Some((who.trim(), rest))
}

/// `[bottom, top)` from a line `stack NAME [0x..., 0x...)`.
fn bounds(lines: &[String], name: &str) -> (u64, u64) {
    let prefix = format!("stack {name} ");
    let line = lines
        .iter()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no bounds for {name}"));
    let (bottom, top) = line.split_once(", ").expect("bounds line");
    (hex_after(bottom, "["), hex_after(top, ""))
}

/// The steps the program must take, one string per event, computed from what
/// `kernel/src/main.rs` is specified to do: phase 1 calls each coroutine
/// function once; phase 2 resumes the two coroutines alternately with 1, 2,
/// 3, ...; each yields its counter (coroutine2: its square) for 3 rounds and
/// returns the sum of the values it received.
fn expected_steps() -> Vec<String> {
    let mut steps = Vec::new();
    let mut switch = 0;
    for k in 1..=2u64 {
        switch += 1;
        steps.push(format!("main #{switch} switch_to_coro{k}"));
        steps.push(format!("coroutine{k} func"));
        switch += 1;
        steps.push(format!("main #{switch} back from coroutine{k} rax={k}"));
    }
    let (mut counters, mut sums, mut done) = ([0u64; 2], [0u64; 2], [false; 2]);
    let mut value = 0;
    while done.contains(&false) {
        for i in 0..2 {
            if done[i] {
                continue;
            }
            let name = format!("coroutine{}", i + 1);
            value += 1;
            switch += 1;
            steps.push(format!("main #{switch} resume {name} with {value}"));
            sums[i] += value;
            if counters[i] < 3 {
                counters[i] += 1;
                let c = counters[i];
                steps.push(format!("{name} round {c} received {value}"));
                let yielded = if i == 0 { c } else { c * c };
                switch += 1;
                steps.push(format!("{name} #{switch} yield {yielded}"));
                steps.push(format!("main {name} yielded {yielded}"));
            } else {
                steps.push(format!("{name} return {}", sums[i]));
                steps.push(format!("main {name} returned {}", sums[i]));
                done[i] = true;
            }
        }
    }
    steps
}

/// The same events, read from the transcript (addresses left out).
fn observed_steps(lines: &[String]) -> Vec<String> {
    let mut steps = Vec::new();
    for line in lines {
        let Some((who, rest)) = speaker(line) else {
            continue;
        };
        let first_word = |s: &str| s.split([' ', ':', ',']).next().unwrap_or("").to_owned();
        let step = if rest.starts_with('#') {
            // "#N switch_to_coroK: ...", "#N back from coroutineK: rax=R, ...",
            // "#N resume NAME with V, ...", "#N yield V to main"
            let words: Vec<&str> = rest
                .split([' ', ':', ','])
                .filter(|w| !w.is_empty())
                .collect();
            match words.get(1).copied() {
                Some("back") => format!("{who} {} back from {} {}", words[0], words[3], words[4]),
                Some("resume") => {
                    format!("{who} {} resume {} with {}", words[0], words[2], words[4])
                }
                Some("yield") => format!("{who} {} yield {}", words[0], words[2]),
                _ => format!(
                    "{who} {} {}",
                    words[0],
                    first_word(&rest[words[0].len() + 1..])
                ),
            }
        } else if rest.starts_with("coroutine") && rest.contains("_func") {
            format!("{who} func")
        } else if rest.starts_with("round ") {
            format!(
                "{who} round {} received {}",
                dec_after(rest, "round "),
                dec_after(rest, "received ")
            )
        } else if rest.starts_with("done after") {
            format!("{who} return {}", dec_after(rest, "return "))
        } else if let Some(v) = rest.split_once(" yielded ") {
            format!("{who} {} yielded {}", v.0, v.1)
        } else if let Some(v) = rest.split_once(" returned ") {
            format!("{who} {} returned {}", v.0, dec_after(v.1, ""))
        } else {
            continue;
        };
        steps.push(step);
    }
    steps
}

#[test]
fn both_phases_take_their_steps_in_order_and_the_numbers_hold() {
    let lines = boot_transcript();

    // The steps, in order.
    assert_eq!(
        observed_steps(&lines),
        expected_steps(),
        "transcript:\n{}",
        lines.join("\n")
    );

    let main_stack = bounds(&lines, "main stack");
    let stacks = [
        bounds(&lines, "COROUTINE1_STACK"),
        bounds(&lines, "COROUTINE2_STACK"),
    ];
    for (bottom, top) in stacks {
        assert_eq!(top - bottom, 4096, "coroutine stacks are 4096 bytes");
        assert_eq!(top % 16, 0, "stack tops are 16-byte aligned");
    }
    let inside = |(bottom, top): (u64, u64), rsp: u64| bottom <= rsp && rsp <= top;

    let mut last_main_rsp = None;
    let mut phase2 = false;
    let mut checked = [0; 4];
    for line in &lines {
        if line.starts_with("== phase 2") {
            phase2 = true;
        }
        let Some((who, rest)) = speaker(line) else {
            continue;
        };
        let own_stack = match who {
            "main" => main_stack,
            "coroutine1" => stacks[0],
            "coroutine2" => stacks[1],
            other => panic!("unknown speaker {other:?} in {line:?}"),
        };
        // 1. Every RSP a routine logs lies inside its own stack.
        if rest.contains("RSP=") {
            let rsp = hex_after(rest, "RSP=");
            assert!(
                inside(own_stack, rsp),
                "{who}'s RSP {rsp:#x} outside its stack: {line}"
            );
            checked[0] += 1;
        }
        // 2. main's RSP after a switch back equals its RSP before.
        if who == "main" && rest.contains("RSP=") {
            let rsp = hex_after(rest, "RSP=");
            if rest.contains("switch_to_coro") || rest.contains(" resume ") {
                last_main_rsp = Some(rsp);
            } else {
                assert_eq!(Some(rsp), last_main_rsp, "main's RSP not restored: {line}");
                assert!(rest.ends_with("restored"), "{line}");
                checked[1] += 1;
            }
        }
        // 3. While a coroutine runs, MAIN_CONTEXT holds main's RSP as the
        //    switch left it: below the return address of `call
        //    switch_to_coroN` in phase 1; below the continue address and the
        //    rbp and rbx that `switch_into` saves in phase 2.
        if who != "main" && rest.starts_with("slots ") {
            let saved = hex_after(rest, "MAIN_CONTEXT=");
            let pushed = if phase2 { 8 + 2 * 8 } else { 8 };
            assert_eq!(Some(saved + pushed), last_main_rsp, "MAIN_CONTEXT: {line}");
            checked[2] += 1;
        }
        // 4. Back in main after a yield, the coroutine's slot points into
        //    its own stack; after it returned, the slot is empty.
        if who == "main" && phase2 && rest.starts_with("slots ") {
            for (i, key) in ["CORO1_CONTEXT=", "CORO2_CONTEXT="].iter().enumerate() {
                let slot = hex_after(rest, key);
                assert!(
                    slot == 0 || inside(stacks[i], slot),
                    "{key} {slot:#x}: {line}"
                );
            }
            checked[3] += 1;
        }
    }
    // Each kind of check ran, more than once.
    assert!(checked.iter().all(|&n| n >= 2), "checks run: {checked:?}");

    // The summary: the switch count matches the numbered steps, the
    // high-water marks are plausible, and the kernel said it finished.
    let numbered = lines
        .iter()
        .filter_map(|l| speaker(l))
        .filter(|(_, rest)| rest.starts_with('#'))
        .count() as u64;
    let summary = |key: &str| {
        lines
            .iter()
            .find(|l| l.starts_with(key))
            .unwrap_or_else(|| panic!("no summary line {key:?}"))
    };
    assert_eq!(
        dec_after(summary("switches made: "), "switches made: "),
        numbered
    );
    for name in ["coroutine1", "coroutine2"] {
        let line = summary(&format!("{name} stack high-water mark: "));
        let used = dec_after(line, "mark: ");
        assert!(used > 88 && used < 4096, "{line}");
    }
    assert!(summary("cycles per switch: ").contains("EMULATED"));
    assert_eq!(
        lines.last().map(String::as_str),
        Some("all coroutines finished: exiting with success")
    );
}
