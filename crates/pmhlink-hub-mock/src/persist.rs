//! The optional state file: the whole hub as JSON, replaced atomically after every change so
//! that a demo survives a restart and a crash mid-write leaves the previous state.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::MockError;
use crate::state::HubState;

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "state".into());
    name.push(".tmp");
    path.with_file_name(name)
}

/// The saved state, or `None` when there is no file yet.
pub(crate) fn load(path: &Path) -> Result<Option<HubState>, MockError> {
    let err = |message: String| MockError::State {
        path: path.display().to_string(),
        message,
    };
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(err(e.to_string())),
    };
    // serde_json's own messages may quote a value from the file, and the file holds records.
    let state: HubState = serde_json::from_slice(&bytes).map_err(|e| {
        err(format!(
            "not a mock hub state file ({:?} error at line {} column {})",
            e.classify(),
            e.line(),
            e.column()
        ))
    })?;
    state.loaded().map(Some).map_err(err)
}

pub(crate) fn save(path: &Path, state: &HubState) -> io::Result<()> {
    let bytes = serde_json::to_vec(state).map_err(io::Error::other)?;
    let temp = temp_path(path);
    let mut file = std::fs::File::create(&temp)?;
    file.write_all(&bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temp, path)
}
