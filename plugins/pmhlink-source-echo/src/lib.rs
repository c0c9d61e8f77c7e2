//! **Test fixture plugin** — a pmhlink source that returns the rows written in its own
//! configuration. It exists to exercise the plugin ABI in tests (including panics and row
//! errors on demand); it reads no files and has no production use.
//!
//! ```json
//! { "columns": ["x", "y"], "rows": [["a", "b"], ["c", "d"]], "panic_on_read": false }
//! ```
//!
//! Optional: `repeat` (emit the rows this many times, for benchmarks), `error_rows`
//! (indices of emitted rows to flag with a row error), `panic_on_open`.

use pmhlink_pdk::{
    PluginError, PluginSpec, SourcePlugin,
    api::{BatchBuilder, RBatch},
};
use serde::Deserialize;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The column names `discover` gives.
    pub columns: Vec<String>,
    /// The rows returned, each as many cells as `columns`.
    pub rows: Vec<Vec<String>>,
    /// Panic in `next_batch`.
    #[serde(default)]
    pub panic_on_read: bool,
    /// Panic in `open`.
    #[serde(default)]
    pub panic_on_open: bool,
    /// Emit the rows this many times (for benchmarks).
    #[serde(default = "one")]
    pub repeat: u64,
    /// Indices of emitted rows to flag with a row error.
    #[serde(default)]
    pub error_rows: Vec<u64>,
}

fn one() -> u64 {
    1
}

pub fn spec() -> PluginSpec {
    PluginSpec::new(
        "echo",
        env!("CARGO_PKG_VERSION"),
        "Test fixture: returns the rows in its configuration. Not for production use.",
    )
    .config_schema_of::<Config>()
    .capability("test-fixture")
}

pub struct Echo {
    config: Config,
    /// Index of the next row to emit, counting repeats.
    next: u64,
}

pub fn open(config: Config) -> Result<Echo, PluginError> {
    assert!(!config.panic_on_open, "echo: panic_on_open is set");
    Ok(Echo { config, next: 0 })
}

impl SourcePlugin for Echo {
    fn check(&self) -> Result<(), PluginError> {
        let width = self.config.columns.len();
        match self.config.rows.iter().position(|r| r.len() != width) {
            Some(i) => Err(PluginError::config(format!(
                "row {i} has a different number of cells than `columns`"
            ))
            .at(format!("rows[{i}]"))),
            None => Ok(()),
        }
    }

    fn discover(&self) -> Result<Vec<String>, PluginError> {
        Ok(self.config.columns.clone())
    }

    fn next_batch(&mut self, max_rows: usize) -> Result<Option<RBatch>, PluginError> {
        assert!(!self.config.panic_on_read, "echo: panic_on_read is set");
        let per_pass = self.config.rows.len() as u64;
        let total = per_pass * self.config.repeat;
        if self.next >= total {
            return Ok(None);
        }
        let count = (total - self.next).min(max_rows as u64);
        let mut batch = BatchBuilder::with_capacity(count as usize, 0, 0);
        for index in self.next..self.next + count {
            let row = &self.config.rows[(index % per_pass) as usize];
            for cell in row {
                batch.push_cell(cell);
            }
            // Line 1 would be a header in a real file.
            let line = index + 2;
            if self.config.error_rows.contains(&index) {
                batch.row_error(format!("line {line}, column 1: fixture row error"));
            }
            batch.end_row(line);
        }
        self.next += count;
        Ok(Some(batch.finish()))
    }
}

pmhlink_pdk::export_source_plugin!(spec, open);
