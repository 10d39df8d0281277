//! The guest's serial output on its way to the terminal: forwarded line by
//! line, cleaned of UEFI firmware chatter, and its last lines kept for reports.
//!
//! The kernel ends its lines with CRLF, as a serial terminal wants. A
//! terminal shows them as they came; a pipe or a file gets LF alone
//! ([`Endings`]), so that `grep`, `diff` and editors read Unix lines. This
//! is the one place CRLF becomes LF: the tests compare what the kernel
//! sent through its event lines (COM2, untouched), and the serial log of
//! `--gdb` mode is written by QEMU itself, as sent.

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, IsTerminal, Read, Write};
use std::sync::Mutex;

/// The line endings the guest's lines get on our stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endings {
    /// As the guest sent them (CRLF): for a terminal.
    AsSent,
    /// LF alone: for a pipe or a file.
    Unix,
}

impl Endings {
    /// What our stdout wants: [`Endings::AsSent`] on a terminal,
    /// [`Endings::Unix`] otherwise.
    pub fn for_stdout() -> Self {
        if io::stdout().is_terminal() {
            Endings::AsSent
        } else {
            Endings::Unix
        }
    }

    /// `line` (with or without its `\n`) with these endings: for
    /// [`Endings::Unix`], without the carriage returns before its end.
    fn apply(self, mut line: Vec<u8>) -> Vec<u8> {
        if self == Endings::Unix {
            let newline = line.last() == Some(&b'\n');
            let body = line.len() - usize::from(newline);
            let returns = line[..body]
                .iter()
                .rev()
                .take_while(|&&b| b == b'\r')
                .count();
            line.drain(body - returns..body);
        }
        line
    }
}

/// How many serial lines are kept for the timeout report.
pub const TAIL_LINES: usize = 20;

/// Copies serial output (QEMU's stdout) to our stdout line by line as it
/// arrives, with `endings`, and records the lines in `tail`. Returns at EOF,
/// i.e. when QEMU is gone. Keeps draining even if our stdout is closed, so
/// QEMU never blocks on a full pipe.
pub fn forward(
    serial: impl Read,
    mut filter: FirmwareFilter,
    endings: Endings,
    tail: &Mutex<Tail>,
) {
    let mut reader = BufReader::new(serial);
    let mut line = Vec::new();
    let mut stdout_ok = true;
    // Whether the last line shown lacks its end: the guest stopped in the
    // middle of a line (Bochs loses the byte still in the UART when the CPU
    // shuts down), and the tool's own messages must not run on from it.
    let mut mid_line = false;
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => {
                if mid_line && stdout_ok {
                    let _ = io::stdout().lock().write_all(b"\n");
                }
                break;
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
        let Some(shown) = filter.filter(&line) else {
            continue;
        };
        let shown = endings.apply(shown);
        mid_line = !shown.ends_with(b"\n");
        if stdout_ok {
            let mut out = io::stdout().lock();
            stdout_ok = out.write_all(&shown).and_then(|()| out.flush()).is_ok();
        }
        tail.lock().expect("tail lock").push(&shown);
    }
}

/// Hides what OVMF prints on the serial console before the kernel runs.
///
/// OVMF uses COM1 as a console too: it clears the screen with VT100 escape
/// sequences and reports its boot choices (`BdsDxe: loading Boot0002 ...`).
/// While active, the filter strips escape sequences and drops blank and
/// `BdsDxe:` lines; the first other line is the kernel's (or a firmware
/// error worth seeing), and from then on everything passes untouched.
#[derive(Debug)]
pub struct FirmwareFilter {
    active: bool,
}

impl FirmwareFilter {
    /// A filter that starts active (UEFI) or passes everything (BIOS, whose
    /// SeaBIOS prints nothing on serial).
    pub fn new(active: bool) -> Self {
        Self { active }
    }

    /// The bytes to show for one line of serial output, or `None` to hide it.
    pub fn filter(&mut self, line: &[u8]) -> Option<Vec<u8>> {
        if !self.active {
            return Some(line.to_vec());
        }
        let cleaned = strip_escape_sequences(line);
        let text = String::from_utf8_lossy(&cleaned);
        let text = text.trim();
        if text.is_empty() || text.starts_with("BdsDxe: ") {
            return None;
        }
        self.active = false;
        Some(cleaned)
    }
}

/// `line` without ANSI/VT100 escape sequences, its line ending kept
/// (`strip-ansi-escapes` drops carriage returns along with the escapes).
fn strip_escape_sequences(line: &[u8]) -> Vec<u8> {
    let body_len = line.len()
        - line
            .iter()
            .rev()
            .take_while(|&&b| b == b'\n' || b == b'\r')
            .count();
    let (body, ending) = line.split_at(body_len);
    let mut out = strip_ansi_escapes::strip(body);
    out.extend_from_slice(ending);
    out
}

/// The last [`TAIL_LINES`] lines of serial output, and how many lines came
/// in all, for error reports.
#[derive(Debug, Default)]
pub struct Tail {
    lines: VecDeque<String>,
    count: usize,
}

impl Tail {
    /// Records one line (with or without its line ending).
    pub fn push(&mut self, line: &[u8]) {
        self.count += 1;
        if self.lines.len() == TAIL_LINES {
            self.lines.pop_front();
        }
        let line = String::from_utf8_lossy(line);
        self.lines
            .push_back(line.trim_end_matches(['\n', '\r']).to_string());
    }

    /// The kept lines, oldest first.
    pub fn lines(&self) -> Vec<String> {
        self.lines.iter().cloned().collect()
    }

    /// How many lines were pushed in all.
    pub fn count(&self) -> usize {
        self.count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What Debian's OVMF writes on COM1 before the kernel's first line.
    const OVMF_PREFIX: &[&str] = &[
        "\x1b[2J\x1b[01;01H\x1b[=3h\x1b[2J\x1b[01;01HBdsDxe: failed to load Boot0001 \"UEFI QEMU DVD-ROM QM00003 \" from PciRoot(0x0): Not Found\r\n",
        "BdsDxe: loading Boot0002 \"UEFI QEMU HARDDISK QM00001 \" from PciRoot(0x0)/Pci(0x1,0x1)\r\n",
        "BdsDxe: starting Boot0002 \"UEFI QEMU HARDDISK QM00001 \" from PciRoot(0x0)/Pci(0x1,0x1)\r\n",
    ];

    fn run(active: bool, lines: &[&str]) -> Vec<String> {
        let mut filter = FirmwareFilter::new(active);
        lines
            .iter()
            .filter_map(|line| filter.filter(line.as_bytes()))
            .map(|shown| String::from_utf8(shown).unwrap())
            .collect()
    }

    #[test]
    fn uefi_firmware_chatter_is_hidden() {
        let mut lines = OVMF_PREFIX.to_vec();
        lines.extend([
            "[INFO ] hello\n",
            "\x1b[31mred\x1b[0m\n",
            "BdsDxe: not firmware any more\n",
        ]);
        assert_eq!(
            run(true, &lines),
            [
                "[INFO ] hello\n",
                "\x1b[31mred\x1b[0m\n",
                "BdsDxe: not firmware any more\n"
            ],
            "only the firmware's part is filtered"
        );
    }

    #[test]
    fn firmware_errors_stay_visible() {
        let lines = [
            "\x1b[2JBdsDxe: loading Boot0001\r\n",
            "\x1b[01;01HNo bootable option or device was found.\r\n",
        ];
        assert_eq!(
            run(true, &lines),
            ["No bootable option or device was found.\r\n"]
        );
    }

    #[test]
    fn inactive_filter_passes_everything() {
        assert_eq!(run(false, OVMF_PREFIX), OVMF_PREFIX);
    }

    #[test]
    fn escape_sequences_are_stripped() {
        assert_eq!(
            strip_escape_sequences(b"\x1b[2J\x1b[01;01H\x1b[=3hA\x1bcB"),
            b"AB"
        );
        assert_eq!(strip_escape_sequences(b"plain"), b"plain");
        assert_eq!(strip_escape_sequences(b"cut\x1b["), b"cut");
        assert_eq!(strip_escape_sequences(b"\x1b[2JA\r\n"), b"A\r\n");
    }

    #[test]
    fn a_pipe_gets_unix_line_endings_and_a_terminal_what_was_sent() {
        let cases: [(&[u8], &[u8]); 6] = [
            (b"[INFO ] hello\r\n", b"[INFO ] hello\n"),
            (b"plain\n", b"plain\n"),
            (b"two\r\r\n", b"two\n"),
            (b"cut off\r", b"cut off"),
            (b"in the \r middle\r\n", b"in the \r middle\n"),
            (b"", b""),
        ];
        for (sent, unix) in cases {
            assert_eq!(Endings::Unix.apply(sent.to_vec()), unix, "{sent:?}");
            assert_eq!(Endings::AsSent.apply(sent.to_vec()), sent, "{sent:?}");
        }
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        let mut tail = Tail::default();
        for i in 0..30 {
            tail.push(format!("line {i}\r\n").as_bytes());
        }
        tail.push(b"unfinished");
        let lines = tail.lines();
        assert_eq!(lines.len(), TAIL_LINES);
        assert_eq!(lines.first().unwrap(), "line 11");
        assert_eq!(lines[TAIL_LINES - 2], "line 29");
        assert_eq!(lines.last().unwrap(), "unfinished");
    }
}
