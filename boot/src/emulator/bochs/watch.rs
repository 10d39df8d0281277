//! Reading the files Bochs writes as it runs: COM1, followed and forwarded
//! as QEMU's stdout is ([`Follow`]), and COM2, watched for the kernel's
//! last event line ([`EndWatch`]).

use super::POLL_INTERVAL;
use crate::error::Failure;
use protocol::ExitCode;
use protocol::event::Event;
use std::fs::File;
use std::io::{self, ErrorKind, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Reads a file that another process appends to, from its start: at its
/// current end a read waits for more, until `stop` is set; then the rest is
/// read and the reader ends. The file may not exist yet.
pub struct Follow {
    path: PathBuf,
    file: Option<File>,
    stop: Arc<AtomicBool>,
}

impl Follow {
    /// Follows `path` until `stop` is set.
    pub fn new(path: &Path, stop: Arc<AtomicBool>) -> Self {
        Follow {
            path: path.to_path_buf(),
            file: None,
            stop,
        }
    }
}

impl Read for Follow {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            // The flag before the file: whatever was written before the
            // stop is read before the reader ends.
            let stopping = self.stop.load(Ordering::SeqCst);
            if self.file.is_none() {
                self.file = File::open(&self.path).ok();
            }
            if let Some(file) = &mut self.file {
                let n = file.read(buf)?;
                if n > 0 {
                    return Ok(n);
                }
            }
            if stopping {
                return Ok(0);
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }
}

/// Watches the events file for the kernel's last line, `exit code=...`.
#[derive(Debug)]
pub struct EndWatch {
    path: PathBuf,
    /// How far the file was read.
    offset: u64,
    /// The start of a line whose end was not written yet.
    partial: Vec<u8>,
}

impl EndWatch {
    /// Watches the events file at `path`.
    pub fn new(path: &Path) -> Self {
        EndWatch {
            path: path.to_path_buf(),
            offset: 0,
            partial: Vec::new(),
        }
    }

    /// Reads what was added since the last call: the code of the `exit`
    /// line if a complete one came. Lines that do not parse are left to
    /// [`crate::outputs::save_outputs`] to report.
    pub fn poll(&mut self) -> Result<Option<ExitCode>, Failure> {
        let fail = |e: io::Error| {
            Failure::failed(format!(
                "cannot read the event lines from {}: {e}",
                self.path.display()
            ))
        };
        let mut file = match File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(fail(e)),
        };
        file.seek(SeekFrom::Start(self.offset)).map_err(fail)?;
        let mut added = Vec::new();
        file.read_to_end(&mut added).map_err(fail)?;
        self.offset += added.len() as u64;
        self.partial.extend_from_slice(&added);
        let complete = self
            .partial
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let lines: Vec<u8> = self.partial.drain(..complete).collect();
        Ok(String::from_utf8_lossy(&lines).lines().find_map(|line| {
            match Event::parse(line.trim_end_matches('\r')) {
                Ok(Event::Exit { code, .. }) => Some(code),
                _ => None,
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_end_is_a_complete_exit_line_however_the_file_grows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.events");
        let mut watch = EndWatch::new(&path);
        assert_eq!(watch.poll(), Ok(None), "no file yet");
        let append = |text: &str| {
            use std::io::Write;
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .unwrap();
            file.write_all(text.as_bytes()).unwrap();
        };
        append("phase number=1 title=x\r\nexit code=fail");
        assert_eq!(watch.poll(), Ok(None));
        append("ed switches=5 tsc=9");
        assert_eq!(watch.poll(), Ok(None), "the line is not complete yet");
        append("\r\n");
        assert_eq!(watch.poll(), Ok(Some(ExitCode::Failed)));
        assert_eq!(watch.poll(), Ok(None), "each line is seen once");
    }

    #[test]
    fn follow_reads_what_is_appended_until_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("com1");
        let stop = Arc::new(AtomicBool::new(false));
        let mut follow = Follow::new(&path, Arc::clone(&stop));
        let writer = {
            let path = path.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(50));
                std::fs::write(&path, "one\ntw").unwrap();
                std::thread::sleep(Duration::from_millis(50));
                stop.store(true, Ordering::SeqCst);
            })
        };
        let mut text = String::new();
        follow.read_to_string(&mut text).unwrap();
        writer.join().unwrap();
        assert_eq!(text, "one\ntw");
    }
}
