//! **Test fixture** — looks like a plugin built for the next plugin API level: it exports
//! `pmhlink_plugin_api_level` returning `API_LEVEL + 1` and nothing else. The host must refuse
//! it after reading the level, naming both levels, without touching anything else in it.

/// The level a future pdk would export.
// `no_mangle` is `unsafe` because names can clash at link time; this name is the protocol's.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn pmhlink_plugin_api_level() -> u32 {
    pmhlink_plugin_api::API_LEVEL + 1
}
