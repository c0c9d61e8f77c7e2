//! The PMH interface as data.
//!
//! Everything the agency has not published (paths, limits, CSV layout, nested structures, result
//! format) is an entry of a versioned [`Profile`] file, not code: a vendor with the official
//! design documents corrects a profile. This crate compiles a profile into a per-API [`Layout`],
//! checks records against it, writes payloads split by the profile's limits, and reads payloads
//! and results back. It does no IO of its own beyond the readers and writers it is handed.

pub mod api;
pub mod check;
mod json_stream;
pub mod layout;
pub mod read;
pub mod result;
pub mod spec;
pub mod write;

pub use api::{ApiId, Format, Role, SyncMode};
pub use layout::Layout;
pub use spec::{Profile, ProfileError};
