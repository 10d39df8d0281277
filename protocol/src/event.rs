//! The event lines: what happened, in a form a program can read.
//!
//! The kernel writes one line per event to [`COM2`](crate::COM2); the host
//! tool saves them (QEMU's second `-serial`), turns them into a Chrome Trace
//! Event file and an SVG, and the tests read them instead of the prose of the
//! transcript on COM1, which stays free to be reworded.
//!
//! A line is a word naming the event, then `key=value` fields separated by
//! single spaces; numbers are decimal, addresses `0x`-hex, `-` is "none".
//! [`Event`]'s `Display` writes a line (without the newline) and
//! [`Event::parse`] reads one back; neither allocates, so the kernel can
//! write events from a coroutine's 4096-byte stack and from fault handlers.
//!
//! ```text
//! routine id=1 name=coroutine1 stack=coroutine1_stack bottom=0xffffffff80013000 top=0xffffffff80014000 slot=coro1_context slot_addr=0xffffffff80012008
//! leave n=5 from=0 rsp=0x0000010000010cf0
//! switch n=5 kind=resume from=0 to=1 value=1 stored=0x0000010000010cd8 loaded=0xffffffff80013fc8 rsp=0xffffffff80013e20 tsc=123456
//! high_water id=1 bytes=1648 size=4096
//! fault who=1 switch=5 rsp=0xffffffff80012ff8 tsc=123999 what=coroutine1 overflowed its 4096-byte stack
//! exit code=success switches=18 tsc=130000
//! ```
//!
//! Names (of routines, stacks, slots) are single words: a space would end
//! the field. Routines are numbered: 0 is main, then the coroutines in the order the
//! kernel's roster lists them. A `routine` line for each comes before any
//! `leave` or `switch` line that names it. The free-text field of `phase` and `fault`
//! comes last and runs to the end of the line.
//!
//! A switch has two sides on two stacks, and each writes what it saw: the
//! routine that leaves writes a `leave` line (its RSP) just before it
//! switches, the one that arrives a `switch` line right after, with the same
//! number `n`. Nothing passes from one side to the other but the value the
//! switch hands across in rax, which belongs to the program; a reader joins
//! the two lines by their number. A `leave` with no `switch` after it is a
//! switch that never arrived: the run stopped in the middle of it.
//!
//! Which slots a switch writes and reads follows from its [`Kind`] (see
//! [`Kind::leaving`] and [`Kind::reads_slot_of`]), so a `switch` line does
//! not repeat them; it records what the slots held afterwards, which the
//! tests check against the RSPs.

use crate::ExitCode;
use core::fmt;

/// A routine's number: 0 is main, 1.. the coroutines.
pub type Id = u32;

/// How control moved from one routine to another.
///
/// What each kind does with the two context slots is defined here once
/// ([`Kind::leaving`], [`Kind::reads_slot_of`]): the kernel records its
/// switches by it, and the trace, the picture and the tests read them by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The original program's switch: main's RSP saved in main's slot, the
    /// coroutine's slot loaded, and the coroutine function *called* there.
    Call,
    /// The original program's way back: the coroutine function returned and
    /// main reloaded RSP from its slot. Nothing saved the coroutine's RSP:
    /// it cannot be resumed (the flaw of the original).
    Return,
    /// main resumed a coroutine: main's RSP saved in main's slot.
    Resume,
    /// A coroutine yielded to main: its RSP saved in its own slot.
    Yield,
    /// A coroutine's body returned: its slot was emptied (0, "finished") and
    /// it switched back for the last time, saving nothing.
    Finish,
}

/// What a switch does with the leaving routine's context slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leaving {
    /// The leaving routine's RSP is saved in its slot: a later switch can
    /// load it and carry on where it left.
    Saved,
    /// Nothing is written: the leaving routine's RSP is saved nowhere, so it
    /// cannot be resumed (the original's `return`: its flaw).
    Lost,
    /// The slot is emptied (set to 0): the coroutine finished and there is
    /// nothing left to resume.
    Emptied,
}

impl Leaving {
    /// Whether the switch writes the leaving routine's slot (its RSP, or 0).
    pub const fn writes_slot(self) -> bool {
        !matches!(self, Leaving::Lost)
    }

    /// A few words for it, as the picture's legend, labels and the trace
    /// say it.
    pub const fn meaning(self) -> &'static str {
        match self {
            Leaving::Saved => "the leaving RSP saved in its slot",
            Leaving::Lost => "the leaving RSP saved nowhere (the original's flaw)",
            Leaving::Emptied => "the finished coroutine's slot emptied, nothing saved",
        }
    }
}

impl Kind {
    /// Every kind, for parsing and for tests.
    pub const ALL: [Kind; 5] = [
        Kind::Call,
        Kind::Return,
        Kind::Resume,
        Kind::Yield,
        Kind::Finish,
    ];

    /// The word used in event lines.
    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::Call => "call",
            Kind::Return => "return",
            Kind::Resume => "resume",
            Kind::Yield => "yield",
            Kind::Finish => "finish",
        }
    }

    /// What this kind of switch does with the leaving routine's slot: call,
    /// resume and yield save its RSP there (a call leaves main, so it is
    /// main's slot); return writes nothing; finish empties it.
    pub const fn leaving(self) -> Leaving {
        match self {
            Kind::Call | Kind::Resume | Kind::Yield => Leaving::Saved,
            Kind::Return => Leaving::Lost,
            Kind::Finish => Leaving::Emptied,
        }
    }

    /// Whose slot the switch writes, when `from` leaves: `from`'s, unless
    /// the switch writes nothing.
    pub const fn writes_slot_of(self, from: Id) -> Option<Id> {
        if self.leaving().writes_slot() {
            Some(from)
        } else {
            None
        }
    }

    /// Whose slot the switch loads RSP from, when `to` arrives: every kind
    /// loads the arriving routine's own slot.
    pub const fn reads_slot_of(self, to: Id) -> Id {
        to
    }
}

/// One switch, as seen by the routine about to leave: it writes the event
/// just before it switches, so the RSP is the one the switch starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leave {
    /// The number of the switch it is about to make: the `n` of the
    /// [`Switch`] the arriving routine writes.
    pub n: u64,
    /// The routine that leaves.
    pub from: Id,
    /// Its RSP, where it last measured it (in the function that makes the
    /// switch).
    pub rsp: u64,
}

/// One switch, as seen by the routine it brought in (which writes the event
/// right after the switch, so both slots hold what the switch left there).
/// The leaving routine's side is its [`Leave`], with the same `n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Switch {
    /// The switch number, counted from 1 over the whole run.
    pub n: u64,
    /// How control moved.
    pub kind: Kind,
    /// The routine that left.
    pub from: Id,
    /// The routine that runs now.
    pub to: Id,
    /// The value handed across in rax, if the switch hands one: what main
    /// resumes with, what a coroutine yields or returns, what a phase 1
    /// coroutine function returns. The phase 1 `call` hands none.
    pub value: Option<u64>,
    /// What the leaving routine's slot holds after the switch, present
    /// exactly when the switch writes that slot
    /// ([`Leaving::writes_slot`]): the saved RSP, or 0 once emptied. Read
    /// from the slot, not derived: the tests check it against the RSP of the
    /// switch's [`Leave`].
    pub stored: Option<u64>,
    /// What the arriving routine's slot ([`Kind::reads_slot_of`]) holds
    /// after the switch: the RSP the switch loaded. Read from the slot, not
    /// derived: the tests check it against what was stored there before.
    pub loaded: u64,
    /// RSP of the arriving routine when it wrote this event.
    pub rsp: u64,
    /// The time-stamp counter when it wrote this event.
    pub tsc: u64,
}

/// A routine: its stack `[bottom, top)` and its context slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Routine<'a> {
    /// Its number.
    pub id: Id,
    /// Its name (`main`, `coroutine1`, ...).
    pub name: &'a str,
    /// Its stack's name (`coroutine1_stack`, as the symbol).
    pub stack: &'a str,
    /// The lowest address of its stack.
    pub bottom: u64,
    /// One past the highest: where its RSP starts.
    pub top: u64,
    /// Its context slot's name (`coro1_context`, as the symbol).
    pub slot: &'a str,
    /// The slot's address.
    pub slot_addr: u64,
}

impl Routine<'_> {
    /// The stack's size in bytes.
    pub fn size(&self) -> u64 {
        self.top.saturating_sub(self.bottom)
    }

    /// Whether `rsp` points into this stack. `top` counts as inside: it is
    /// an empty stack's RSP, as in the original's `coro1_context`.
    pub fn holds(&self, rsp: u64) -> bool {
        (self.bottom..=self.top).contains(&rsp)
    }
}

/// One event line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    /// A routine, its stack and its context slot.
    Routine(Routine<'a>),
    /// A part of the program starts (the kernel's "== phase 1 ..." lines).
    Phase {
        /// Its number.
        number: u32,
        /// What it is, free text.
        title: &'a str,
    },
    /// A routine is about to switch away: its side of a switch.
    Leave(Leave),
    /// Control moved from one routine to another: the arriving side.
    Switch(Switch),
    /// How many bytes of a routine's stack were ever used.
    HighWater {
        /// The routine.
        id: Id,
        /// Bytes below the top that were written.
        bytes: u64,
        /// The stack's size.
        size: u64,
    },
    /// A fault or a panic ended the run.
    Fault {
        /// The routine that was running.
        who: Id,
        /// The switches made before it.
        switch: u64,
        /// RSP when it happened (of the faulting code, as the CPU saved it).
        rsp: u64,
        /// The time-stamp counter when it was reported.
        tsc: u64,
        /// The sentence the kernel also prints on COM1, free text.
        what: &'a str,
    },
    /// The kernel is about to exit QEMU.
    Exit {
        /// What it writes to the exit device.
        code: ExitCode,
        /// The switches made in all.
        switches: u64,
        /// The time-stamp counter.
        tsc: u64,
    },
}

/// Writes `0x` and 16 hex digits, the width of every address in the
/// transcript.
struct Addr(u64);

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#018x}", self.0)
    }
}

/// `-` for none.
struct Opt<T>(Option<T>);

impl<T: fmt::Display> fmt::Display for Opt<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(value) => value.fmt(f),
            None => f.write_str("-"),
        }
    }
}

/// Writes ` key=value`. Out of line, one field at a time: formatting a whole
/// event in one `write!` put every variant's arguments in one stack frame of
/// about 1.7 KiB, on a coroutine's 4096-byte stack (measured with
/// `objdump`: `sub rsp, 0x6e8` in `Event::fmt`).
#[inline(never)]
fn field(f: &mut fmt::Formatter<'_>, key: &str, value: &dyn fmt::Display) -> fmt::Result {
    write!(f, " {key}={value}")
}

impl fmt::Display for Event<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Event::Routine(Routine {
                id,
                name,
                stack,
                bottom,
                top,
                slot,
                slot_addr,
            }) => {
                f.write_str("routine")?;
                field(f, "id", &id)?;
                field(f, "name", &name)?;
                field(f, "stack", &stack)?;
                field(f, "bottom", &Addr(bottom))?;
                field(f, "top", &Addr(top))?;
                field(f, "slot", &slot)?;
                field(f, "slot_addr", &Addr(slot_addr))
            }
            Event::Phase { number, title } => {
                f.write_str("phase")?;
                field(f, "number", &number)?;
                field(f, "title", &title)
            }
            Event::Leave(Leave { n, from, rsp }) => {
                f.write_str("leave")?;
                field(f, "n", &n)?;
                field(f, "from", &from)?;
                field(f, "rsp", &Addr(rsp))
            }
            Event::Switch(s) => {
                f.write_str("switch")?;
                field(f, "n", &s.n)?;
                field(f, "kind", &s.kind.as_str())?;
                field(f, "from", &s.from)?;
                field(f, "to", &s.to)?;
                field(f, "value", &Opt(s.value))?;
                field(f, "stored", &Opt(s.stored.map(Addr)))?;
                field(f, "loaded", &Addr(s.loaded))?;
                field(f, "rsp", &Addr(s.rsp))?;
                field(f, "tsc", &s.tsc)
            }
            Event::HighWater { id, bytes, size } => {
                f.write_str("high_water")?;
                field(f, "id", &id)?;
                field(f, "bytes", &bytes)?;
                field(f, "size", &size)
            }
            Event::Fault {
                who,
                switch,
                rsp,
                tsc,
                what,
            } => {
                f.write_str("fault")?;
                field(f, "who", &who)?;
                field(f, "switch", &switch)?;
                field(f, "rsp", &Addr(rsp))?;
                field(f, "tsc", &tsc)?;
                field(f, "what", &what)
            }
            Event::Exit {
                code,
                switches,
                tsc,
            } => {
                f.write_str("exit")?;
                field(f, "code", &code.word())?;
                field(f, "switches", &switches)?;
                field(f, "tsc", &tsc)
            }
        }
    }
}

/// Why a line is not an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseError {
    /// What was wrong, e.g. `missing field`.
    pub problem: &'static str,
    /// The field or word concerned.
    pub near: &'static str,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.problem, self.near)
    }
}

/// The `key=value` fields after the event's word, read in order.
struct Fields<'a> {
    rest: &'a str,
}

impl<'a> Fields<'a> {
    /// What follows `key=` at the start of the rest of the line.
    fn after(&self, key: &'static str) -> Result<&'a str, ParseError> {
        self.rest
            .strip_prefix(key)
            .and_then(|r| r.strip_prefix('='))
            .ok_or(ParseError {
                problem: "missing field",
                near: key,
            })
    }

    /// The next field, which must be `key`; its value.
    fn take(&mut self, key: &'static str) -> Result<&'a str, ParseError> {
        let rest = self.after(key)?;
        let end = rest.find(' ').unwrap_or(rest.len());
        self.rest = rest[end..].trim_start_matches(' ');
        Ok(&rest[..end])
    }

    /// The last field, `key`, whose value runs to the end of the line.
    fn take_rest(&mut self, key: &'static str) -> Result<&'a str, ParseError> {
        let rest = self.after(key)?;
        self.rest = "";
        Ok(rest)
    }

    fn number(&mut self, key: &'static str) -> Result<u64, ParseError> {
        let text = self.take(key)?;
        let parsed = match text.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => text.parse(),
        };
        parsed.map_err(|_| ParseError {
            problem: "not a number",
            near: key,
        })
    }

    fn id(&mut self, key: &'static str) -> Result<Id, ParseError> {
        Id::try_from(self.number(key)?).map_err(|_| ParseError {
            problem: "id too large",
            near: key,
        })
    }

    fn optional(&mut self, key: &'static str) -> Result<Option<u64>, ParseError> {
        if self
            .rest
            .strip_prefix(key)
            .and_then(|r| r.strip_prefix("=-"))
            .is_some_and(|r| r.is_empty() || r.starts_with(' '))
        {
            self.take(key)?;
            return Ok(None);
        }
        self.number(key).map(Some)
    }

    fn end(&self) -> Result<(), ParseError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(ParseError {
                problem: "unexpected text after the last field",
                near: "end",
            })
        }
    }
}

impl<'a> Event<'a> {
    /// Reads one line (without its newline; a trailing `\r` is ignored).
    pub fn parse(line: &'a str) -> Result<Event<'a>, ParseError> {
        let line = line.trim_end_matches('\r');
        let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
        let mut f = Fields { rest };
        let event = match word {
            "routine" => Event::Routine(Routine {
                id: f.id("id")?,
                name: f.take("name")?,
                stack: f.take("stack")?,
                bottom: f.number("bottom")?,
                top: f.number("top")?,
                slot: f.take("slot")?,
                slot_addr: f.number("slot_addr")?,
            }),
            "phase" => Event::Phase {
                number: f.id("number")?,
                title: f.take_rest("title")?,
            },
            "leave" => Event::Leave(Leave {
                n: f.number("n")?,
                from: f.id("from")?,
                rsp: f.number("rsp")?,
            }),
            "switch" => {
                let n = f.number("n")?;
                let kind_word = f.take("kind")?;
                let kind = Kind::ALL
                    .into_iter()
                    .find(|k| k.as_str() == kind_word)
                    .ok_or(ParseError {
                        problem: "unknown switch kind",
                        near: "kind",
                    })?;
                let from = f.id("from")?;
                let to = f.id("to")?;
                let value = f.optional("value")?;
                let stored = f.optional("stored")?;
                if stored.is_some() != kind.leaving().writes_slot() {
                    return Err(ParseError {
                        problem: "a slot value where the kind writes none, or none where it writes one",
                        near: "stored",
                    });
                }
                Event::Switch(Switch {
                    n,
                    kind,
                    from,
                    to,
                    value,
                    stored,
                    loaded: f.number("loaded")?,
                    rsp: f.number("rsp")?,
                    tsc: f.number("tsc")?,
                })
            }
            "high_water" => Event::HighWater {
                id: f.id("id")?,
                bytes: f.number("bytes")?,
                size: f.number("size")?,
            },
            "fault" => Event::Fault {
                who: f.id("who")?,
                switch: f.number("switch")?,
                rsp: f.number("rsp")?,
                tsc: f.number("tsc")?,
                what: f.take_rest("what")?,
            },
            "exit" => {
                let word = f.take("code")?;
                let code =
                    ExitCode::ALL
                        .into_iter()
                        .find(|c| c.word() == word)
                        .ok_or(ParseError {
                            problem: "unknown exit code",
                            near: "code",
                        })?;
                Event::Exit {
                    code,
                    switches: f.number("switches")?,
                    tsc: f.number("tsc")?,
                }
            }
            _ => {
                return Err(ParseError {
                    problem: "unknown event",
                    near: "word",
                });
            }
        };
        f.end()?;
        Ok(event)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::ToString;

    fn round_trip(event: Event<'_>) {
        let line = event.to_string();
        assert_eq!(Event::parse(&line), Ok(event), "{line}");
    }

    #[test]
    fn every_event_reads_back_as_written() {
        round_trip(Event::Routine(Routine {
            id: 1,
            name: "coroutine1",
            stack: "coroutine1_stack",
            bottom: 0xffff_ffff_8001_3000,
            top: 0xffff_ffff_8001_4000,
            slot: "coro1_context",
            slot_addr: 0xffff_ffff_8001_2008,
        }));
        round_trip(Event::Phase {
            number: 2,
            title: "with yield",
        });
        round_trip(Event::Leave(Leave {
            n: 5,
            from: 0,
            rsp: 0x10000010cf0,
        }));
        for kind in Kind::ALL {
            round_trip(Event::Switch(Switch {
                n: 5,
                kind,
                from: 0,
                to: 1,
                value: (kind != Kind::Call).then_some(7),
                stored: kind.leaving().writes_slot().then_some(0x10000010cd8),
                loaded: 0xffff_ffff_8001_3fc8,
                rsp: 0xffff_ffff_8001_3e20,
                tsc: 123_456,
            }));
        }
        round_trip(Event::HighWater {
            id: 2,
            bytes: 1648,
            size: 4096,
        });
        round_trip(Event::Fault {
            who: 1,
            switch: 5,
            rsp: 0xffff_ffff_8001_2ff8,
            tsc: 9,
            what: "coroutine1 overflowed its 4096-byte stack (fault address 0x1)",
        });
        round_trip(Event::Exit {
            code: ExitCode::Failed,
            switches: 18,
            tsc: 1,
        });
    }

    #[test]
    fn a_written_line_looks_as_documented() {
        let leave = Event::Leave(Leave {
            n: 6,
            from: 1,
            rsp: 0xffff_ffff_8001_3e20,
        })
        .to_string();
        assert_eq!(leave, "leave n=6 from=1 rsp=0xffffffff80013e20");
        let line = Event::Switch(Switch {
            n: 6,
            kind: Kind::Yield,
            from: 1,
            to: 0,
            value: Some(1),
            stored: Some(0xffff_ffff_8001_3e08),
            loaded: 0x10000010cd8,
            rsp: 0x10000010cf0,
            tsc: 42,
        })
        .to_string();
        assert_eq!(
            line,
            "switch n=6 kind=yield from=1 to=0 value=1 \
             stored=0xffffffff80013e08 loaded=0x0000010000010cd8 rsp=0x0000010000010cf0 tsc=42"
        );
    }

    #[test]
    fn bad_lines_say_what_is_wrong() {
        let missing = Event::parse("high_water id=1 bytes=2").unwrap_err();
        assert_eq!(
            missing,
            ParseError {
                problem: "missing field",
                near: "size"
            }
        );
        let unknown = Event::parse("hello world").unwrap_err();
        assert_eq!(unknown.problem, "unknown event");
        let kind = Event::parse(
            "switch n=1 kind=jump from=0 to=1 value=- stored=- loaded=0x1 rsp=0x1 tsc=1",
        )
        .unwrap_err();
        assert_eq!(kind.near, "kind");
        // The kind says whether there is a slot value: a return writes none.
        for (kind, stored) in [("return", "0x1"), ("yield", "-")] {
            let line = std::format!(
                "switch n=1 kind={kind} from=1 to=0 value=1 stored={stored} loaded=0x1 rsp=0x1 tsc=1"
            );
            assert_eq!(Event::parse(&line).unwrap_err().near, "stored", "{line}");
        }
        // A leave line names its routine by number, and says its RSP.
        let leave = Event::parse("leave n=2 from=coroutine1 rsp=0x1").unwrap_err();
        assert_eq!(
            leave,
            ParseError {
                problem: "not a number",
                near: "from"
            }
        );
        let rsp = Event::parse("leave n=2 from=1").unwrap_err();
        assert_eq!(rsp.near, "rsp");
        let number = Event::parse("high_water id=1 bytes=lots size=4096").unwrap_err();
        assert_eq!(
            number,
            ParseError {
                problem: "not a number",
                near: "bytes"
            }
        );
        let extra = Event::parse("high_water id=1 bytes=2 size=3 more=4").unwrap_err();
        assert_eq!(extra.near, "end");
        assert!(Event::parse("").is_err());
    }

    #[test]
    fn the_rule_of_each_kind_of_switch() {
        let leaving = Kind::ALL.map(|k| (k, k.leaving()));
        assert_eq!(
            leaving,
            [
                (Kind::Call, Leaving::Saved),
                (Kind::Return, Leaving::Lost),
                (Kind::Resume, Leaving::Saved),
                (Kind::Yield, Leaving::Saved),
                (Kind::Finish, Leaving::Emptied),
            ]
        );
        for kind in Kind::ALL {
            // A switch writes the leaver's slot or none, and reads the
            // arriver's.
            let expected = (kind != Kind::Return).then_some(3);
            assert_eq!(kind.writes_slot_of(3), expected, "{kind:?}");
            assert_eq!(kind.reads_slot_of(4), 4, "{kind:?}");
        }
        assert!(Leaving::Lost.meaning().contains("nowhere"));
        assert!(Leaving::Emptied.meaning().contains("emptied"));
    }

    #[test]
    fn a_trailing_carriage_return_is_ignored() {
        assert_eq!(
            Event::parse("high_water id=1 bytes=2 size=3\r"),
            Ok(Event::HighWater {
                id: 1,
                bytes: 2,
                size: 3
            })
        );
    }
}

/// Property tests: any line, and mutations of real ones, either read back
/// as an event or are refused with a one-line reason; any event the kernel
/// can write reads back as itself. `PROPTEST_CASES` sets how many cases
/// (`make fuzz` runs many more).
#[cfg(test)]
mod properties {
    extern crate std;
    use super::*;
    use proptest::prelude::*;
    use std::string::{String, ToString};
    use std::vec::Vec;

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
}
