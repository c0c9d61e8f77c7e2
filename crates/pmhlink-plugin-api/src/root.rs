//! The root module every plugin exports.

use abi_stable::{
    StableAbi, declare_root_module_statics,
    library::RootModule,
    package_version_strings,
    sabi_types::VersionStrings,
    std_types::{RResult, RStr},
};

use crate::{RPluginError, RPluginSpec, SinkBox, SourceBox};

/// The plugin's entry points. A prefix type: new functions are appended after `open_sink`
/// (see the crate docs), so hosts see them as `Option`s.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModRef)))]
pub struct PluginMod {
    pub spec: extern "C" fn() -> RPluginSpec,
    /// `config_json` is the plugin's configuration object as JSON text.
    pub open_source: extern "C" fn(config_json: RStr<'_>) -> RResult<SourceBox, RPluginError>,
    #[sabi(last_prefix_field)]
    pub open_sink: extern "C" fn(config_json: RStr<'_>) -> RResult<SinkBox, RPluginError>,
}

impl RootModule for PluginModRef {
    declare_root_module_statics! {PluginModRef}
    const BASE_NAME: &'static str = "pmhlink_plugin";
    const NAME: &'static str = "pmhlink_plugin";
    // This crate's version: abi_stable refuses a library whose major version differs.
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}
