//! Rows of the export that failed a check, remembered across runs: since when, how many runs in
//! a row. A row that passes again (or leaves the export) drops out.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use crate::error::{LedgerError, Result};
use crate::plan::PlanWriter;
use crate::store::{Ledger, now_unix};

/// A row quarantined by this run's checks.
pub struct HeldRow<'a> {
    /// The row key when the row could be identified, else a keyed hash of the source row.
    pub qkey: [u8; 16],
    /// Finding codes, comma-separated.
    pub codes: &'a str,
    pub history_key: Option<&'a str>,
    pub source: &'a str,
    pub line: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct QuarantineChange {
    pub new: u64,
    pub continuing: u64,
    pub recovered: u64,
}

impl Ledger {
    /// Replaces the set of rows held by checks with this run's (a run whose plan was not
    /// committed: the guard stopped it).
    pub fn record_check_quarantine(
        &mut self,
        run_id: &str,
        rows: &[HeldRow<'_>],
    ) -> Result<QuarantineChange> {
        let previous = self.previous_reading_run(run_id)?;
        let path = self.path.clone();
        let sql = |e| LedgerError::from_sql(&path, e);
        let tx = self.conn.transaction().map_err(sql)?;
        let change = hold_in(&tx, &path, run_id, previous.as_deref(), rows)?;
        tx.commit().map_err(sql)?;
        Ok(change)
    }
}

impl PlanWriter<'_> {
    /// [`Ledger::record_check_quarantine`] inside the plan's transaction: the rows a run held
    /// back are recorded with its plan, or (if it never commits) not at all.
    pub fn hold_quarantined(&mut self, rows: &[HeldRow<'_>]) -> Result<QuarantineChange> {
        let previous = previous_reading_run(&self.tx, &self.run_id)
            .map_err(|e| LedgerError::from_sql(self.path, e))?;
        hold_in(&self.tx, self.path, &self.run_id, previous.as_deref(), rows)
    }
}

/// The latest other run that read the export (and so replaced the check quarantine).
pub(crate) fn previous_reading_run(
    conn: &rusqlite::Connection,
    run_id: &str,
) -> rusqlite::Result<Option<String>> {
    conn.query_row(
        "SELECT run_id FROM runs WHERE run_id != ?1 AND state IN ('prepared', 'delivered', 'settled', 'stopped')
         ORDER BY started_at DESC, run_id DESC LIMIT 1",
        [run_id],
        |r| r.get(0),
    )
    .optional()
}

/// Replaces the check quarantine with `rows`, inside `tx`.
fn hold_in(
    tx: &rusqlite::Transaction<'_>,
    path: &std::path::Path,
    run_id: &str,
    previous: Option<&str>,
    rows: &[HeldRow<'_>],
) -> Result<QuarantineChange> {
    let sql = |e| LedgerError::from_sql(path, e);
    let now = now_unix();
    let mut change = QuarantineChange::default();
    for row in rows {
        let last: Option<String> = tx
            .query_row(
                "SELECT last_run FROM quarantine WHERE kind = 'check' AND qkey = ?1",
                [&row.qkey[..]],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql)?;
        // (the new count, whether the streak starts over)
        let (in_a_row, restart) = match &last {
            Some(l) if Some(l.as_str()) == previous => {
                change.continuing += 1;
                ("runs_in_a_row + 1", false)
            }
            // Held twice by this run: counted once.
            Some(l) if l == run_id => ("runs_in_a_row", false),
            _ => {
                change.new += 1;
                ("1", true)
            }
        };
        tx.execute(
            &format!(
                "INSERT INTO quarantine (qkey, kind, codes, history_key, source, line, first_run, first_at, last_run, last_at, runs_in_a_row)
                 VALUES (?1, 'check', ?2, ?3, ?4, ?5, ?6, ?7, ?6, ?7, 1)
                 ON CONFLICT (kind, qkey) DO UPDATE SET codes = ?2, history_key = ?3, source = ?4, line = ?5,
                   first_run = CASE WHEN ?8 THEN ?6 ELSE first_run END,
                   first_at = CASE WHEN ?8 THEN ?7 ELSE first_at END,
                   last_run = ?6, last_at = ?7, runs_in_a_row = {in_a_row}"
            ),
            params![
                &row.qkey[..],
                row.codes,
                row.history_key,
                row.source,
                row.line,
                run_id,
                now,
                restart
            ],
        )
        .map_err(sql)?;
    }
    change.recovered = tx
        .execute(
            "DELETE FROM quarantine WHERE kind = 'check' AND last_run != ?1",
            [run_id],
        )
        .map_err(sql)? as u64;
    Ok(change)
}
