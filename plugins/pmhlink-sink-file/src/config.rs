//! The `file` sink's configuration and its JSON Schema.

use std::path::PathBuf;

use pmhlink_pdk::PluginError;
use serde::Deserialize;

/// As written in the pipeline file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub dir: PathBuf,
    #[serde(default)]
    pub overwrite: bool,
}

pub const SCHEMA: &str = r#"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "file sink",
  "description": "Writes each run's payload files and a manifest.json into <dir>/<run_id>/, for the agency's batch tool or a manual upload. Files are written under <dir>/.<run_id>.partial/ and the folder is renamed only when the run commits, so nothing half-written ever carries a final name. Results come back by hand (import).",
  "type": "object",
  "additionalProperties": false,
  "required": ["dir"],
  "properties": {
    "dir": {
      "type": "string",
      "minLength": 1,
      "description": "The drop folder; created if missing. Each committed run becomes one subfolder named after the run id."
    },
    "overwrite": {
      "type": "boolean",
      "default": false,
      "description": "Whether a run whose folder is already in `dir` may be replaced. Off, committing (and delivering to) such a run is an error."
    }
  }
}"#;

impl Config {
    pub fn settle(self) -> Result<Self, PluginError> {
        if self.dir.as_os_str().is_empty() {
            return Err(PluginError::config("`dir` is empty").at("dir"));
        }
        Ok(self)
    }
}
