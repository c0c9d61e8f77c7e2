//! The daily run: sources → join → map and clean → check → quarantine → diff against the
//! ledger → payloads → sinks → results → report. Meaning lives here, once; plugins only move
//! rows and bytes.
//!
//! The binary and the tests use the facade below: [`run`] a day, [`prepare`] a pipeline for
//! `check`, [`results`] for PMH's answers; the modules under it are the phases' workings.

pub mod clean;
pub mod compile;
mod conclude;
pub mod day;
pub mod deliver;
pub mod failpoint;
pub mod identifiers;
pub mod join;
pub mod map;
pub mod mapping;
pub mod monitor;
pub mod pipeline;
pub mod plugins;
pub mod prepare;
mod progress;
pub mod quarantine;
pub mod report;
pub mod results;
pub mod run;
pub mod sync;
pub mod table;
pub mod vocab;

pub use pipeline::{Finished, Options, kind_name, run, run_id, summary_line};
pub use prepare::{Prepared, existing_ledger, load_profile, master_key, prepare, stored_profile};
pub use report::{Outcome, RunReport};
pub use vocab::{Mode, PipelineError, RunError, exit};
