//! Finding the fixture libraries cargo built for these tests.
//!
//! The fixtures are dev-dependencies of this crate: cargo builds every crate type of a
//! dependency, so their cdylibs land in `target/<profile>/deps/` — the directory this test
//! executable runs from — before the tests start. Nothing links them (no test names the
//! crates), so the only copies of their code in the process are the ones loaded here.

use std::{
    env::consts::{DLL_PREFIX, DLL_SUFFIX},
    fs,
    path::{Path, PathBuf},
};

use tempfile::TempDir;

pub const ECHO: &str = "pmhlink_source_echo";
pub const SINK: &str = "pmhlink_fixture_sink";
pub const ROGUE: &str = "pmhlink_fixture_rogue";
pub const BAD_LEVEL: &str = "pmhlink_fixture_badlevel";
pub const NOT_PLUGIN: &str = "pmhlink_fixture_notplugin";

pub fn file_name(crate_name: &str) -> String {
    format!("{DLL_PREFIX}{crate_name}{DLL_SUFFIX}")
}

/// The built library of fixture crate `crate_name` (underscores).
pub fn built(crate_name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let deps = exe.parent().expect("test executable directory");
    let name = file_name(crate_name);
    [Some(deps), deps.parent()]
        .into_iter()
        .flatten()
        .map(|dir| dir.join(&name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{name} is not built next to {}; is it a dev-dependency of pmhlink-plugin-host?",
                exe.display()
            )
        })
}

/// A fresh directory holding the given fixture libraries, under cargo's per-target temp dir.
pub fn plugin_dir(crates: &[&str]) -> TempDir {
    let dir = tempfile::Builder::new()
        .prefix("plugins-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    for name in crates {
        put(dir.path(), name);
    }
    dir
}

/// Places fixture `crate_name` in `dir`: a hard link where possible (the libraries are large
/// with debug info), else a copy.
pub fn put(dir: &Path, crate_name: &str) {
    let from = built(crate_name);
    let to = dir.join(file_name(crate_name));
    if fs::hard_link(&from, &to).is_err() {
        fs::copy(&from, &to).unwrap();
    }
}
