//! Every call into a plugin instance goes through [`Guard::call`].

use std::cell::OnceCell;

use pmhlink_plugin_api::{RPluginError, abi_stable::std_types::RResult};

use crate::{PluginFailure, Verb};

pub(crate) struct Guard {
    pub plugin: String,
    /// Set by the first fatal failure (a panic or a protocol violation). The instance's state is
    /// unknown after one, so it is never called again and every later call gets the original
    /// failure — which names the verb and place where things actually went wrong.
    fatal: OnceCell<PluginFailure>,
}

impl Guard {
    pub fn new(plugin: &str) -> Self {
        Self {
            plugin: plugin.to_owned(),
            fatal: OnceCell::new(),
        }
    }

    pub fn call<T>(
        &self,
        verb: Verb,
        f: impl FnOnce() -> RResult<T, RPluginError>,
    ) -> Result<T, PluginFailure> {
        if let Some(fatal) = self.fatal.get() {
            return Err(fatal.clone());
        }
        f().into_result()
            .map_err(|err| self.fail(PluginFailure::from_plugin(&self.plugin, verb, err)))
    }

    /// Records `failure` if it is fatal, and returns it.
    pub fn fail(&self, failure: PluginFailure) -> PluginFailure {
        if failure.is_fatal() {
            let _ = self.fatal.set(failure.clone());
        }
        failure
    }
}
