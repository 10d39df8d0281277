//! Watching a replay: QEMU reads its replay log as the replay goes; a
//! replay that stops reading it waits forever for an event the log does not
//! hold, and is ended with the likely cause ([`watch_progress`]).

use crate::emulator::qemu::Qemu;
use crate::error::Failure;
use crate::verdict::End;
use std::ffi::OsString;
use std::path::Path;
use std::time::{Duration, Instant};

/// The default of `--stall-after`, in seconds: a replay that uses this much
/// CPU time without reading further in its log has stopped for good: QEMU
/// waits for an event the log does not hold. (A UEFI replay's longest pause
/// between two 4 KiB reads of its log was 1.8 s of wall time.)
pub const STALL_AFTER_SECS: u64 = 10;
/// How often [`watch_progress`] looks.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(500);

/// Waits for a replay to end like [`Qemu::wait`] without a timeout: a
/// replay of a whole recording always ends, and its speed depends on the
/// log (a UEFI replay takes twice as long as its recording or more, and
/// longer on a busy machine). Instead it watches how far QEMU has read its
/// replay `log` (the file position, in /proc): a replay that spends
/// `stall_limit` of CPU time (`--stall-after`, [`STALL_AFTER_SECS`] unless
/// given) without reading on waits for an event the log does not hold (it
/// spins meanwhile). QEMU is then killed (SIGKILL: a
/// stuck replay ignores SIGTERM) and the failure names the likely cause.
///
/// CPU time rather than wall time, so that a machine too busy to run QEMU
/// is not taken for a stall; not QEMU's own instruction count over QMP,
/// because a QMP socket alone makes a UEFI replay take 30 s instead of 18.
pub fn watch_progress(
    qemu: &mut Qemu,
    log: &Path,
    extra_args: &[OsString],
    stall_limit: Duration,
) -> Result<End, Failure> {
    let pid = qemu.id();
    // Where the log was last seen read, and QEMU's CPU time then.
    let mut last: Option<(u64, Duration)> = None;
    let mut asked = Instant::now();
    qemu.wait_while(None, || {
        if asked.elapsed() < PROGRESS_INTERVAL {
            return Ok(());
        }
        asked = Instant::now();
        // Either may be missing while QEMU starts or exits: the wait
        // notices the exit.
        let (Some(read), Some(cpu)) = (position_in(pid, log), cpu_time(pid)) else {
            return Ok(());
        };
        match last {
            Some((before, since)) if before == read => {
                if cpu.saturating_sub(since) >= stall_limit {
                    return Err(stalled(read, log, extra_args, stall_limit));
                }
            }
            _ => last = Some((read, cpu)),
        }
        Ok(())
    })
}

/// The failure of a replay that stopped at byte `read` of its `log`.
fn stalled(read: u64, log: &Path, extra_args: &[OsString], stall_limit: Duration) -> Failure {
    let size = std::fs::metadata(log).map_or(0, |m| m.len());
    let extra = if extra_args.is_empty() {
        String::new()
    } else {
        format!("; the extra QEMU arguments {extra_args:?} may change the machine")
    };
    Failure::failed(format!(
        "the replay stopped making progress at byte {read} of its {size}-byte log \
         ({} s of QEMU's CPU time without reading on); QEMU killed. QEMU waits for an \
         event its log does not hold: the replayed machine differs from the recorded one{extra}",
        stall_limit.as_secs()
    ))
}

/// How far process `pid` has read the file `path`: the position of the
/// descriptor it has open on it (/proc/PID/fdinfo), if any.
fn position_in(pid: u32, path: &Path) -> Option<u64> {
    let path = path.canonicalize().ok()?;
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    let fd = fds
        .flatten()
        .find(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target == path))?;
    let info =
        std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{}", fd.file_name().to_str()?)).ok()?;
    info.lines()
        .find_map(|line| line.strip_prefix("pos:"))?
        .trim()
        .parse()
        .ok()
}

/// The CPU time process `pid` has used so far, all its threads, user and
/// system (/proc/PID/stat).
fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ...`: utime and stime are the 12th and 13th fields
    // after the command name, which may contain spaces.
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace().skip(11);
    let ticks: u64 = fields.next()?.parse::<u64>().ok()? + fields.next()?.parse::<u64>().ok()?;
    // SAFETY: sysconf only reads a configuration value.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let per_second = u64::try_from(per_second).ok().filter(|&t| t > 0)?;
    Some(Duration::from_millis(ticks * 1000 / per_second))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn how_far_a_process_has_read_a_file_and_its_cpu_time() {
        use std::io::{Read, Seek, SeekFrom};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        std::fs::write(&path, [7u8; 100]).unwrap();
        let mut file = std::fs::File::open(&path).unwrap();
        let me = std::process::id();
        assert_eq!(position_in(me, &path), Some(0));
        file.read_exact(&mut [0; 30]).unwrap();
        assert_eq!(position_in(me, &path), Some(30));
        file.seek(SeekFrom::Start(90)).unwrap();
        assert_eq!(position_in(me, &path), Some(90));
        assert_eq!(position_in(me, &dir.path().join("other")), None);
        let before = cpu_time(me).unwrap();
        let start = Instant::now();
        while start.elapsed() < Duration::from_millis(300) {
            std::hint::black_box(start.elapsed());
        }
        assert!(cpu_time(me).unwrap() > before);
    }
}
