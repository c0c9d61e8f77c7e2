//! What `pmhlink status` shows: runs, rows by state, submissions awaiting results, quarantine.

use serde::Serialize;

use crate::delivery::Submission;
use crate::error::Result;
use crate::journal::RunRecord;
use crate::store::{Ledger, now_unix};

#[derive(Clone, Debug, Serialize)]
pub struct Status {
    pub ledger: String,
    pub schema_version: i64,
    pub size_bytes: u64,
    /// History rows PMH accepted and holds.
    pub accepted_rows: u64,
    /// Rows sent (or about to be) whose result has not come back.
    pub pending_rows: u64,
    /// Rows of the export held back by checks.
    pub quarantined_by_checks: u64,
    /// Rows PMH refused, awaiting a fix in the source.
    pub rejected_by_pmh: u64,
    /// How long the oldest quarantined row has been held, in days.
    pub oldest_quarantine_days: Option<u64>,
    pub oldest_quarantine_since: Option<i64>,
    /// Runs planned but not fully delivered: the next run resumes them first.
    pub unfinished_runs: Vec<String>,
    pub awaiting_results: Vec<Submission>,
    pub recent_runs: Vec<RunRecord>,
}

impl Ledger {
    pub fn status(&self, recent: u32) -> Result<Status> {
        let count = |sql: &str| -> Result<u64> {
            self.conn
                .query_row(sql, [], |r| r.get::<_, i64>(0))
                .map(|n| n as u64)
                .map_err(|e| self.sql(e))
        };
        let oldest: Option<i64> = self
            .conn
            .query_row("SELECT min(first_at) FROM quarantine", [], |r| r.get(0))
            .map_err(|e| self.sql(e))?;
        Ok(Status {
            ledger: self.path.display().to_string(),
            schema_version: Ledger::schema_version(),
            size_bytes: self.size_bytes(),
            accepted_rows: count("SELECT count(*) FROM rows")?,
            pending_rows: count(
                "SELECT count(*) FROM plan_rows WHERE state IN ('pending', 'superseded') AND action != 'omit'",
            )?,
            quarantined_by_checks: count("SELECT count(*) FROM quarantine WHERE kind = 'check'")?,
            rejected_by_pmh: count("SELECT count(*) FROM quarantine WHERE kind = 'rejected'")?,
            oldest_quarantine_days: oldest.map(|t| (now_unix() - t).max(0) as u64 / 86_400),
            oldest_quarantine_since: oldest,
            unfinished_runs: self
                .unfinished_runs()?
                .into_iter()
                .map(|r| r.run_id)
                .collect(),
            awaiting_results: self.awaiting_results()?,
            recent_runs: self.recent_runs(recent)?,
        })
    }
}
