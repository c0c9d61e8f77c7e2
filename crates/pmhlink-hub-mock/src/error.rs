//! Why the emulator cannot start or stopped.

use std::io;

/// Why the emulator cannot start or stopped. Messages name files and positions, never the
/// records a state file holds.
#[derive(Debug, thiserror::Error)]
pub enum MockError {
    #[error("cannot read fault file {path}: {source}")]
    FaultsRead { path: String, source: io::Error },
    #[error("fault rules {origin} are not valid: {message}")]
    Faults { origin: String, message: String },
    #[error("state file {path}: {message}")]
    State { path: String, message: String },
    #[error("profile `{name}` cannot be served: {message}")]
    Profile { name: String, message: String },
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: io::Error },
    #[error("mock hub: {0}")]
    Io(#[from] io::Error),
}
