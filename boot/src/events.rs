//! The kernel's event lines (COM2, see `protocol::event`) after QEMU ended,
//! and the files the user asked for that are made from them.
//!
//! QEMU writes COM2 to a file next to the image ([`crate::image::events_path`]).
//! [`save_outputs`] runs on every path that ran QEMU, the failing ones
//! included (a fault, a timeout, Ctrl-C, a gdb session), so the events
//! written up to the end are never lost. A future output made from the parsed
//! events (`protocol::event::Event::parse` per line), e.g. a trace or a
//! picture, is one more field in `Args` and one more step there.

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
    if let Some(path) = &args.events {
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        if !dir.unwrap_or(Path::new(".")).is_dir() {
            return Err(Failure::usage(format!(
                "cannot write the event lines to {}: its directory does not exist",
                path.display()
            )));
        }
    }
    Ok(())
}

/// Writes what `args` asks for from the event lines: `--events FILE`, the
/// lines as they came.
pub fn save_outputs(events: &[String], args: &Args) -> Result<(), Failure> {
    if let Some(path) = &args.events {
        let mut text = events.join("\n");
        if !text.is_empty() {
            text.push('\n');
        }
        std::fs::write(path, text).map_err(|e| {
            Failure::usage(format!(
                "cannot write the event lines to {}: {e}",
                path.display()
            ))
        })?;
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
