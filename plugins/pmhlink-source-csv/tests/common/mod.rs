//! The built cdylib of this crate, driven across the ABI through the pdk's test harness.
// Each test binary of the crate uses a different part of this module.
#![allow(dead_code, unused_imports)]

use std::path::PathBuf;

use pmhlink_pdk::conformance::built_cdylib;
use pmhlink_pdk::harness;
pub use pmhlink_pdk::harness::{Read, columns, read_all};
use pmhlink_plugin_api::{PluginModRef, RPluginError, SourceBox};

/// The cdylib cargo built alongside this test.
pub fn library_path() -> PathBuf {
    built_cdylib(env!("CARGO_PKG_NAME"))
}

pub fn plugin() -> PluginModRef {
    harness::module(&library_path())
}

pub fn open(config: &serde_json::Value) -> Result<SourceBox, RPluginError> {
    harness::open_source(&library_path(), config)
}
