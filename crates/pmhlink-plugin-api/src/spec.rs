//! What a plugin says about itself across the boundary: name, kind, version, settings schema.

use abi_stable::{
    StableAbi,
    std_types::{RString, RVec},
};

use crate::RPluginKind;

/// What a plugin says about itself; the host shows it and validates configs against the schema.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct RPluginSpec {
    /// Short stable name, e.g. `csv-cp932`.
    pub name: RString,
    /// The plugin's own version (semver text).
    pub version: RString,
    /// The [`API_LEVEL`](crate::API_LEVEL) the plugin was built against.
    pub api_level: u32,
    pub kind: RPluginKind,
    pub description: RString,
    /// JSON Schema of the plugin's configuration object.
    pub config_schema_json: RString,
    /// Free-form feature tags the host may look for, e.g. `cp932`, `manual-import`.
    pub capabilities: RVec<RString>,
}
