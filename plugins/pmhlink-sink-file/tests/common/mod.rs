//! Loads the built `cdylib` the way a host does (level check first, then abi_stable's root
//! module from the file) and drives the sink across the ABI.

use std::{
    path::{Path, PathBuf},
    sync::OnceLock,
};

use pmhlink_pdk::conformance::built_cdylib;
use pmhlink_plugin_api::{
    API_LEVEL, API_LEVEL_SYMBOL, ApiLevelFn, PluginModRef, RPluginError, SinkBox,
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

pub fn open(config: &serde_json::Value) -> Result<SinkBox, RPluginError> {
    (plugin().open_sink())(RStr::from_str(&config.to_string())).into_result()
}
