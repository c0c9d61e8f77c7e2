//! Driving a built plugin across the ABI from its own tests: the library loaded by the host's
//! own code, a source or sink opened with a config, every batch read and validated. The
//! conformance kit checks the contract; this is for a plugin's behaviour tests.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use pmhlink_plugin_api::abi_stable::std_types::RStr;
use pmhlink_plugin_api::{PluginModRef, RPluginError, SinkBox, SourceBox};

/// The root module of the plugin library at `path`, loaded once per process (a plugin is never
/// unloaded) and checked as the host checks it.
pub fn module(path: &Path) -> PluginModRef {
    static LOADED: OnceLock<Mutex<HashMap<PathBuf, PluginModRef>>> = OnceLock::new();
    let mut loaded = LOADED
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    *loaded
        .entry(path.to_owned())
        .or_insert_with(|| pmhlink_plugin_host::load_module(path).unwrap_or_else(|e| panic!("{e}")))
}

pub fn open_source(path: &Path, config: &serde_json::Value) -> Result<SourceBox, RPluginError> {
    (module(path).open_source())(RStr::from_str(&config.to_string())).into_result()
}

pub fn open_sink(path: &Path, config: &serde_json::Value) -> Result<SinkBox, RPluginError> {
    (module(path).open_sink())(RStr::from_str(&config.to_string())).into_result()
}

/// Everything a source yields.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Read {
    /// (line, cells)
    pub rows: Vec<(u64, Vec<String>)>,
    /// (row index over the whole read, message)
    pub errors: Vec<(usize, String)>,
    /// The size of each batch.
    pub batches: Vec<usize>,
}

/// Reads a source to its end in batches of `max_rows`, validating every batch as the host does.
pub fn read_all(source: &mut SourceBox, max_rows: u32) -> Result<Read, RPluginError> {
    let mut read = Read::default();
    while let Some(batch) = source.next_batch(max_rows).into_result()?.into_option() {
        batch
            .validate()
            .unwrap_or_else(|e| panic!("malformed batch: {e:?}"));
        assert!(
            batch.rows() >= 1 && batch.rows() <= max_rows as usize,
            "batch of {} rows",
            batch.rows()
        );
        let base = read.rows.len();
        for e in batch.row_errors() {
            read.errors
                .push((base + e.row as usize, e.message.to_string()));
        }
        for i in 0..batch.rows() {
            read.rows
                .push((batch.line(i), batch.row(i).map(str::to_owned).collect()));
        }
        read.batches.push(batch.rows());
    }
    // The end stays the end.
    assert!(
        source
            .next_batch(max_rows)
            .into_result()?
            .into_option()
            .is_none()
    );
    Ok(read)
}

pub fn columns(source: &SourceBox) -> Vec<String> {
    let discovered = source
        .discover()
        .into_result()
        .unwrap_or_else(|e| panic!("discover: {e}"));
    discovered.into_iter().map(|c| c.to_string()).collect()
}

/// Makes a real named pipe (FIFO) at `path` with the system's `mkfifo` (no writer ever opens
/// it: reading it would block forever, which is what a plugin must not do).
#[cfg(unix)]
pub fn make_fifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap_or_else(|e| panic!("mkfifo: {e}"));
    assert!(status.success(), "mkfifo {}: {status}", path.display());
}

/// Runs `call` on its own thread and returns its result, or panics if it has not returned
/// within `seconds`: a guard against a hang (the thread is left behind), not a timing check.
pub fn within<T: Send + 'static>(
    seconds: u64,
    what: &str,
    call: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (done, result) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // The receiver is gone only after the guard already failed the test.
        let _ = done.send(call());
    });
    result
        .recv_timeout(std::time::Duration::from_secs(seconds))
        .unwrap_or_else(|_| panic!("{what} did not return within {seconds} s (it blocks)"))
}
