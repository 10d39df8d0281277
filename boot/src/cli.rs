//! The command line, parsed with clap's derive API.
//!
//! Kept apart from `run.rs` so that the unit tests can check parsing with
//! `try_parse_from` without booting anything.

use crate::emulator::recording::STALL_AFTER_SECS;
use crate::outputs::Outputs;
use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser};
use std::ffi::OsString;
use std::path::PathBuf;

/// Builds the kernel (unless given an ELF), wraps it in a BIOS or UEFI disk
/// image and boots it in QEMU (or Bochs), forwarding the kernel's serial output.
#[derive(Debug, Parser)]
// The usage line written out: clap's own, in an error, lists the flags given
// and the one it suggests for a mistyped flag (`boot --uefi --bochs …` after
// `--uefi --bogus`, a combination that is itself refused).
#[command(
    name = "boot",
    version,
    override_usage = "boot [OPTIONS] [KERNEL_ELF] [-- <QEMU_ARGS>...]",
    after_long_help = concat!("Exit status:\n\n", include_str!("exit_statuses.md"))
)]
pub struct Args {
    /// The kernel ELF to boot; built with `cargo kbuild --bin NAME` when omitted.
    #[arg(value_name = "KERNEL_ELF")]
    pub kernel: Option<PathBuf>,

    /// The kernel binary to build when no KERNEL_ELF is given.
    #[arg(
        long = "bin",
        value_name = "NAME",
        default_value = "kernel",
        conflicts_with = "kernel"
    )]
    pub bin: String,

    /// Build the kernel in release mode (only when no KERNEL_ELF is given).
    #[arg(long, conflicts_with = "kernel")]
    pub release: bool,

    /// Boot a UEFI disk image with OVMF instead of a BIOS disk image.
    #[arg(long)]
    pub uefi: bool,

    /// Boot the BIOS image in Bochs instead of QEMU, headless; the run ends at the kernel's last event line.
    #[arg(long, conflicts_with_all = BOCHS_CONFLICTS)]
    pub bochs: bool,

    /// Boot the BIOS image in Bochs's own debugger, stopped at switch_to_coro1 (else the kernel's entry); serial goes to a log file.
    #[arg(long, conflicts_with_all = BOCHS_CONFLICTS)]
    pub bochs_debug: bool,

    /// Kill QEMU (or Bochs) and fail after this many seconds, at least 1 (not applied with --gdb, --gdb-server, --bochs-debug or --replay, which is watched for progress instead).
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 30,
        value_parser = timeout
    )]
    pub timeout: u64,

    /// With --replay (not under gdb): end the replay as stalled once QEMU has used this many seconds of CPU time without reading on in its log, at least 1.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = STALL_AFTER_SECS,
        value_parser = stall_after
    )]
    pub stall_after: u64,

    /// Start QEMU paused with a gdbstub on 127.0.0.1 and run gdb on the kernel; serial goes to a log file.
    #[arg(long, conflicts_with = "gdb_server")]
    pub gdb: bool,

    /// Start QEMU paused with a gdbstub on 127.0.0.1, print the gdb command to attach, and wait.
    #[arg(long)]
    pub gdb_server: bool,

    /// Copy the kernel's event lines (COM2) to FILE when QEMU ends, even if the run fails.
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,

    /// Write the run as Chrome Trace Event JSON to FILE (open it in ui.perfetto.dev), even if the run fails.
    #[arg(long, value_name = "FILE.json")]
    pub trace: Option<PathBuf>,

    /// Draw the run as one SVG picture in FILE (who runs when, RSP depth per stack), even if the run fails.
    #[arg(long, value_name = "FILE.svg")]
    pub svg: Option<PathBuf>,

    /// Record the run into DIR (QEMU's replay log, copies of the image, firmware and kernel, a manifest) for --replay.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["replay", "gdb", "gdb_server"])]
    pub record: Option<PathBuf>,

    /// Replay the recording in DIR exactly (same serial output, same exit); with --gdb or --gdb-server, gdb can step backwards.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["bin", "release"])]
    pub replay: Option<PathBuf>,

    /// The gdbstub's TCP port [default: a free port].
    #[arg(long, value_name = "PORT")]
    pub gdb_port: Option<u16>,

    /// Extra arguments appended to QEMU's command line.
    #[arg(last = true, value_name = "QEMU_ARGS")]
    pub qemu_args: Vec<OsString>,
}

/// What Bochs has no use for: UEFI (it boots the BIOS image), QEMU's
/// gdbstub, QEMU's own arguments and QEMU's record/replay.
const BOCHS_CONFLICTS: [&str; 7] = [
    "uefi",
    "gdb",
    "gdb_server",
    "gdb_port",
    "qemu_args",
    "record",
    "replay",
];

/// `--timeout`'s value: whole seconds, at least one (0 would end every run
/// before the kernel starts).
fn timeout(text: &str) -> Result<u64, String> {
    seconds(text, "a timeout of 0 s would stop the run at once")
}

/// `--stall-after`'s value: whole seconds, at least one (0 would end every
/// replay at its first look).
fn stall_after(text: &str) -> Result<u64, String> {
    seconds(text, "a stall limit of 0 s would end every replay at once")
}

/// Whole seconds, at least one; `zero` says what 0 would do.
fn seconds(text: &str, zero: &str) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(0) => Err(format!("{zero}: give 1 or more seconds")),
        Ok(secs) => Ok(secs),
        Err(_) => Err(format!("`{text}` is not a whole number of seconds")),
    }
}

impl Args {
    /// Parses a command line, the program's name first. One rule is checked
    /// here rather than by an attribute: `--stall-after` without `--replay`,
    /// where clap's own message (`requires`) would name only `--replay` and
    /// not the flag that needs it.
    pub fn try_from_command_line<I, T>(argv: I) -> Result<Args, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let mut command = Args::command();
        let matches = command.try_get_matches_from_mut(argv)?;
        if matches.value_source("stall_after") == Some(ValueSource::CommandLine)
            && !matches.contains_id("replay")
        {
            return Err(command.error(
                ErrorKind::MissingRequiredArgument,
                "--stall-after is a replay's stall limit: give it with --replay <DIR>",
            ));
        }
        Args::from_arg_matches(&matches).map_err(|error| error.format(&mut command))
    }

    /// Whether the kernel boots in Bochs (`--bochs` or `--bochs-debug`).
    pub fn in_bochs(&self) -> bool {
        self.bochs || self.bochs_debug
    }

    /// The files asked for from the event lines.
    pub fn outputs(&self) -> Outputs<'_> {
        Outputs {
            events: self.events.as_deref(),
            trace: self.trace.as_deref(),
            svg: self.svg.as_deref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        Args::try_from_command_line(std::iter::once("boot").chain(args.iter().copied()))
    }

    #[test]
    fn defaults() {
        let args = parse(&[]).unwrap();
        assert_eq!(args.kernel, None);
        assert_eq!(args.bin, "kernel");
        assert!(!args.release && !args.uefi && !args.gdb && !args.gdb_server);
        assert_eq!(args.timeout, 30);
        assert_eq!(args.stall_after, 10);
        assert_eq!(args.gdb_port, None);
        assert_eq!(args.events, None);
        assert!(args.qemu_args.is_empty());
    }

    #[test]
    fn all_options_and_trailing_qemu_args() {
        let args = parse(&[
            "--bin",
            "test_hang",
            "--release",
            "--uefi",
            "--timeout",
            "3",
            "--gdb-server",
            "--gdb-port",
            "1234",
            "--events",
            "out.events",
            "--",
            "-smp",
            "2",
        ])
        .unwrap();
        assert_eq!(args.bin, "test_hang");
        assert!(args.release && args.uefi && args.gdb_server);
        assert_eq!(args.timeout, 3);
        assert_eq!(args.gdb_port, Some(1234));
        assert_eq!(args.events, Some(PathBuf::from("out.events")));
        assert_eq!(
            args.qemu_args,
            vec![OsString::from("-smp"), OsString::from("2")]
        );
    }

    #[test]
    fn stall_after_is_whole_seconds_for_a_replay() {
        let args = parse(&["--replay", "rec", "--stall-after", "2"]).unwrap();
        assert_eq!(args.stall_after, 2);
        for (bad, kind, says) in [
            (
                &["--replay", "rec", "--stall-after", "0"][..],
                ErrorKind::ValueValidation,
                "a stall limit of 0 s",
            ),
            (
                &["--replay", "rec", "--stall-after", "soon"],
                ErrorKind::ValueValidation,
                "not a whole number",
            ),
            (
                &["--stall-after", "2", "k.elf"],
                ErrorKind::MissingRequiredArgument,
                "--stall-after is a replay's stall limit: give it with --replay <DIR>",
            ),
        ] {
            let error = parse(bad).unwrap_err();
            assert_eq!(error.kind(), kind, "{bad:?}");
            assert!(error.to_string().contains(says), "{bad:?}: {error}");
        }
    }

    #[test]
    fn record_and_replay() {
        let args = parse(&["--record", "rec", "--uefi"]).unwrap();
        assert_eq!(args.record, Some(PathBuf::from("rec")));
        let args = parse(&["--replay", "rec", "--gdb-server", "--gdb-port", "9"]).unwrap();
        assert_eq!(args.replay, Some(PathBuf::from("rec")));
        for conflict in [
            &["--record", "a", "--replay", "b"][..],
            &["--record", "a", "--gdb"],
            &["--replay", "a", "--bin", "fault_panic"],
            &["--replay", "a", "--release"],
        ] {
            assert_eq!(
                parse(conflict).unwrap_err().kind(),
                ErrorKind::ArgumentConflict,
                "{conflict:?}"
            );
        }
    }

    #[test]
    fn kernel_path_before_the_double_dash() {
        let args = parse(&["--gdb", "k.elf", "--", "-d", "int"]).unwrap();
        assert_eq!(args.kernel, Some(PathBuf::from("k.elf")));
        assert!(args.gdb);
        assert_eq!(
            args.qemu_args,
            vec![OsString::from("-d"), OsString::from("int")]
        );
    }

    #[test]
    fn unknown_flag_is_an_error() {
        assert_eq!(
            parse(&["--frobnicate"]).unwrap_err().kind(),
            ErrorKind::UnknownArgument
        );
    }

    #[test]
    fn an_unknown_flags_usage_line_is_the_plain_one() {
        let error = parse(&["--uefi", "--bogus"]).unwrap_err().to_string();
        assert!(error.contains("unexpected argument '--bogus'"), "{error}");
        assert!(
            error.contains("Usage: boot [OPTIONS] [KERNEL_ELF] [-- <QEMU_ARGS>...]"),
            "{error}"
        );
        assert!(!error.contains("Usage: boot --"), "{error}");
    }

    #[test]
    fn timeout_must_be_a_number() {
        assert_eq!(
            parse(&["--timeout", "soon"]).unwrap_err().kind(),
            ErrorKind::ValueValidation
        );
    }

    #[test]
    fn timeout_must_be_at_least_one_second() {
        let error = parse(&["--timeout", "0"]).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ValueValidation);
        assert!(error.to_string().contains("--timeout"), "{error}");
        assert!(error.to_string().contains("1 or more seconds"), "{error}");
        assert_eq!(parse(&["--timeout", "1"]).unwrap().timeout, 1);
    }

    #[test]
    fn gdb_port_must_fit_in_16_bits() {
        assert_eq!(
            parse(&["--gdb-port", "70000"]).unwrap_err().kind(),
            ErrorKind::ValueValidation
        );
    }

    #[test]
    fn gdb_and_gdb_server_conflict() {
        assert_eq!(
            parse(&["--gdb", "--gdb-server"]).unwrap_err().kind(),
            ErrorKind::ArgumentConflict
        );
    }

    #[test]
    fn build_options_conflict_with_a_kernel_path() {
        assert_eq!(
            parse(&["--release", "k.elf"]).unwrap_err().kind(),
            ErrorKind::ArgumentConflict
        );
        assert_eq!(
            parse(&["--bin", "x", "k.elf"]).unwrap_err().kind(),
            ErrorKind::ArgumentConflict
        );
    }

    #[test]
    fn bochs_takes_no_qemu_options() {
        let args = parse(&["--bochs", "--bin", "fault_hang", "--timeout", "9"]).unwrap();
        assert!(args.bochs && !args.bochs_debug && args.in_bochs());
        assert!(parse(&["--bochs-debug"]).unwrap().in_bochs());
        assert!(!parse(&[]).unwrap().in_bochs());
        for flag in ["--bochs", "--bochs-debug"] {
            for other in [
                &["--uefi"][..],
                &["--gdb"],
                &["--gdb-server"],
                &["--gdb-port", "1234"],
                &["--", "-smp", "2"],
            ] {
                let line: Vec<&str> = std::iter::once(flag).chain(other.iter().copied()).collect();
                assert_eq!(
                    parse(&line).unwrap_err().kind(),
                    ErrorKind::ArgumentConflict,
                    "{line:?}"
                );
            }
        }
    }

    #[test]
    fn qemu_args_need_the_double_dash() {
        // Without `--`, a second positional is not accepted.
        assert!(parse(&["k.elf", "-smp"]).is_err());
    }
}

/// Property tests: any command line, made of the real options, their
/// values and anything else, is taken or refused with a one-line reason
/// (clap's `error: ...`, then its usage), and never panics.
/// `PROPTEST_CASES` sets how many cases (`make fuzz` runs many more).
#[cfg(test)]
mod properties {
    use super::*;
    use clap::error::ErrorKind;
    use proptest::prelude::*;

    /// A word of a command line: an option, a value, or anything.
    fn a_word() -> impl Strategy<Value = String> {
        const OPTIONS: [&str; 18] = [
            "--bin",
            "--release",
            "--uefi",
            "--bochs",
            "--bochs-debug",
            "--timeout",
            "--gdb",
            "--gdb-server",
            "--events",
            "--trace",
            "--svg",
            "--record",
            "--replay",
            "--gdb-port",
            "--",
            "-",
            "--timeout=0",
            "--gdb-port=70000",
        ];
        const VALUES: [&str; 12] = [
            "0",
            "1",
            "30",
            "-1",
            "65535",
            "99999999999999999999",
            "kernel",
            "k.elf",
            "x.svg",
            "",
            " ",
            "-S",
        ];
        prop_oneof![
            3 => prop::sample::select(&OPTIONS[..]).prop_map(str::to_owned),
            2 => prop::sample::select(&VALUES[..]).prop_map(str::to_owned),
            1 => any::<String>(),
        ]
    }

    proptest! {
        #[test]
        fn any_command_line_is_taken_or_refused_in_one_line(
            words in prop::collection::vec(a_word(), 0..8),
        ) {
            let argv = std::iter::once("boot".to_owned()).chain(words);
            if let Err(error) = Args::try_from_command_line(argv) {
                // Help and version are answers, not refusals.
                prop_assume!(!matches!(
                    error.kind(),
                    ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
                ));
                let text = error.to_string();
                let first = text.lines().next().unwrap_or_default();
                prop_assert!(
                    first.starts_with("error: ") && first.len() > "error: ".len(),
                    "{text}"
                );
            }
        }
    }
}
