//! A pipeline's ledger: what PMH holds (accepted history rows, their content sealed with
//! AES-256-GCM and found only by keyed hashes), what is in flight (a run's plan and its
//! submissions), the runs journal, and quarantine — in one SQLite file per pipeline.
//!
//! The ledger advances only on PMH's acceptance: a plan is written in one transaction that a
//! passed guard commits, a submission is delivered only once its sinks made it final, and a
//! record becomes "held by PMH" only inside the transaction that imports the result proving it.

mod day;
mod delivery;
mod error;
mod journal;
mod keys;
mod plan;
mod quarantine;
mod schema;
mod settle;
mod status;
mod store;

pub use delivery::{SentRow, Staged, Submission, SubmissionState};
pub use error::{LedgerError, Result};
pub use journal::{NewRun, RunRecord, RunState};
pub use keys::*;
pub use plan::{PlanWriter, PlannedRow};
pub use quarantine::{HeldRow, QuarantineChange};
pub use settle::{RecordOutcome, RecordSettlement, Settled, Settlement, ToSettle};
pub use status::Status;
pub use store::{Access, Ledger};
