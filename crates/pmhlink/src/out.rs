//! The one way the binary writes to stdout and stderr: a reader that went away stops the
//! writing, never the command.
//!
//! `println!` panics when a write fails, and a closed pipe (`pmhlink run … | head`) makes every
//! write fail with EPIPE (the Rust runtime ignores SIGPIPE), so a run that delivered would exit
//! 101 and a scheduler would see a failure after a good delivery. Here the first failed write
//! to a stream marks it gone for the rest of the process: nothing more is written to it, and
//! the command finishes and exits with the status it would have had. The run's report file is
//! the record; stdout is only a summary.
//!
//! A broken pipe is the reader's choice and is not mentioned; any other failure of stdout (a
//! full disk behind a redirection) is said once on stderr.

use std::fmt;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

static STDOUT_GONE: AtomicBool = AtomicBool::new(false);
static STDERR_GONE: AtomicBool = AtomicBool::new(false);

/// Writes to stdout, like `print!`, without ever panicking.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::out::stdout_fmt(format_args!($($arg)*), false)
    };
}

/// Writes a line to stdout, like `println!`, without ever panicking.
macro_rules! outln {
    () => {
        $crate::out::stdout_fmt(format_args!(""), true)
    };
    ($($arg:tt)*) => {
        $crate::out::stdout_fmt(format_args!($($arg)*), true)
    };
}

/// Writes a line to stderr, like `eprintln!`, without ever panicking.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::out::stderr_fmt(format_args!($($arg)*))
    };
}

pub(crate) use {errln, out, outln};

/// Whether stdout failed earlier; callers producing a lot of output may stop producing it.
pub fn stdout_gone() -> bool {
    STDOUT_GONE.load(Ordering::Relaxed)
}

fn stdout_failed(e: &io::Error) {
    if !STDOUT_GONE.swap(true, Ordering::Relaxed) && e.kind() != io::ErrorKind::BrokenPipe {
        stderr_fmt(format_args!(
            "pmhlink: stdout: {e}; the rest of the summary is not shown (the report file is complete)"
        ));
    }
}

#[doc(hidden)]
pub fn stdout_fmt(args: fmt::Arguments<'_>, newline: bool) {
    if stdout_gone() {
        return;
    }
    let mut lock = io::stdout().lock();
    let written = lock.write_fmt(args).and_then(|()| {
        if newline {
            lock.write_all(b"\n")
        } else {
            Ok(())
        }
    });
    if let Err(e) = written {
        drop(lock);
        stdout_failed(&e);
    }
}

#[doc(hidden)]
pub fn stderr_fmt(args: fmt::Arguments<'_>) {
    if STDERR_GONE.load(Ordering::Relaxed) {
        return;
    }
    let mut lock = io::stderr().lock();
    if lock
        .write_fmt(args)
        .and_then(|()| lock.write_all(b"\n"))
        .is_err()
    {
        STDERR_GONE.store(true, Ordering::Relaxed);
    }
}

/// Flushes stdout (after a prompt without a newline).
pub fn flush() {
    if stdout_gone() {
        return;
    }
    if let Err(e) = io::stdout().lock().flush() {
        stdout_failed(&e);
    }
}

/// Stdout as an `io::Write` for streaming output (`lint --json`): errors are returned to the
/// writer, and after the first one every write fails at once without touching the stream.
pub struct Stdout;

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if stdout_gone() {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        io::stdout().lock().write(buf).inspect_err(|e| {
            // `write_all` tries again after an interruption.
            if e.kind() != io::ErrorKind::Interrupted {
                stdout_failed(e);
            }
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        if stdout_gone() {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        io::stdout().lock().flush().inspect_err(stdout_failed)
    }
}
