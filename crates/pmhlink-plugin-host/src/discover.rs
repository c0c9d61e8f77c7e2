//! The plugin path: which directories are searched, in which order, and which files in them
//! are candidate libraries.

use std::{
    env::consts::{DLL_PREFIX, DLL_SUFFIX},
    ffi::OsStr,
    fs, io,
    path::{Path, PathBuf},
};

use serde::Serialize;

/// Environment variable with extra plugin directories, separated like `PATH` (`:` on Unix,
/// `;` on Windows).
pub const PLUGIN_PATH_ENV: &str = "PMHLINK_PLUGIN_PATH";

/// Why a directory is on the plugin path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DirOrigin {
    /// Named in the pipeline file.
    Pipeline,
    /// From [`PLUGIN_PATH_ENV`].
    EnvVar,
    /// The directory of the running executable (plugins shipped beside `pmhlink`).
    ExeDir,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PluginDir {
    pub path: PathBuf,
    pub origin: DirOrigin,
}

/// The directories searched for plugins, first first: a plugin name found in an earlier
/// directory shadows the same name in later ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PluginDirs {
    dirs: Vec<PluginDir>,
}

impl PluginDirs {
    /// The pipeline file's plugin directories (already resolved against the pipeline file's
    /// location by the caller), then [`PLUGIN_PATH_ENV`], then the executable's directory.
    pub fn new<P: Into<PathBuf>>(pipeline_dirs: impl IntoIterator<Item = P>) -> Self {
        let exe_dir = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(Path::to_path_buf));
        Self::resolve(
            pipeline_dirs,
            std::env::var_os(PLUGIN_PATH_ENV).as_deref(),
            exe_dir.as_deref(),
        )
    }

    /// [`PluginDirs::new`] with the environment and executable given, for tests and for
    /// callers that want a fixed path (pass `None` to leave either out).
    ///
    /// Empty entries in `plugin_path` are skipped: unlike `PATH`, an empty entry does not mean
    /// the working directory, which would load whatever libraries happen to sit there.
    /// A directory listed twice is kept at its first position.
    pub fn resolve<P: Into<PathBuf>>(
        pipeline_dirs: impl IntoIterator<Item = P>,
        plugin_path: Option<&OsStr>,
        exe_dir: Option<&Path>,
    ) -> Self {
        let pipeline = pipeline_dirs
            .into_iter()
            .map(|p| (p.into(), DirOrigin::Pipeline));
        let env = plugin_path
            .into_iter()
            .flat_map(std::env::split_paths)
            .filter(|p| !p.as_os_str().is_empty())
            .map(|p| (p, DirOrigin::EnvVar));
        let exe = exe_dir.map(|p| (p.to_path_buf(), DirOrigin::ExeDir));

        let mut dirs = Self::default();
        let mut seen = Vec::new();
        for (path, origin) in pipeline.chain(env).chain(exe) {
            // The same directory by another spelling (`./p`, a symlink) is still the same.
            let key = fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
            if !seen.contains(&key) {
                seen.push(key);
                dirs.dirs.push(PluginDir { path, origin });
            }
        }
        dirs
    }

    pub fn dirs(&self) -> &[PluginDir] {
        &self.dirs
    }

    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.dirs.iter().map(|d| d.path.as_path())
    }
}

/// True for a file name a plugin library can have here: `lib*.so` on Linux, `lib*.dylib` on
/// macOS, `*.dll` on Windows.
pub fn is_candidate_name(name: &OsStr) -> bool {
    name.to_str().is_some_and(|name| {
        name.len() > DLL_PREFIX.len() + DLL_SUFFIX.len()
            && name.starts_with(DLL_PREFIX)
            && name.ends_with(DLL_SUFFIX)
    })
}

/// The candidate libraries in `dir`, sorted by file name so discovery is deterministic.
pub(crate) fn candidates(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        // `fs::metadata` follows symlinks: a link to a library is a candidate.
        if is_candidate_name(&entry.file_name())
            && fs::metadata(entry.path()).is_ok_and(|m| m.is_file())
        {
            found.push(entry.path());
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(dirs: &PluginDirs) -> Vec<(String, DirOrigin)> {
        dirs.dirs()
            .iter()
            .map(|d| (d.path.display().to_string(), d.origin))
            .collect()
    }

    #[test]
    #[cfg(unix)]
    fn pipeline_then_env_then_exe_dir_without_repeats() {
        let dirs = PluginDirs::resolve(
            ["/p1", "/p2"],
            Some(OsStr::new("/e1::/p1:/e2:")),
            Some(Path::new("/usr/bin")),
        );
        use DirOrigin::*;
        assert_eq!(
            paths(&dirs),
            [
                ("/p1".into(), Pipeline),
                ("/p2".into(), Pipeline),
                ("/e1".into(), EnvVar),
                ("/e2".into(), EnvVar),
                ("/usr/bin".into(), ExeDir),
            ]
        );
        assert_eq!(
            paths(&PluginDirs::resolve(Vec::<PathBuf>::new(), None, None)),
            []
        );
    }

    #[test]
    fn candidate_names_follow_the_platform() {
        let lib = format!("{DLL_PREFIX}pmhlink_csv{DLL_SUFFIX}");
        assert!(is_candidate_name(OsStr::new(&lib)));
        assert!(!is_candidate_name(OsStr::new("pmhlink.toml")));
        assert!(!is_candidate_name(OsStr::new(&format!(
            "{DLL_PREFIX}{DLL_SUFFIX}"
        ))));
    }

    #[test]
    fn candidates_are_sorted_library_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let name = |stem: &str| format!("{DLL_PREFIX}{stem}{DLL_SUFFIX}");
        for file in [name("b"), name("a"), "notes.txt".to_owned()] {
            fs::write(dir.path().join(file), b"").unwrap();
        }
        fs::create_dir(dir.path().join(name("dir"))).unwrap();
        let found: Vec<_> = candidates(dir.path())
            .unwrap()
            .into_iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(found, [name("a"), name("b")]);
    }
}
