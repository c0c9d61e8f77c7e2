//! **Test fixture plugin** — a pmhlink sink that "delivers" payloads into a local directory.
//! It exists to exercise the sink half of the ABI in tests; it talks to no PMH.
//!
//! ```json
//! { "dir": "/tmp/out", "panic_on_deliver": false }
//! ```
//!
//! A run's files go to `<dir>/.staging-<run_id>/` first; `finish` with `commit` moves them to
//! `<dir>/<run_id>/` and writes `manifest.json` there, without `commit` it deletes the staging
//! directory. `poll` answers `Completed` with a tiny JSON result naming the file; `import`
//! returns a file's bytes.

use std::{
    fs,
    path::{Path, PathBuf},
};

use pmhlink_pdk::{
    PluginError, PluginSpec, SinkPlugin,
    api::{ROutcome, ROutcomeState, RPayload, RReceipt, RRunEnd},
};
use serde::Deserialize;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The directory each run's files go into (`<dir>/<run_id>/`).
    #[schemars(length(min = 1))]
    pub dir: String,
    /// Panic in `deliver`, to test that the host survives a panicking sink.
    #[serde(default)]
    pub panic_on_deliver: bool,
}

pub fn spec() -> PluginSpec {
    PluginSpec::new(
        "dir-sink",
        env!("CARGO_PKG_VERSION"),
        "Test fixture: writes payloads into a local directory. Not for production use.",
    )
    .config_schema_of::<Config>()
    .capability("test-fixture")
}

pub struct DirSink {
    dir: PathBuf,
    panic_on_deliver: bool,
    /// Files delivered in the current run.
    delivered: Vec<String>,
    run_id: Option<String>,
}

pub fn open(config: Config) -> Result<DirSink, PluginError> {
    if config.dir.is_empty() {
        return Err(PluginError::config("config `dir`: must not be empty").at("dir"));
    }
    Ok(DirSink {
        dir: config.dir.into(),
        panic_on_deliver: config.panic_on_deliver,
        delivered: Vec::new(),
        run_id: None,
    })
}

/// A run id or file name used as one path component: no separators, no `..`.
fn component(what: &str, text: &str) -> Result<(), PluginError> {
    if text.is_empty() || text == "." || text == ".." || text.contains(['/', '\\']) {
        return Err(PluginError::data(format!(
            "{what} is not usable as a file name"
        )));
    }
    Ok(())
}

impl DirSink {
    fn staging(&self, run_id: &str) -> PathBuf {
        self.dir.join(format!(".staging-{run_id}"))
    }
}

fn io_at(path: &Path) -> impl FnOnce(std::io::Error) -> PluginError + '_ {
    move |err| PluginError::from(err).at(path.display().to_string())
}

impl SinkPlugin for DirSink {
    fn check(&self) -> Result<String, PluginError> {
        if !self.dir.is_dir() {
            return Err(PluginError::io("the output directory does not exist").at("dir"));
        }
        Ok(format!("writing to {}", self.dir.display()))
    }

    fn deliver(&mut self, payload: RPayload) -> Result<RReceipt, PluginError> {
        assert!(!self.panic_on_deliver, "dir-sink: panic_on_deliver is set");
        component("the run id", &payload.run_id)?;
        component("the file name", &payload.file_name)?;
        if self
            .run_id
            .as_deref()
            .is_some_and(|r| r != payload.run_id.as_str())
        {
            return Err(PluginError::data(
                "a payload of another run before `finish`",
            ));
        }
        let staging = self.staging(&payload.run_id);
        fs::create_dir_all(&staging).map_err(io_at(&staging))?;
        let path = staging.join(payload.file_name.as_str());
        fs::write(&path, payload.bytes.as_slice()).map_err(io_at(&path))?;
        self.run_id = Some(payload.run_id.to_string());
        self.delivered.push(payload.file_name.to_string());
        Ok(RReceipt {
            id: payload.file_name,
            detail: format!("staged in {}", staging.display()).into(),
        })
    }

    fn poll(&mut self, receipt: RReceipt) -> Result<ROutcome, PluginError> {
        let result = format!(r#"{{"file": "{}", "status": "accepted"}}"#, receipt.id);
        Ok(ROutcome {
            state: ROutcomeState::Completed,
            result_bytes: result.into_bytes().into(),
        })
    }

    fn import(&mut self, path: &str) -> Result<Vec<u8>, PluginError> {
        fs::read(path).map_err(|err| PluginError::from(err).at(path))
    }

    fn finish(&mut self, end: RRunEnd) -> Result<String, PluginError> {
        component("the run id", &end.run_id)?;
        let staging = self.staging(&end.run_id);
        let files = std::mem::take(&mut self.delivered).len();
        self.run_id = None;
        if !end.commit {
            if staging.exists() {
                fs::remove_dir_all(&staging).map_err(io_at(&staging))?;
            }
            return Ok(format!("discarded {files} file(s)"));
        }
        fs::create_dir_all(&staging).map_err(io_at(&staging))?;
        let manifest = staging.join("manifest.json");
        fs::write(&manifest, end.manifest_json.as_bytes()).map_err(io_at(&manifest))?;
        let done = self.dir.join(end.run_id.as_str());
        fs::rename(&staging, &done).map_err(io_at(&done))?;
        Ok(format!("{files} file(s) in {}", done.display()))
    }
}

pmhlink_pdk::export_sink_plugin!(spec, open);
