//! The set of plugins found on the plugin path.

use std::{fmt, io, path::Path};

use pmhlink_plugin_api::abi_stable::std_types::RStr;
use serde::Serialize;

use crate::{
    DirOrigin, HostError, HostSink, HostSource, LoadProblem, PluginDirs, PluginFailure, PluginInfo,
    Verb,
    discover::candidates,
    load::{Loaded, load},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PluginKind {
    Source,
    Sink,
}

impl PluginKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Source => "source",
            Self::Sink => "sink",
        }
    }
}

impl fmt::Display for PluginKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The plugins found on a plugin path. Loaded libraries stay loaded for the life of the
/// process, whether or not the `Host` is dropped.
pub struct Host {
    dirs: PluginDirs,
    plugins: Vec<Loaded>,
    problems: Vec<LoadProblem>,
}

impl Host {
    /// Loads every candidate library in `dirs`, in order. The first plugin with a given name
    /// wins; later ones are reported as [`LoadProblem::Shadowed`].
    ///
    /// A library that cannot be loaded (not a plugin, another API level, …) is a warning in
    /// [`Host::problems`], not an error: plugin directories may hold other libraries, and one
    /// broken plugin must not stop pipelines that do not use it. The one error is a directory
    /// from the pipeline file that cannot be read.
    pub fn discover(dirs: PluginDirs) -> Result<Host, HostError> {
        let mut host = Host {
            dirs: PluginDirs::default(),
            plugins: Vec::new(),
            problems: Vec::new(),
        };
        for dir in dirs.dirs() {
            let files = match candidates(&dir.path) {
                Ok(files) => files,
                Err(err) if dir.origin == DirOrigin::Pipeline => {
                    return Err(HostError::PluginDir {
                        dir: dir.path.clone(),
                        message: err.to_string(),
                    });
                }
                Err(err) => {
                    if err.kind() != io::ErrorKind::NotFound || dir.origin == DirOrigin::EnvVar {
                        host.problems.push(LoadProblem::Dir {
                            dir: dir.path.clone(),
                            message: err.to_string(),
                        });
                    }
                    continue;
                }
            };
            for file in files {
                host.add(load(&file));
            }
        }
        host.dirs = dirs;
        Ok(host)
    }

    /// Loads the one library at `path`, through the same checks as [`Host::discover`]. For
    /// tools and for the pdk's conformance kit, which test a library they just built.
    pub fn load_file(path: impl AsRef<Path>) -> Result<Host, LoadProblem> {
        let loaded = load(path.as_ref())?;
        Ok(Host {
            dirs: PluginDirs::default(),
            plugins: vec![loaded],
            problems: Vec::new(),
        })
    }

    fn add(&mut self, loaded: Result<Loaded, LoadProblem>) {
        match loaded {
            Ok(loaded) => match self.find(&loaded.info.name) {
                Some(first) => self.problems.push(LoadProblem::Shadowed {
                    name: loaded.info.name,
                    path: loaded.info.path,
                    by: first.info.path.clone(),
                }),
                None => self.plugins.push(loaded),
            },
            Err(problem) => self.problems.push(problem),
        }
    }

    fn find(&self, name: &str) -> Option<&Loaded> {
        self.plugins.iter().find(|p| p.info.name == name)
    }

    /// The loaded plugins, in plugin-path order.
    pub fn plugins(&self) -> Vec<PluginInfo> {
        self.plugins.iter().map(|p| p.info.clone()).collect()
    }

    /// Libraries refused and plugins shadowed, in plugin-path order: warnings to show.
    pub fn problems(&self) -> &[LoadProblem] {
        &self.problems
    }

    /// The directories searched (empty for [`Host::load_file`]).
    pub fn dirs(&self) -> &PluginDirs {
        &self.dirs
    }

    /// The plugin named `name`, or an error listing where it was looked for, what is there,
    /// and which libraries were refused.
    pub fn get(&self, name: &str) -> Result<&PluginInfo, HostError> {
        self.loaded(name).map(|p| &p.info)
    }

    fn loaded(&self, name: &str) -> Result<&Loaded, HostError> {
        self.find(name).ok_or_else(|| HostError::NoPlugin {
            name: name.to_owned(),
            searched: self.dirs.paths().map(Path::to_path_buf).collect(),
            available: self.plugins.iter().map(|p| p.info.name.clone()).collect(),
            refused: self
                .problems
                .iter()
                .filter(|p| p.is_refusal())
                .cloned()
                .collect(),
        })
    }

    fn of_kind(&self, name: &str, wanted: PluginKind) -> Result<&Loaded, HostError> {
        let plugin = self.loaded(name)?;
        if plugin.info.kind != wanted {
            return Err(HostError::WrongKind {
                name: name.to_owned(),
                is: plugin.info.kind,
                wanted,
            });
        }
        Ok(plugin)
    }

    /// Opens source `name` with its configuration object (passed to the plugin as JSON text).
    pub fn open_source(
        &self,
        name: &str,
        config: &serde_json::Value,
    ) -> Result<HostSource, HostError> {
        let plugin = self.of_kind(name, PluginKind::Source)?;
        let config = config.to_string();
        let source = (plugin.module.open_source())(RStr::from_str(&config))
            .into_result()
            .map_err(|err| PluginFailure::from_plugin(name, Verb::Open, err))?;
        Ok(HostSource::new(name, source))
    }

    /// Opens sink `name` with its configuration object (passed to the plugin as JSON text).
    pub fn open_sink(&self, name: &str, config: &serde_json::Value) -> Result<HostSink, HostError> {
        let plugin = self.of_kind(name, PluginKind::Sink)?;
        let config = config.to_string();
        let sink = (plugin.module.open_sink())(RStr::from_str(&config))
            .into_result()
            .map_err(|err| PluginFailure::from_plugin(name, Verb::Open, err))?;
        Ok(HostSink::new(name, sink))
    }
}

impl fmt::Debug for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Host")
            .field("dirs", &self.dirs)
            .field(
                "plugins",
                &self
                    .plugins
                    .iter()
                    .map(|p| &p.info.name)
                    .collect::<Vec<_>>(),
            )
            .field("problems", &self.problems)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The runner shares the host between threads and reads a source on its own thread.
    #[test]
    fn handles_cross_threads() {
        fn send_sync<T: Send + Sync>() {}
        fn send<T: Send>() {}
        send_sync::<Host>();
        send::<HostSource>();
        send::<HostSink>();
    }
}
