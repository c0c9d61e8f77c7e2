//! The host against real plugin libraries (see `common.rs` for where they come from).

mod common;
mod discover;
mod sink;
mod source;
