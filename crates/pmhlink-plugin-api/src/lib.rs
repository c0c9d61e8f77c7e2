//! The pmhlink plugin ABI.
//!
//! A plugin is a dynamic library (`cdylib`) that does I/O for the host: a **source** yields
//! tables of text cells ([`RBatch`]), a **sink** moves payload bytes and returns receipts and
//! results. Meaning (mapping, checks, diffs, PMH layout) stays in the host.
//!
//! This crate is the only one a plugin and the host share. Plugin authors normally use it
//! through `pmhlink-pdk`, which generates the exports below and catches panics.
//!
//! # What a plugin exports
//!
//! 1. A plain C function [`API_LEVEL_SYMBOL`] (`pmhlink_plugin_api_level`) of type
//!    [`ApiLevelFn`]. The host reads it with a bare `dlopen`/`dlsym` *before* abi_stable's layout
//!    checks, so an incompatible plugin is refused with a message naming both levels instead of
//!    a layout diff. A library without the symbol is not a pmhlink plugin.
//! 2. An abi_stable root module [`PluginModRef`] (`BASE_NAME` `pmhlink_plugin`): `spec`,
//!    `open_source`, `open_sink`. A source plugin's `open_sink` returns an
//!    [`RErrorKind::Unsupported`] error, and vice versa.
//!
//! # Loading (host side)
//!
//! Use `abi_stable::library::lib_header_from_path(path)?.init_root_module::<PluginModRef>()`.
//! Do **not** use `RootModule::load_from_file`: it caches one module per root-module *type* in
//! a process-wide static, so a second plugin would silently be the first one again.
//! Never unload a plugin library (abi_stable leaks it on purpose).
//!
//! # Evolution rules (append-only)
//!
//! - [`API_LEVEL`] is this crate's major version. Bump both on any incompatible change; the
//!   host refuses a plugin whose level differs from its own.
//! - Compatible additions bump the minor version and only ever *append*:
//!   - a new root-module function or trait-object method goes at the end, *after* the field
//!     marked `#[sabi(last_prefix_field)]`; the marker itself stays where it is (moving it
//!     makes every older plugin incompatible). Hosts see appended fields as `Option`s and
//!     must handle a plugin that lacks them.
//!   - fields are never reordered, removed, renamed to a new meaning or retyped.
//! - Plain `#[repr(C)]` structs ([`RPluginSpec`], [`RBatch`], [`RPayload`]…) are checked
//!   field by field: any field added to them is an incompatible change. Put extension data in
//!   the JSON strings or in a new appended function instead.
//! - Kinds and states ([`RPluginKind`], [`RErrorKind`], [`ROutcomeState`]) are `u8` newtypes
//!   with associated constants, not Rust enums, so a new value is a compatible addition:
//!   every `match` on them needs a `_` arm (an unknown error kind is treated as `Other`, an
//!   unknown plugin kind or outcome state is refused by the host).
//!
//! # Rules every plugin follows
//!
//! - Only `R*`/`#[repr(C)]` types cross the boundary; no tokio (a plugin that needs async owns
//!   its own runtime), no panics across it.
//! - Error messages name files, lines, columns and fields — never record content (My Number,
//!   names, addresses, birth dates) and never configuration values (they may hold secrets).

mod batch;
mod column_type;
mod error;
mod kinds;
mod root;
mod sink;
mod source;
mod spec;

pub use abi_stable;

pub use batch::{BatchBuilder, BatchError, RBatch, RRowError, RowCells};
pub use column_type::ColumnType;
pub use error::RPluginError;
pub use kinds::{RErrorKind, ROutcomeState, RPluginKind};
pub use root::{PluginMod, PluginModRef};
pub use sink::{ROutcome, RPayload, RReceipt, RRunEnd, Sink, Sink_TO, SinkBox};
pub use source::{Source, Source_TO, SourceBox};
pub use spec::RPluginSpec;

/// The plugin API level; equal to this crate's major version.
pub const API_LEVEL: u32 = 1;

/// Name of the C function every plugin exports, returning its [`API_LEVEL`].
pub const API_LEVEL_SYMBOL: &str = "pmhlink_plugin_api_level";

/// Type of the [`API_LEVEL_SYMBOL`] function.
pub type ApiLevelFn = extern "C" fn() -> u32;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_level_is_the_major_version() {
        assert_eq!(env!("CARGO_PKG_VERSION_MAJOR"), API_LEVEL.to_string());
    }
}
