//! The event-line parser (`protocol::event`), here rather than in its own
//! crate, which is built optimised for the kernel: proptest's generic code
//! takes far longer to compile optimised. Any line, and real lines edited,
//! either read back as an event or are refused with a one-line reason; any
//! event the kernel can write reads back as itself.

use proptest::prelude::*;
use protocol::ExitCode;
use protocol::event::{Event, Id, Kind, Leave, Routine, Switch};

/// Lines as the kernel writes them, one of each event.
const REAL: [&str; 7] = [
    "routine id=1 name=coroutine1 stack=coroutine1_stack bottom=0xffffffff80013000 top=0xffffffff80014000 slot=coro1_context slot_addr=0xffffffff80012008",
    "phase number=2 title=the fix (resume and yield)",
    "leave n=5 from=0 rsp=0x0000010000010cf0",
    "switch n=5 kind=resume from=0 to=1 value=1 stored=0x0000010000010cd8 loaded=0xffffffff80013fc8 rsp=0xffffffff80013e20 tsc=123456",
    "high_water id=1 bytes=1648 size=4096",
    "fault who=1 switch=5 rsp=0xffffffff80012ff8 tsc=123999 what=coroutine1 overflowed its 4096-byte stack",
    "exit code=success switches=18 tsc=130000",
];

/// One edit of a line, at a place given as a fraction of its length.
#[derive(Debug, Clone)]
enum Edit {
    Insert(f64, char),
    Remove(f64),
    Replace(f64, char),
    Cut(f64),
    /// A copy of a piece of the line put elsewhere in it.
    Repeat(f64, f64, f64),
}

/// Characters that matter to the parser, and any other.
fn a_char() -> impl Strategy<Value = char> {
    prop_oneof![
        prop::sample::select(&[' ', '=', '-', '0', '9', 'x', 'f', '\r', '\n', '\0'][..]),
        any::<char>(),
    ]
}

fn an_edit() -> impl Strategy<Value = Edit> {
    let at = 0.0..1.0f64;
    prop_oneof![
        (at.clone(), a_char()).prop_map(|(at, c)| Edit::Insert(at, c)),
        at.clone().prop_map(Edit::Remove),
        (at.clone(), a_char()).prop_map(|(at, c)| Edit::Replace(at, c)),
        at.clone().prop_map(Edit::Cut),
        (at.clone(), at.clone(), at).prop_map(|(a, b, c)| Edit::Repeat(a, b, c)),
    ]
}

/// `line` with `edits` made, in order.
fn edited(line: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = line.chars().collect();
    let place = |len: usize, at: f64| ((len as f64) * at) as usize;
    for edit in edits {
        let len = chars.len();
        match *edit {
            Edit::Insert(at, c) => chars.insert(place(len + 1, at).min(len), c),
            Edit::Remove(at) if len > 0 => {
                chars.remove(place(len, at).min(len - 1));
            }
            Edit::Replace(at, c) if len > 0 => chars[place(len, at).min(len - 1)] = c,
            Edit::Cut(at) => chars.truncate(place(len, at)),
            Edit::Repeat(from, to, at) => {
                let (a, b) = (place(len, from), place(len, to));
                let piece: Vec<char> = chars[a.min(b)..a.max(b)].to_vec();
                let at = place(len, at).min(len);
                chars.splice(at..at, piece);
            }
            _ => {}
        }
    }
    chars.into_iter().collect()
}

/// Parses `line`: an event, or a reason on one line.
fn parses_or_says_why(line: &str) -> Result<(), TestCaseError> {
    if let Err(error) = Event::parse(line) {
        let reason = error.to_string();
        prop_assert!(!reason.is_empty() && !reason.contains('\n'), "{reason:?}");
    }
    Ok(())
}

/// A name as the kernel writes one: a single word.
fn a_word() -> impl Strategy<Value = String> {
    "[^ \r\n]{0,12}"
}

/// Free text: anything on one line that does not end in `\r` (which a
/// reader takes for the end of a CRLF line).
fn a_sentence() -> impl Strategy<Value = String> {
    "[^\r\n]{0,40}"
}

fn a_kind() -> impl Strategy<Value = Kind> {
    prop::sample::select(Kind::ALL.to_vec())
}

fn a_code() -> impl Strategy<Value = ExitCode> {
    prop::sample::select(ExitCode::ALL.to_vec())
}

/// Every field's value; the names and sentences are owned by the test
/// and borrowed by the event.
#[derive(Debug, Clone)]
struct Values {
    which: u8,
    words: [String; 3],
    sentence: String,
    ids: [Id; 2],
    numbers: [u64; 5],
    maybe: [Option<u64>; 1],
    kind: Kind,
    code: ExitCode,
}

fn values() -> impl Strategy<Value = Values> {
    (
        0..7u8,
        [a_word(), a_word(), a_word()],
        a_sentence(),
        any::<[Id; 2]>(),
        any::<[u64; 5]>(),
        any::<[Option<u64>; 1]>(),
        a_kind(),
        a_code(),
    )
        .prop_map(
            |(which, words, sentence, ids, numbers, maybe, kind, code)| Values {
                which,
                words,
                sentence,
                ids,
                numbers,
                maybe,
                kind,
                code,
            },
        )
}

impl Values {
    fn event(&self) -> Event<'_> {
        let [a, b, c, d, e] = self.numbers;
        let [id, other] = self.ids;
        let [name, stack, slot] = &self.words;
        match self.which {
            0 => Event::Routine(Routine {
                id,
                name,
                stack,
                bottom: a,
                top: b,
                slot,
                slot_addr: c,
            }),
            1 => Event::Phase {
                number: id,
                title: &self.sentence,
            },
            2 => Event::Leave(Leave {
                n: a,
                from: id,
                rsp: b,
            }),
            3 => Event::Switch(Switch {
                n: a,
                kind: self.kind,
                from: id,
                to: other,
                value: self.maybe[0],
                stored: self.kind.leaving().writes_slot().then_some(b),
                loaded: c,
                rsp: d,
                tsc: e,
            }),
            4 => Event::HighWater {
                id,
                bytes: a,
                size: b,
            },
            5 => Event::Fault {
                who: id,
                switch: a,
                rsp: b,
                tsc: c,
                what: &self.sentence,
            },
            _ => Event::Exit {
                code: self.code,
                switches: a,
                tsc: b,
            },
        }
    }
}

proptest! {
    #[test]
    fn any_line_is_an_event_or_a_reason(line in any::<String>()) {
        parses_or_says_why(&line)?;
    }

    #[test]
    fn a_line_of_event_words_is_an_event_or_a_reason(
        line in "(routine|phase|leave|switch|high_water|fault|exit)( [a-z_]{1,9}=[-0-9a-fx]{0,20}){0,10}",
    ) {
        parses_or_says_why(&line)?;
    }

    #[test]
    fn a_real_line_edited_is_an_event_or_a_reason(
        line in prop::sample::select(REAL.to_vec()),
        edits in prop::collection::vec(an_edit(), 1..6),
    ) {
        parses_or_says_why(&edited(line, &edits))?;
    }

    #[test]
    fn any_event_written_reads_back_as_itself(values in values()) {
        let event = values.event();
        let line = event.to_string();
        prop_assert_eq!(Event::parse(&line), Ok(event), "{}", line);
    }
}
