//! **Test fixture plugin** — a pmhlink source that misbehaves in the way its configuration
//! asks, so the host's protocol checks and the pdk's conformance kit can be shown to catch it.
//!
//! ```json
//! { "mode": "malformed-batch", "secret": "…" }
//! ```
//!
//! Modes: `good` (one column `x`, rows `1`, `2`, `3` on lines 2–4), `malformed-batch`,
//! `empty-batch`, `too-many-rows`, `unknown-error-kind`, `leak-config` (a config error that
//! quotes `secret`), `unordered-lines`, `unstable-discover`, `panic` (panics when asked for a
//! batch), `hang` (never answers when asked for a batch).

use std::sync::atomic::{AtomicU32, Ordering};

use pmhlink_pdk::{
    PluginError, PluginSpec, SourcePlugin,
    api::{
        BatchBuilder, RBatch, RErrorKind, RRowError,
        abi_stable::std_types::{RString, RVec},
    },
};
use serde::Deserialize;

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    Good,
    MalformedBatch,
    EmptyBatch,
    TooManyRows,
    UnknownErrorKind,
    LeakConfig,
    UnorderedLines,
    UnstableDiscover,
    Panic,
    Hang,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub mode: Mode,
    #[serde(default)]
    pub secret: String,
}

pub fn spec() -> PluginSpec {
    PluginSpec::new(
        "rogue",
        env!("CARGO_PKG_VERSION"),
        "Test fixture: breaks the plugin rules on demand. Not for production use.",
    )
    .config_schema(
        r#"{"type": "object", "required": ["mode"],
            "properties": {"mode": {"type": "string"}, "secret": {"type": "string"}}}"#,
    )
    .capability("test-fixture")
}

pub struct Rogue {
    mode: Mode,
    next: u64,
    discovered: AtomicU32,
}

pub fn open(config: Config) -> Result<Rogue, PluginError> {
    if config.mode == Mode::LeakConfig {
        // Exactly what a plugin must never do: quote a configuration value.
        return Err(PluginError::config(format!(
            "config `secret`: {} is not accepted",
            config.secret
        ))
        .at("secret"));
    }
    Ok(Rogue {
        mode: config.mode,
        next: 0,
        discovered: AtomicU32::new(0),
    })
}

/// Same fields, same order, same `#[repr(C)]` as `RBatch`, whose fields are private so that
/// well-behaved plugins cannot build an inconsistent batch.
#[repr(C)]
struct RawBatch {
    text: RString,
    cell_ends: RVec<u32>,
    row_ends: RVec<u32>,
    lines: RVec<u64>,
    row_errors: RVec<RRowError>,
}

/// A batch whose second cell ends inside the first character of its text.
fn malformed() -> RBatch {
    let raw = RawBatch {
        text: "名".into(),
        cell_ends: vec![1, 3].into(),
        row_ends: vec![2].into(),
        lines: vec![2].into(),
        row_errors: RVec::new(),
    };
    // `unsafe`: forging a malformed batch is the point of this fixture; the layouts are
    // identical (`#[repr(C)]`, same field types in the same order) and transmute checks sizes.
    #[allow(unsafe_code)]
    unsafe {
        std::mem::transmute::<RawBatch, RBatch>(raw)
    }
}

impl SourcePlugin for Rogue {
    fn check(&self) -> Result<(), PluginError> {
        Ok(())
    }

    fn discover(&self) -> Result<Vec<String>, PluginError> {
        let calls = self.discovered.fetch_add(1, Ordering::Relaxed);
        if self.mode == Mode::UnstableDiscover && calls > 0 {
            return Ok(vec!["x".into(), "y".into()]);
        }
        Ok(vec!["x".into()])
    }

    fn next_batch(&mut self, max_rows: usize) -> Result<Option<RBatch>, PluginError> {
        match self.mode {
            Mode::MalformedBatch => return Ok(Some(malformed())),
            Mode::EmptyBatch => return Ok(Some(BatchBuilder::new().finish())),
            Mode::UnknownErrorKind => {
                return Err(PluginError::new(RErrorKind(200), "a kind from the future").at("x"));
            }
            Mode::Panic => panic!("the rogue fixture panics on request"),
            Mode::Hang => loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            },
            _ => {}
        }
        if self.next >= 3 {
            return Ok(None);
        }
        let count = match self.mode {
            Mode::TooManyRows => 3,
            _ => (3 - self.next).min(max_rows as u64),
        };
        let mut batch = BatchBuilder::new();
        for index in self.next..self.next + count {
            batch.push_cell(&(index + 1).to_string());
            let line = match self.mode {
                Mode::UnorderedLines => 4 - index,
                _ => index + 2,
            };
            batch.end_row(line);
        }
        self.next += count;
        Ok(Some(batch.finish()))
    }
}

pmhlink_pdk::export_source_plugin!(spec, open);
