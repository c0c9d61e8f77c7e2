//! One municipality's command as a process of its own: this same binary, so that a panic, a
//! hang, a plugin that breaks its process or a lock held elsewhere stays with that
//! municipality. Its output is captured; past the time limit it is killed (a run is safe to
//! kill at any point: the next run resumes or redoes the day).

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How the process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// It exited with this status.
    Exited(i32),
    /// It was killed past the time limit.
    TimedOut,
    /// A signal ended it (on Unix), or it gave no status.
    Killed,
}

pub struct Finished {
    pub ended: Ended,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub elapsed: Duration,
}

/// Runs `pmhlink ARGS…` and waits for it, at most `limit`.
pub fn run(args: &[&std::ffi::OsStr], limit: Duration) -> std::io::Result<Finished> {
    let exe = std::env::current_exe()?;
    let started = Instant::now();
    let mut child = Command::new(exe)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let stdout = drain(child.stdout.take().expect("piped"));
    let stderr = drain(child.stderr.take().expect("piped"));
    let ended = loop {
        if let Some(status) = child.try_wait()? {
            break status.code().map_or(Ended::Killed, Ended::Exited);
        }
        if started.elapsed() >= limit {
            let _ = child.kill();
            let _ = child.wait();
            break Ended::TimedOut;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Ok(Finished {
        ended,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
        elapsed: started.elapsed(),
    })
}

/// Reads a pipe to its end on a thread of its own, so that neither pipe fills while the other
/// is waited on.
fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

/// The command's own message on stderr (`pmhlink run: …`), its last one: pmhlink's messages
/// name files and keys, never values. A panic's text is not repeated.
pub fn message(stderr: &[u8], command: &str) -> Option<String> {
    let prefix = format!("pmhlink {command}: ");
    String::from_utf8_lossy(stderr)
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix(&prefix).map(str::to_owned))
}

/// Keeps a member's captured output where the operator asked (`--log-dir`), one file each.
pub fn keep_log(dir: &Path, name: &str, finished: &Finished) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut text = finished.stdout.clone();
    text.extend_from_slice(&finished.stderr);
    std::fs::write(dir.join(format!("{name}.log")), text)
}
