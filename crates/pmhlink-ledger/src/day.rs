//! A run's day record: what its reading found (source counts, findings, the quarantine list),
//! written by the runner, sealed, and kept in the transaction that commits the run's plan. A
//! resumed run, or a re-run of a finished day, reports from it exactly what the day was.

use rusqlite::{OptionalExtension, params};

use crate::error::{LedgerError, Result};
use crate::plan::PlanWriter;
use crate::store::Ledger;

/// The associated data a day record is sealed with: a record cannot be moved to another run.
fn aad(run_id: &str) -> Vec<u8> {
    let mut aad = b"day-record\0".to_vec();
    aad.extend_from_slice(run_id.as_bytes());
    aad
}

impl PlanWriter<'_> {
    /// Keeps the run's day record (opaque bytes, sealed here) with the plan: both are committed
    /// together or not at all.
    pub fn keep_day_record(&mut self, record: &[u8]) -> Result<()> {
        let sealed = self.keys.seal(record, &aad(&self.run_id));
        self.tx
            .execute(
                "INSERT OR REPLACE INTO day_records (run_id, sealed) VALUES (?1, ?2)",
                params![self.run_id, sealed],
            )
            .map_err(|e| LedgerError::from_sql(self.path, e))?;
        Ok(())
    }
}

impl Ledger {
    /// The day record kept with `run_id`'s plan, if it has one.
    pub fn day_record(&self, run_id: &str) -> Result<Option<Vec<u8>>> {
        let sealed: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT sealed FROM day_records WHERE run_id = ?1",
                [run_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| LedgerError::from_sql(&self.path, e))?;
        sealed
            .map(|s| {
                // The key was proven when the ledger opened, so a record that fails is damaged.
                self.keys
                    .open(&s, &aad(run_id))
                    .map_err(|_| LedgerError::Corrupt {
                        path: self.path.clone(),
                        detail: format!("the day record of run {run_id} failed authentication"),
                    })
            })
            .transpose()
    }
}
