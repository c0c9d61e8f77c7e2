//! Loads the built `cdylib` the way a host does (level check first, then abi_stable's root
//! module from the file) and reads sources across the ABI.
#![allow(dead_code)]

use std::{
    path::{Path, PathBuf},
    sync::OnceLock,
};

use pmhlink_pdk::conformance::built_cdylib;
use pmhlink_plugin_api::{
    API_LEVEL, API_LEVEL_SYMBOL, ApiLevelFn, PluginModRef, RPluginError, SourceBox,
    abi_stable::{library::lib_header_from_path, std_types::RStr},
};

/// The cdylib cargo built alongside this test.
pub fn library_path() -> PathBuf {
    built_cdylib(env!("CARGO_PKG_NAME"))
}

// `unsafe`: dlopen runs the library's initialisers and the symbol's type is taken on trust;
// that is what loading a plugin means.
#[allow(unsafe_code)]
fn load(path: &Path) -> PluginModRef {
    let lib = unsafe { libloading::Library::new(path) }.unwrap();
    let level = unsafe { lib.get::<ApiLevelFn>(API_LEVEL_SYMBOL.as_bytes()) }.unwrap()();
    // Never unload a plugin library.
    std::mem::forget(lib);
    assert_eq!(level, API_LEVEL);
    // Not `RootModule::load_from_file`: that caches one module per type for the process.
    lib_header_from_path(path)
        .and_then(|header| header.init_root_module::<PluginModRef>())
        .unwrap()
}

pub fn plugin() -> PluginModRef {
    static PLUGIN: OnceLock<PluginModRef> = OnceLock::new();
    *PLUGIN.get_or_init(|| load(&library_path()))
}

pub fn open(config: &serde_json::Value) -> Result<SourceBox, RPluginError> {
    (plugin().open_source())(RStr::from_str(&config.to_string())).into_result()
}

/// Everything a source yields.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Read {
    /// (line, cells)
    pub rows: Vec<(u64, Vec<String>)>,
    /// (row index over the whole read, message)
    pub errors: Vec<(usize, String)>,
    pub batches: Vec<usize>,
}

pub fn read_all(source: &mut SourceBox, max_rows: u32) -> Result<Read, RPluginError> {
    let mut read = Read::default();
    while let Some(batch) = source.next_batch(max_rows).into_result()?.into_option() {
        batch.validate().unwrap();
        assert!(batch.rows() >= 1 && batch.rows() <= max_rows as usize);
        let base = read.rows.len();
        for e in batch.row_errors() {
            read.errors
                .push((base + e.row as usize, e.message.to_string()));
        }
        for i in 0..batch.rows() {
            read.rows
                .push((batch.line(i), batch.row(i).map(str::to_owned).collect()));
        }
        read.batches.push(batch.rows());
    }
    // The end stays the end.
    assert!(source.next_batch(max_rows).unwrap().is_none());
    Ok(read)
}

pub fn columns(source: &SourceBox) -> Vec<String> {
    source
        .discover()
        .unwrap()
        .into_iter()
        .map(|c| c.to_string())
        .collect()
}
