//! The kernel's event lines (COM2, see `protocol::event`) after QEMU ended,
//! and the files the user asked for that are made from them.
//!
//! QEMU writes COM2 to a file next to the image ([`crate::bootable::image::events_path`]).
//! [`save_outputs`] runs on every path that ran QEMU, the failing ones
//! included (a fault, a timeout, Ctrl-C, a gdb session), so the events
//! written up to the end are never lost: the raw lines (`--events`), the
//! Chrome Trace Event file (`--trace`) and the SVG (`--svg`), the last two
//! drawn by the `picture` crate from one reading of the lines
//! ([`picture::Timeline`]), up to and including a fault.

use crate::error::Failure;
use std::io::ErrorKind;
use std::path::Path;

/// The text of the events file at `path`, as QEMU wrote it. A missing file
/// (QEMU never opened it) is empty; a last line cut short by the end of the
/// run is kept as it is, without its newline.
pub fn read(path: &Path) -> Result<String, Failure> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(Failure::failed(format!(
            "cannot read the event lines from {}: {e}",
            path.display()
        ))),
    }
}

/// The files the user asked for from the event lines (`--events`,
/// `--trace`, `--svg`; see [`crate::cli::Args::outputs`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outputs<'a> {
    /// The lines as they came.
    pub events: Option<&'a Path>,
    /// The Chrome Trace Event file.
    pub trace: Option<&'a Path>,
    /// The SVG picture.
    pub svg: Option<&'a Path>,
}

/// Fails with a usage error (exit 2) when a file of `outputs` cannot be
/// written because its directory does not exist: checked before the kernel
/// is built and booted, so a typo costs no boot.
pub fn check_outputs(outputs: &Outputs<'_>) -> Result<(), Failure> {
    for (path, what) in requested(outputs) {
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        if !dir.unwrap_or(Path::new(".")).is_dir() {
            return Err(Failure::usage(format!(
                "cannot write {what} to {}: its directory does not exist",
                path.display()
            )));
        }
    }
    Ok(())
}

/// The files asked for, each with what goes in it.
fn requested<'a>(outputs: &Outputs<'a>) -> impl Iterator<Item = (&'a Path, &'static str)> {
    [
        (outputs.events, "the event lines"),
        (outputs.trace, "the trace"),
        (outputs.svg, "the picture"),
    ]
    .into_iter()
    .filter_map(|(path, what)| Some((path?, what)))
}

/// Writes `text` to `path`, or one clear error naming `what`.
fn write(path: &Path, what: &str, text: &str) -> Result<(), Failure> {
    std::fs::write(path, text)
        .map_err(|e| Failure::usage(format!("cannot write {what} to {}: {e}", path.display())))
}

/// Writes `outputs` from the event lines (`text`, as QEMU wrote
/// them): `--events FILE`, the lines as they came; `--trace FILE.json` and
/// `--svg FILE.svg`, drawn from one reading of them. The raw lines are
/// written first, so that a line that does not parse (an error naming it)
/// still leaves them to look at. A last line cut short is left out of the
/// drawings, and said.
pub fn save_outputs(text: &str, outputs: &Outputs<'_>) -> Result<(), Failure> {
    if let Some(path) = outputs.events {
        write(path, "the event lines", text)?;
    }
    if outputs.trace.is_none() && outputs.svg.is_none() {
        return Ok(());
    }
    let timeline = picture::Timeline::parse(text)
        .map_err(|e| Failure::failed(format!("the kernel's event lines do not parse: {e}")))?;
    if let Some(line) = timeline.cut_line {
        eprintln!("boot: {}", cut_note(line));
    }
    if let Some(path) = outputs.trace {
        let json = serde_json::to_string(&picture::trace::chrome_trace(&timeline))
            .expect("a JSON value always serialises");
        write(path, "the trace", &json)?;
    }
    if let Some(path) = outputs.svg {
        write(path, "the picture", &picture::svg::svg(&timeline))?;
    }
    Ok(())
}

/// What the tool says of a last event line cut short.
fn cut_note(line: &str) -> String {
    format!(
        "the last event line was cut short (the run stopped while the kernel wrote it) \
         and is left out of the trace and the picture: {line:?}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Args;
    use clap::Parser;

    /// The two-coroutine kernel's events (the picture crate's sample).
    const TWO: &str = include_str!("../../picture/tests/data/two_coroutines.events");

    #[test]
    fn the_text_comes_back_as_written_and_a_cut_line_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.events");
        let text = "phase number=1 title=a b\r\nhigh_water id=1 by";
        std::fs::write(&path, text).unwrap();
        assert_eq!(read(&path).unwrap(), text);
        let lines: Vec<String> = read(&path).unwrap().lines().map(str::to_owned).collect();
        assert_eq!(lines, ["phase number=1 title=a b", "high_water id=1 by"]);
        assert!(read(&dir.path().join("none")).unwrap().is_empty());
    }

    #[test]
    fn events_flag_writes_the_lines() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.events");
        let args = Args::try_parse_from(["boot", "--events", out.to_str().unwrap()]).unwrap();
        save_outputs("exit code=success switches=18 tsc=1\n", &args.outputs()).unwrap();
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "exit code=success switches=18 tsc=1\n"
        );
        save_outputs("", &args.outputs()).unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "");
    }

    /// Saves `text`'s trace and picture in `dir`; returns them as read
    /// back.
    fn draw(text: &str, dir: &Path) -> (serde_json::Value, String) {
        let (json, svg) = (dir.join("run.json"), dir.join("run.svg"));
        let args = Args::try_parse_from([
            "boot",
            "--trace",
            json.to_str().unwrap(),
            "--svg",
            svg.to_str().unwrap(),
        ])
        .unwrap();
        save_outputs(text, &args.outputs()).unwrap();
        let trace = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        (trace, std::fs::read_to_string(&svg).unwrap())
    }

    #[test]
    fn trace_and_svg_are_drawn_from_the_lines() {
        let dir = tempfile::tempdir().unwrap();
        let (trace, picture) = draw(TWO, dir.path());
        assert!(
            trace["traceEvents"]
                .as_array()
                .is_some_and(|e| !e.is_empty())
        );
        assert!(picture.starts_with("<svg"));
        let svg = dir.path().join("run.svg");
        // A line that does not parse: a clear failure, the raw lines kept.
        let raw = dir.path().join("raw.events");
        let args = Args::try_parse_from([
            "boot",
            "--events",
            raw.to_str().unwrap(),
            "--svg",
            svg.to_str().unwrap(),
        ])
        .unwrap();
        let err = save_outputs("bogus line\n", &args.outputs()).unwrap_err();
        assert!(err.message.contains("line 1"), "{}", err.message);
        assert_eq!(std::fs::read_to_string(&raw).unwrap(), "bogus line\n");
    }

    /// The real path: the file as QEMU left it, cut in the middle of a
    /// line, still gives a trace and a picture, of the lines before the cut.
    #[test]
    fn a_line_cut_mid_write_still_gives_a_trace_and_a_picture() {
        let dir = tempfile::tempdir().unwrap();
        let events = dir.path().join("k.events");
        let cut_at = TWO.find("switch n=8 ").unwrap() + "switch n=8 kind=yi".len();
        std::fs::write(&events, &TWO[..cut_at]).unwrap();
        let (trace, picture) = draw(&read(&events).unwrap(), dir.path());
        let slices = trace["traceEvents"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["ph"] == "X")
            .count();
        assert_eq!(slices, 8, "switches 1 to 7 and the stretch before them");
        assert_eq!(
            trace["otherData"]["last line, cut short and left out"],
            "switch n=8 kind=yi"
        );
        assert!(picture.contains("7 switches, ended: the event lines stop here"));
        assert!(picture.contains("The last event line was cut short"));
        assert!(cut_note("switch n=8 kind=yi").ends_with("\"switch n=8 kind=yi\""));
    }

    #[test]
    fn without_the_flag_nothing_is_written() {
        let args = Args::try_parse_from(["boot"]).unwrap();
        assert_eq!(save_outputs("x\n", &args.outputs()), Ok(()));
    }

    #[test]
    fn a_destination_in_a_missing_directory_is_rejected_up_front() {
        let dir = tempfile::tempdir().unwrap();
        let parse =
            |out: &Path| Args::try_parse_from(["boot", "--events", out.to_str().unwrap()]).unwrap();
        assert_eq!(
            check_outputs(&parse(&dir.path().join("out")).outputs()),
            Ok(())
        );
        assert_eq!(
            check_outputs(&parse(Path::new("out.events")).outputs()),
            Ok(())
        );
        let missing = dir.path().join("no-such-dir/out");
        let err = check_outputs(&parse(&missing).outputs()).unwrap_err();
        let svg = Args::try_parse_from(["boot", "--svg", missing.to_str().unwrap()]).unwrap();
        assert_eq!(
            check_outputs(&svg.outputs()).unwrap_err().message,
            format!(
                "cannot write the picture to {}: its directory does not exist",
                missing.display()
            )
        );
        assert_eq!(err.code, crate::error::EXIT_USAGE);
        assert_eq!(
            err.message,
            format!(
                "cannot write the event lines to {}: its directory does not exist",
                missing.display()
            )
        );
    }

    #[test]
    fn an_unwritable_destination_is_one_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("no-such-dir/out.events");
        let args = Args::try_parse_from(["boot", "--events", out.to_str().unwrap()]).unwrap();
        let err = save_outputs("", &args.outputs()).unwrap_err();
        assert_eq!(err.code, crate::error::EXIT_USAGE);
        assert!(
            err.message.starts_with(&format!(
                "cannot write the event lines to {}: ",
                out.display()
            )),
            "{}",
            err.message
        );
    }
}
