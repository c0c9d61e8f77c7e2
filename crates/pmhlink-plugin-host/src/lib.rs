//! The host side of pmhlink's plugins: finding them, loading them safely, and calling them
//! through plain Rust types, so the runner never touches the ABI's `R*` types (batches aside:
//! [`RBatch`] is already a safe, validated, read-only view).
//!
//! ```no_run
//! use pmhlink_plugin_host::{Host, PluginDirs};
//!
//! let host = Host::discover(PluginDirs::new(["/etc/pmhlink/plugins"]))?;
//! for problem in host.problems() {
//!     eprintln!("warning: {problem}");
//! }
//! let mut source = host.open_source("echo", &serde_json::json!({"columns": ["x"], "rows": [["1"]]}))?;
//! source.check()?;
//! while let Some(batch) = source.next_batch(10_000)? {
//!     for row in 0..batch.rows() {
//!         let _cells: Vec<&str> = batch.row(row).collect();
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Loading
//!
//! For each candidate file on the plugin path ([`PluginDirs`]): read the plain C symbol
//! `pmhlink_plugin_api_level` (no symbol: not a plugin; another level: refused with both levels
//! named), then initialise abi_stable's root module from the file (its layout checks), then
//! call `spec`. Libraries are never unloaded.
//!
//! # What a plugin can and cannot do to the host
//!
//! Plugin errors, panics caught by the pdk, and malformed batches all become a
//! [`PluginFailure`]; after a panic or a malformed batch the instance is never called again.
//! A plugin runs in the host's process, though: one that was not built with the pdk and lets a
//! panic unwind out of an `extern "C"` function aborts the process, and one that corrupts
//! memory cannot be contained. An out-of-process host speaking the same verbs is the answer
//! for untrusted plugins; these wrappers are the interface it would implement.

mod discover;
mod error;
mod guard;
mod host;
mod load;
mod sink;
mod source;

pub use discover::{DirOrigin, PLUGIN_PATH_ENV, PluginDir, PluginDirs, is_candidate_name};
pub use error::{FailureKind, HostError, LoadProblem, PluginFailure, Verb};
pub use host::{Host, PluginKind};
pub use load::{PluginInfo, load_module};
pub use sink::{HostSink, Outcome, OutcomeState, PayloadOut, Receipt};
pub use source::HostSource;

pub use pmhlink_plugin_api::{API_LEVEL, BatchError, ColumnType, RBatch, RRowError, RowCells};
