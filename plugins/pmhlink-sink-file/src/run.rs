//! One run in the drop folder: files go into `<dir>/.<run>.partial/`, which becomes
//! `<dir>/<run>/` only when the run commits.

use std::{
    fs,
    path::{Path, PathBuf},
};

use pmhlink_pdk::PluginError;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::fsio::{io_error, remove_dir_if_any, sync_dir, write_atomic};

pub const MANIFEST: &str = "manifest.json";

struct Delivered {
    name: String,
    sha256: String,
    bytes: u64,
    records: u64,
    seq: u32,
}

pub struct Run {
    pub id: String,
    partial: PathBuf,
    files: Vec<Delivered>,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        })
}

/// `<dir>/<run>`: where a committed run lives.
pub fn final_dir(dir: &Path, id: &str) -> PathBuf {
    dir.join(id)
}

pub fn partial_dir(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!(".{id}.partial"))
}

pub fn already_there(dir: &Path, id: &str) -> PluginError {
    PluginError::data(format!(
        "run {id} is already in {} (set overwrite = true to replace it)",
        dir.display()
    ))
    .at(final_dir(dir, id).display().to_string())
}

impl Run {
    /// Starts a run with an empty partial folder. A partial folder left by a process that died
    /// before finishing is discarded: none of it was ever final, and this sink cannot know
    /// which of its files the host still counts as delivered.
    pub fn start(dir: &Path, id: &str) -> Result<Self, PluginError> {
        fs::create_dir_all(dir).map_err(|e| io_error("create", dir, &e))?;
        let partial = partial_dir(dir, id);
        remove_dir_if_any(&partial)?;
        fs::create_dir(&partial).map_err(|e| io_error("create", &partial, &e))?;
        Ok(Self {
            id: id.to_owned(),
            partial,
            files: Vec::new(),
        })
    }

    /// Writes one payload file; returns its SHA-256 (hex).
    pub fn deliver(
        &mut self,
        name: &str,
        bytes: &[u8],
        records: u64,
        seq: u32,
    ) -> Result<String, PluginError> {
        if self.files.iter().any(|f| f.name == name) {
            return Err(PluginError::data(format!(
                "file {name} was already delivered in run {}",
                self.id
            )));
        }
        write_atomic(&self.partial, name, bytes)?;
        let sha256 = sha256_hex(bytes);
        self.files.push(Delivered {
            name: name.to_owned(),
            sha256: sha256.clone(),
            bytes: bytes.len() as u64,
            records,
            seq,
        });
        Ok(sha256)
    }

    /// The host's manifest (a JSON object) with the delivered files added as `files`.
    fn manifest(&self, host_json: &str) -> Result<Vec<u8>, PluginError> {
        let mut manifest: Map<String, Value> = match serde_json::from_str(host_json) {
            Ok(Value::Object(map)) => map,
            Ok(_) => {
                return Err(PluginError::data(
                    "the host's manifest is not a JSON object",
                ));
            }
            Err(e) => {
                return Err(PluginError::data(format!(
                    "the host's manifest is not valid JSON (line {}, column {})",
                    e.line(),
                    e.column()
                )));
            }
        };
        // The sink's list replaces any `files` the host wrote: it is what is on disk.
        let files = self
            .files
            .iter()
            .map(|f| {
                json!({
                    "name": f.name,
                    "sha256": f.sha256,
                    "bytes": f.bytes,
                    "records": f.records,
                    "seq": f.seq,
                })
            })
            .collect();
        manifest.insert("files".to_owned(), Value::Array(files));
        let mut text = serde_json::to_vec_pretty(&manifest).expect("a JSON map serialises");
        text.push(b'\n');
        Ok(text)
    }

    /// Writes the manifest and renames the partial folder to its final name. On error the
    /// partial folder stays (under its hidden name) for an abort to remove.
    pub fn commit(
        &self,
        dir: &Path,
        host_manifest: &str,
        overwrite: bool,
    ) -> Result<String, PluginError> {
        let manifest = self.manifest(host_manifest)?;
        write_atomic(&self.partial, MANIFEST, &manifest)?;
        let target = final_dir(dir, &self.id);
        let mut note = String::new();
        if fs::symlink_metadata(&target).is_ok() {
            if !overwrite {
                return Err(already_there(dir, &self.id));
            }
            note = replace(dir, &self.partial, &target, &self.id)?;
        } else {
            fs::rename(&self.partial, &target).map_err(|e| io_error("rename into", &target, &e))?;
        }
        sync_dir(dir)?;
        let bytes: u64 = self.files.iter().map(|f| f.bytes).sum();
        Ok(format!(
            "run {}: {} files ({bytes} bytes) and {MANIFEST} in {}{note}",
            self.id,
            self.files.len(),
            target.display()
        ))
    }

    /// Removes everything of this run that is not final.
    pub fn abort(self) -> Result<String, PluginError> {
        remove_dir_if_any(&self.partial)?;
        Ok(format!(
            "run {}: aborted, {} delivered files removed",
            self.id,
            self.files.len()
        ))
    }
}

/// Swaps the old run folder for the new one: old aside, new in, old deleted. Two renames
/// rather than a delete first, so a crash in between leaves a complete copy under some name.
fn replace(dir: &Path, partial: &Path, target: &Path, id: &str) -> Result<String, PluginError> {
    let old = dir.join(format!(".{id}.old"));
    remove_dir_if_any(&old)?;
    fs::rename(target, &old).map_err(|e| io_error("move aside", target, &e))?;
    if let Err(e) = fs::rename(partial, target) {
        // Put the old run back rather than leave neither.
        let _ = fs::rename(&old, target);
        return Err(io_error("rename into", target, &e));
    }
    // The new run is final; a leftover copy of the old one is hidden and harmless.
    Ok(match fs::remove_dir_all(&old) {
        Ok(()) => " (replaced the earlier copy)".to_owned(),
        Err(e) => format!(
            " (replaced the earlier copy; could not delete it from {}: {e})",
            old.display()
        ),
    })
}
