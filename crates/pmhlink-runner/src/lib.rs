//! The daily run: sources → join → map and clean → check → quarantine → payloads → sinks →
//! report. Meaning lives here, once; plugins only move rows and bytes.

pub mod clean;
pub mod compile;
pub mod deliver;
pub mod failpoint;
pub mod join;
pub mod map;
pub mod pipeline;
pub mod plan;
pub mod plugins;
pub mod quarantine;
pub mod report;
pub mod results;
pub mod run;
pub mod sync;
pub mod table;
