//! Plugin development kit for pmhlink.
//!
//! Write a source or sink in plain Rust and export it with one macro:
//!
//! ```ignore
//! use pmhlink_pdk::{PluginError, PluginSpec, SourcePlugin, api::{BatchBuilder, RBatch}};
//!
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! #[serde(deny_unknown_fields)]
//! struct Config {
//!     /// The export file.
//!     path: String,
//! }
//!
//! fn spec() -> PluginSpec {
//!     PluginSpec::new("my-source", env!("CARGO_PKG_VERSION"), "Reads our CSV export")
//!         .config_schema_of::<Config>()
//! }
//!
//! struct MySource { /* reader state */ }
//! impl SourcePlugin for MySource { /* check, discover, next_batch */ }
//!
//! fn open(config: Config) -> Result<MySource, PluginError> { todo!() }
//!
//! pmhlink_pdk::export_source_plugin!(spec, open);
//! ```
//!
//! The crate is a `cdylib` (what the host loads), usually also an `rlib` so tests can link it.
//! The macro generates the `pmhlink_plugin_api_level` symbol and the abi_stable root module,
//! parses the configuration JSON with serde (errors name the key, never the value, see
//! [`parse_config`]) and wraps every call in `catch_unwind`: a panic becomes a `Panic` error
//! naming the plugin and the source location, and the instance refuses further calls.
//! While loaded, the plugin's panic hook records locations only — panic messages may quote
//! record content and are never printed.
//!
//! Besides the export macros, the kit offers what every plugin needs once: [`lines`] (a line
//! reader for BOM, CR LF and strict UTF-8, with line numbers), [`batch`] (how big a batch may
//! grow), [`fs`] (opening an input without blocking, naming a file in positions), [`schema`]
//! (the config schema derived from the settings struct), [`docs`] (the settings page from
//! that schema), [`testing`] (a source's batches as plain rows, for unit tests) and, with the
//! `conformance` feature, the conformance kit.
//!
//! A plugin depends on this crate (and `schemars`, for `#[derive(JsonSchema)]`); [`api`]
//! re-exports the ABI crate (and abi_stable).

mod adapter;
pub mod batch;
mod config;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
pub mod docs;
mod error;
mod export;
pub mod fs;
#[cfg(any(test, feature = "conformance"))]
pub mod harness;
pub mod lines;
mod plugin;
pub mod schema;
pub mod testing;

pub use pmhlink_plugin_api as api;

pub use config::{parse_config, unique_names};
pub use error::PluginError;
pub use plugin::{PluginSpec, SinkPlugin, SourcePlugin};
pub use pmhlink_plugin_api::ColumnType;

/// Used by the export macros; not public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::adapter::{open_sink, open_source, root_module, spec, wrong_kind};
    pub use pmhlink_plugin_api::{
        PluginModRef, RPluginError, RPluginKind, RPluginSpec, SinkBox, SourceBox,
        abi_stable::{
            library::{__call_root_module_loader, CheckTypeLayout, LibHeader, RootModuleResult},
            std_types::{RResult, RStr},
        },
    };
}
