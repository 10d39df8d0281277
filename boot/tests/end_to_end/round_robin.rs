//! Boots the `round_robin` test kernel: eight coroutines of one roster,
//! resumed in turn by main until each has yielded three times and returned.
//! The kernel itself checks that each coroutine's total, kept on its own
//! stack, survives every suspension (it panics otherwise); this test checks
//! the exit and, from the event lines, the order of the switches and the
//! stack of every RSP.

use crate::common;

use common::KernelCopy;
use common::events::boot_with_events;
use protocol::event::{Id, Kind};

const COROUTINES: Id = 8;
const ROUNDS: u64 = 3;

#[test]
fn eight_coroutines_take_turns_on_their_own_stacks() {
    let kernel = KernelCopy::new("round_robin");
    let run = {
        let _sharing = common::sharing_the_machine();
        boot_with_events(kernel.elf(), &[])
    };
    let dump = run.dump();
    assert!(run.output.status.success(), "{dump}");
    let routines = run.routines();
    assert_eq!(routines.len(), COROUTINES as usize + 1, "{dump}");
    for (i, r) in routines.iter().enumerate().skip(1) {
        assert_eq!(r.name, format!("coroutine{i}"), "{dump}");
        assert_eq!(r.stack, format!("coroutine{i}_stack"), "{dump}");
        assert_eq!(r.slot, format!("coro{i}_context"), "{dump}");
        assert_eq!(r.top - r.bottom, 4096, "{dump}");
    }
    // No two stacks overlap, guard pages included (one page below each).
    let mut spans: Vec<(u64, u64)> = routines[1..]
        .iter()
        .map(|r| (r.bottom - 4096, r.top))
        .collect();
    spans.sort();
    assert!(spans.windows(2).all(|w| w[0].1 <= w[1].0), "{spans:x?}");

    // Round-robin: main resumes 1, 2, ..., 8, again and again; each resume
    // is answered by that coroutine, with a yield (3 times) then its finish.
    let switches = run.switches();
    let mut expected = Vec::new();
    for round in 0..=ROUNDS {
        for id in 1..=COROUTINES {
            let back = if round < ROUNDS {
                Kind::Yield
            } else {
                Kind::Finish
            };
            expected.push((Kind::Resume, 0, id));
            expected.push((back, id, 0));
        }
    }
    let seen: Vec<(Kind, Id, Id)> = switches.iter().map(|s| (s.kind, s.from, s.to)).collect();
    assert_eq!(seen, expected, "{dump}");

    // Each switch with its `leave` line, which names the routine that left.
    for (left, s) in &run.handovers() {
        let to = &routines[s.to as usize];
        let from = &routines[s.from as usize];
        assert!(to.holds(s.rsp) && to.holds(s.loaded), "#{}: {dump}", s.n);
        assert!(from.holds(left.rsp), "#{}: {dump}", s.n);
        // Each yield hands main the coroutine's running total:
        // 1000 * N + 1 + 2 + ... + round.
        if s.kind == Kind::Yield {
            let yields_before = switches
                .iter()
                .filter(|t| t.n < s.n && t.kind == Kind::Yield && t.from == s.from)
                .count() as u64;
            let round = yields_before + 1;
            let total = 1000 * u64::from(s.from) + round * (round + 1) / 2;
            assert_eq!(s.value, Some(total), "#{}: {dump}", s.n);
        }
    }
}
