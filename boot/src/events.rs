//! The kernel's event lines (COM2, see `protocol::event`) after QEMU ended,
//! and the files the user asked for that are made from them.
//!
//! QEMU writes COM2 to a file next to the image ([`crate::image::events_path`]).
//! [`save_outputs`] runs on every path that ran QEMU, the failing ones
//! included (a fault, a timeout, Ctrl-C, a gdb session), so the events
//! written up to the end are never lost: the raw lines (`--events`), the
//! Chrome Trace Event file (`--trace`) and the SVG (`--svg`), the last two
//! drawn from the parsed lines up to and including a fault.

use crate::cli::Args;
use crate::error::Failure;
use std::io::ErrorKind;
use std::path::Path;

/// The lines of the events file at `path`, without line endings. A missing
/// file (QEMU never opened it) has no lines; a last line cut short by the
/// end of the run is kept as it is.
pub fn read_lines(path: &Path) -> Result<Vec<String>, Failure> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(String::from_utf8_lossy(&bytes)
            .lines()
            .map(str::to_owned)
            .collect()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(Failure::failed(format!(
            "cannot read the event lines from {}: {e}",
            path.display()
        ))),
    }
}

/// Fails with a usage error (exit 2) when a file `args` asks for cannot be
/// written because its directory does not exist: checked before the kernel
/// is built and booted, so a typo costs no boot.
pub fn check_outputs(args: &Args) -> Result<(), Failure> {
    for (path, what) in outputs(args) {
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

/// The files `args` asks for, each with what goes in it.
fn outputs(args: &Args) -> impl Iterator<Item = (&Path, &'static str)> {
    [
        (args.events.as_deref(), "the event lines"),
        (args.trace.as_deref(), "the trace"),
        (args.svg.as_deref(), "the picture"),
    ]
    .into_iter()
    .filter_map(|(path, what)| Some((path?, what)))
}

/// Writes `text` to `path`, or one clear error naming `what`.
fn write(path: &Path, what: &str, text: &str) -> Result<(), Failure> {
    std::fs::write(path, text)
        .map_err(|e| Failure::usage(format!("cannot write {what} to {}: {e}", path.display())))
}

/// Writes what `args` asks for from the event lines: `--events FILE`, the
/// lines as they came; `--trace FILE.json` and `--svg FILE.svg`, drawn from
/// them. The raw lines are written first, so that a line that does not parse
/// (an error naming it) still leaves them to look at.
pub fn save_outputs(events: &[String], args: &Args) -> Result<(), Failure> {
    let mut text = events.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    if let Some(path) = &args.events {
        write(path, "the event lines", &text)?;
    }
    if args.trace.is_none() && args.svg.is_none() {
        return Ok(());
    }
    let parsed = crate::timeline::parse_events(&text)
        .map_err(|e| Failure::failed(format!("the kernel's event lines do not parse: {e}")))?;
    if let Some(path) = &args.trace {
        let json = serde_json::to_string(&crate::trace::chrome_trace(&parsed))
            .expect("a JSON value always serialises");
        write(path, "the trace", &json)?;
    }
    if let Some(path) = &args.svg {
        write(path, "the picture", &crate::svg::svg(&parsed))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn lines_come_back_without_endings_and_a_cut_line_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.events");
        std::fs::write(&path, "phase number=1 title=a b\r\nhigh_water id=1 by").unwrap();
        assert_eq!(
            read_lines(&path).unwrap(),
            ["phase number=1 title=a b", "high_water id=1 by"]
        );
        assert!(read_lines(&dir.path().join("none")).unwrap().is_empty());
    }

    #[test]
    fn events_flag_writes_the_lines() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.events");
        let args = Args::try_parse_from(["boot", "--events", out.to_str().unwrap()]).unwrap();
        let lines = ["exit code=success switches=18 tsc=1".to_owned()];
        save_outputs(&lines, &args).unwrap();
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "exit code=success switches=18 tsc=1\n"
        );
        save_outputs(&[], &args).unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "");
    }

    #[test]
    fn trace_and_svg_are_drawn_from_the_lines() {
        let dir = tempfile::tempdir().unwrap();
        let (json, svg) = (dir.path().join("run.json"), dir.path().join("run.svg"));
        let args = Args::try_parse_from([
            "boot",
            "--trace",
            json.to_str().unwrap(),
            "--svg",
            svg.to_str().unwrap(),
        ])
        .unwrap();
        let lines: Vec<String> = crate::timeline::tests::TWO
            .lines()
            .map(str::to_owned)
            .collect();
        save_outputs(&lines, &args).unwrap();
        let trace: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert!(
            trace["traceEvents"]
                .as_array()
                .is_some_and(|e| !e.is_empty())
        );
        assert!(std::fs::read_to_string(&svg).unwrap().starts_with("<svg"));
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
        let err = save_outputs(&["bogus line".to_owned()], &args).unwrap_err();
        assert!(err.message.contains("line 1"), "{}", err.message);
        assert_eq!(std::fs::read_to_string(&raw).unwrap(), "bogus line\n");
    }

    #[test]
    fn without_the_flag_nothing_is_written() {
        let args = Args::try_parse_from(["boot"]).unwrap();
        assert_eq!(save_outputs(&["x".to_owned()], &args), Ok(()));
    }

    #[test]
    fn a_destination_in_a_missing_directory_is_rejected_up_front() {
        let dir = tempfile::tempdir().unwrap();
        let parse =
            |out: &Path| Args::try_parse_from(["boot", "--events", out.to_str().unwrap()]).unwrap();
        assert_eq!(check_outputs(&parse(&dir.path().join("out"))), Ok(()));
        assert_eq!(check_outputs(&parse(Path::new("out.events"))), Ok(()));
        let missing = dir.path().join("no-such-dir/out");
        let err = check_outputs(&parse(&missing)).unwrap_err();
        let svg = Args::try_parse_from(["boot", "--svg", missing.to_str().unwrap()]).unwrap();
        assert_eq!(
            check_outputs(&svg).unwrap_err().message,
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
        let err = save_outputs(&[], &args).unwrap_err();
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
