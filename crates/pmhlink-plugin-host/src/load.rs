//! Loading one library: the API level first, then abi_stable's root module, then the spec.

use std::path::{Path, PathBuf};

use pmhlink_plugin_api::{
    API_LEVEL, API_LEVEL_SYMBOL, ApiLevelFn, PluginModRef, RPluginKind, RPluginSpec,
    abi_stable::library::lib_header_from_path,
};
use serde::Serialize;

use crate::{LoadProblem, PluginKind};

/// What `pmhlink plugins` shows about a loaded plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PluginInfo {
    /// The spec's name; what a pipeline file refers to.
    pub name: String,
    pub kind: PluginKind,
    /// The plugin's own version.
    pub version: String,
    pub api_level: u32,
    pub path: PathBuf,
    pub description: String,
    pub capabilities: Vec<String>,
    /// JSON Schema of the plugin's configuration object, as the plugin sent it.
    pub config_schema_json: String,
}

pub(crate) struct Loaded {
    pub info: PluginInfo,
    pub module: PluginModRef,
}

/// The root module of the plugin at `path`, loaded and checked exactly as the host loads
/// plugins (level first, then layout). For tests that drive a plugin across the ABI.
pub fn load_module(path: &Path) -> Result<PluginModRef, LoadProblem> {
    load(path).map(|loaded| loaded.module)
}

/// Loads the plugin at `path`. The library is never unloaded, whatever the outcome: plugins
/// register thread-local destructors and hand out vtables whose code lives in the library,
/// and abi_stable leaks its handle too.
pub(crate) fn load(path: &Path) -> Result<Loaded, LoadProblem> {
    let level = api_level(path)?;
    if level != API_LEVEL {
        return Err(LoadProblem::IncompatibleLevel {
            path: path.to_owned(),
            plugin_level: level,
            host_level: API_LEVEL,
        });
    }
    // Not `RootModule::load_from_file`: it caches one module per root-module type for the
    // whole process, so every plugin after the first would silently be the first again.
    let module = lib_header_from_path(path)
        .and_then(|header| header.init_root_module::<PluginModRef>())
        .map_err(|err| LoadProblem::Module {
            path: path.to_owned(),
            message: err.to_string(),
        })?;
    let spec = (module.spec())();
    let info = info(path, level, spec)?;
    Ok(Loaded { info, module })
}

/// Reads the level with a bare `dlopen`/`dlsym`, before abi_stable's layout checks: a plugin
/// from another level gets a message naming both levels instead of a layout diff, and a
/// library that is no plugin at all (a dependency lying in the same directory) is told apart.
// `unsafe`: opening a library runs its initialisers, and the symbol's type is taken on trust
// from the protocol. That is what loading a plugin is; there is no safe way to do it.
#[allow(unsafe_code)]
fn api_level(path: &Path) -> Result<u32, LoadProblem> {
    let lib = unsafe { libloading::Library::new(path) }.map_err(|err| LoadProblem::Open {
        path: path.to_owned(),
        message: err.to_string(),
    })?;
    let level = unsafe { lib.get::<ApiLevelFn>(API_LEVEL_SYMBOL.as_bytes()) }
        .map(|level_fn| level_fn())
        .map_err(|_| LoadProblem::NotAPlugin {
            path: path.to_owned(),
        });
    // Even a library that is no plugin stays loaded: unloading Rust code that may have
    // started threads or registered destructors is not safe.
    std::mem::forget(lib);
    level
}

fn info(path: &Path, level: u32, spec: RPluginSpec) -> Result<PluginInfo, LoadProblem> {
    let bad = |problem: String| LoadProblem::BadSpec {
        path: path.to_owned(),
        problem,
    };
    let kind = match spec.kind {
        RPluginKind::Source => PluginKind::Source,
        RPluginKind::Sink => PluginKind::Sink,
        other => {
            return Err(bad(format!(
                "unknown plugin kind {} (a kind from a newer plugin API?)",
                other.0
            )));
        }
    };
    if spec.api_level != level {
        return Err(bad(format!(
            "its spec says plugin API level {} but the library exports level {level}",
            spec.api_level
        )));
    }
    if spec.name.trim().is_empty() {
        return Err(bad("its spec has an empty name".to_owned()));
    }
    Ok(PluginInfo {
        name: spec.name.into(),
        kind,
        version: spec.version.into(),
        api_level: spec.api_level,
        path: path.to_owned(),
        description: spec.description.into(),
        capabilities: spec.capabilities.into_iter().map(String::from).collect(),
        config_schema_json: spec.config_schema_json.into(),
    })
}
