//! Results settle submissions: each record PMH accepted becomes what the ledger holds, each it
//! refused goes to quarantine with PMH's reason, all in one transaction with the result that
//! proved it. When a run's last batch settles, rows it dropped by omission are forgotten.

use rusqlite::{OptionalExtension, Transaction, params};

use crate::delivery::{ONE_SUBMISSION, SubmissionState, submission};
use crate::error::{LedgerError, Result};
use crate::plan::key16;
use crate::store::{Ledger, now_unix};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordOutcome {
    Accepted,
    /// PMH's error codes and message (about the rule, never the data).
    Rejected {
        codes: Vec<String>,
        message: String,
    },
}

#[derive(Clone, Debug)]
pub struct RecordSettlement {
    /// 1-based position in the batch.
    pub number: u32,
    /// Keyed hash of the history key the result names, when it names one.
    pub hk_hash: Option<[u8; 16]>,
    pub outcome: RecordOutcome,
}

#[derive(Clone, Debug)]
pub enum Settlement {
    Records(Vec<RecordSettlement>),
    /// The whole task failed: its rows are sent again by the next run.
    TaskFailed,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Settled {
    pub accepted: u64,
    pub rejected: u64,
    pub failed: u64,
    /// The run's last open batch settled with this one.
    pub run_settled: bool,
}

/// Statements by position name their index: without statistics SQLite prefers the primary key
/// (run, ordinal) with only the run bound, which reads every plan row of the run for each record
/// settled, quadratic in the run's size.
pub(crate) const PLAN_ROW_AT: &str =
    "SELECT row_key, action, digest, shield, hk_hash, content, state
     FROM plan_rows INDEXED BY plan_rows_by_position WHERE run_id = ?1 AND position = ?2";
pub(crate) const SET_PLAN_ROW_STATE: &str = "UPDATE plan_rows INDEXED BY plan_rows_by_position
     SET state = ?3 WHERE run_id = ?1 AND position = ?2";

/// A plan row as settling needs it; the content stays sealed (it moves as it is).
struct PlanRow {
    key: Vec<u8>,
    action: String,
    digest: Vec<u8>,
    shield: Vec<u8>,
    hk_hash: Vec<u8>,
    content: Vec<u8>,
    /// `pending`, or `superseded` when a later run's version of the row was accepted first.
    state: String,
}

/// Forgets the rows a settled run dropped by omission and its plan (the accepted rows hold the
/// content now), and marks it settled.
pub(crate) fn settle_run(tx: &Transaction<'_>, run_id: &str) -> rusqlite::Result<()> {
    tx.execute(
        "DELETE FROM rows WHERE row_key IN (SELECT row_key FROM plan_rows WHERE run_id = ?1 AND action = 'omit' AND state = 'pending')",
        [run_id],
    )?;
    tx.execute("DELETE FROM plan_rows WHERE run_id = ?1", [run_id])?;
    tx.execute(
        "UPDATE runs SET state = 'settled' WHERE run_id = ?1 AND state IN ('prepared', 'delivered')",
        [run_id],
    )?;
    Ok(())
}

impl Ledger {
    /// The batch a result file (by its SHA-256) already settled, if any: the same file imported
    /// twice must not settle a later batch that happens to have the same rows.
    pub fn settled_by(&self, result_sha256: &str) -> Result<Option<(String, u32)>> {
        self.conn
            .query_row(
                "SELECT run_id, seq FROM submissions WHERE result_sha256 = ?1 LIMIT 1",
                [result_sha256],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.sql(e))
    }

    /// Keyed hashes of the history keys of batch `seq`, in record order: how a result file is
    /// matched to the batch it answers without decrypting anything.
    pub fn submission_hk_hashes(&self, run_id: &str, seq: u32) -> Result<Vec<[u8; 16]>> {
        let sql = |e| self.sql(e);
        let Some(s) = self
            .query_submissions(ONE_SUBMISSION, params![run_id, seq])?
            .into_iter()
            .next()
        else {
            return Ok(Vec::new());
        };
        let mut stmt = self
            .conn
            .prepare(
                "SELECT hk_hash FROM plan_rows INDEXED BY plan_rows_by_position WHERE run_id = ?1 AND position >= ?2 AND position < ?3 ORDER BY position",
            )
            .map_err(sql)?;
        let hashes = stmt
            .query_map(
                params![
                    run_id,
                    s.first_position,
                    s.first_position + u64::from(s.records)
                ],
                |r| Ok(key16(r.get(0)?)),
            )
            .map_err(sql)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(sql)?;
        Ok(hashes)
    }

    /// Settles batch `seq` of `run_id` with its result. Either every record of the result is
    /// applied or, on any mismatch, nothing is.
    pub fn settle(
        &mut self,
        run_id: &str,
        seq: u32,
        settlement: &Settlement,
        result_sha256: &str,
    ) -> Result<Settled> {
        let one = ToSettle {
            run_id,
            seq,
            settlement,
            result_sha256,
        };
        match self.settle_all(&[one]) {
            Ok(mut settled) => Ok(settled.remove(0)),
            Err(mut refused) => Err(refused.remove(0).1),
        }
    }

    /// Settles several results in one transaction: all of them, or none when any does not fit
    /// its batch. Every result is tried, so a refusal names each one that failed (by its index
    /// in `results`; `None` for a failure of the transaction itself).
    pub fn settle_all(
        &mut self,
        results: &[ToSettle<'_>],
    ) -> std::result::Result<Vec<Settled>, Vec<(Option<usize>, LedgerError)>> {
        let path = self.path.clone();
        let sql = |e| (None, LedgerError::from_sql(&path, e));
        let tx = self.conn.transaction().map_err(|e| vec![sql(e)])?;
        let mut settled = Vec::with_capacity(results.len());
        let mut refused = Vec::new();
        for (i, r) in results.iter().enumerate() {
            match settle_in(&tx, &path, r) {
                Ok(s) => settled.push(s),
                Err(e) => refused.push((Some(i), e)),
            }
        }
        if !refused.is_empty() {
            // Dropping the transaction rolls back what the fitting results applied.
            return Err(refused);
        }
        tx.commit().map_err(|e| vec![sql(e)])?;
        if settled.iter().any(|s| s.run_settled) {
            // Best effort: the settlement is committed, and an error here would tell the
            // caller it was not. Pages left free now are given back after a later settlement.
            let _ = self.reclaim();
        }
        Ok(settled)
    }
}

/// One result to settle: the batch it answers, what it says, and the hash of its file.
#[derive(Clone, Copy, Debug)]
pub struct ToSettle<'a> {
    pub run_id: &'a str,
    pub seq: u32,
    pub settlement: &'a Settlement,
    pub result_sha256: &'a str,
}

/// Applies one result inside `tx`; on an error the caller rolls the transaction back.
fn settle_in(tx: &Transaction<'_>, path: &std::path::Path, r: &ToSettle<'_>) -> Result<Settled> {
    let ToSettle {
        run_id,
        seq,
        settlement,
        result_sha256,
    } = *r;
    let sql = |e| LedgerError::from_sql(path, e);
    let mismatch = |m: String| LedgerError::ResultMismatch {
        path: path.to_path_buf(),
        message: format!("batch {seq} of run {run_id}: {m}"),
    };
    let sub = tx
        .query_row(ONE_SUBMISSION, params![run_id, seq], submission)
        .optional()
        .map_err(sql)?
        .ok_or_else(|| mismatch("no such batch in this ledger".into()))?;
    match sub.state {
        SubmissionState::Delivered => {}
        SubmissionState::Staged => {
            return Err(mismatch(
                "it was never made final by its sinks (run the pipeline to resume it first)".into(),
            ));
        }
        SubmissionState::Settled | SubmissionState::Failed => {
            return Err(mismatch("its result was already imported".into()));
        }
    }
    let now = now_unix();
    let mut settled = Settled::default();
    // Earlier runs with rows still in flight. PMH applies batches in the order they were
    // delivered, runs in run order, so when this run's version of a row is accepted, an
    // earlier run's version of it whose result comes later is already replaced at PMH: it
    // must not replace this one in the ledger (nor overlay it while it waits).
    let earlier: Vec<String> = {
        let mut stmt = tx
            .prepare(
                // Runs with a plan in flight are the committed, unsettled ones: the journal
                // says so without reading plan rows (a scan of them per batch would make
                // settling a large run quadratic).
                "SELECT run_id FROM (
                     SELECT run_id, min(started_at) AS t, max(state IN ('prepared', 'delivered')) AS open
                     FROM runs GROUP BY run_id)
                 WHERE open AND (t, run_id) < ((SELECT min(started_at) FROM runs WHERE run_id = ?1), ?1)",
            )
            .map_err(sql)?;
        stmt.query_map([run_id], |r| r.get(0))
            .map_err(sql)?
            .collect::<rusqlite::Result<_>>()
            .map_err(sql)?
    };
    let supersede = (!earlier.is_empty()).then(|| {
        let marks: Vec<String> = (2..earlier.len() + 2).map(|i| format!("?{i}")).collect();
        format!(
            "UPDATE plan_rows SET state = 'superseded' WHERE row_key = ?1 AND state = 'pending' AND run_id IN ({})",
            marks.join(", ")
        )
    });
    match settlement {
        Settlement::TaskFailed => {
            settled.failed = u64::from(sub.records);
            tx.execute(
                "UPDATE plan_rows INDEXED BY plan_rows_by_position SET state = 'failed' WHERE run_id = ?1 AND position >= ?2 AND position < ?3",
                params![run_id, sub.first_position, sub.first_position + u64::from(sub.records)],
            )
            .map_err(sql)?;
        }
        Settlement::Records(records) => {
            if records.len() != sub.records as usize {
                return Err(mismatch(format!(
                    "the result has {} records, the batch sent {}",
                    records.len(),
                    sub.records
                )));
            }
            let mut seen = vec![false; records.len()];
            for rec in records {
                let Some(slot) = seen.get_mut((rec.number as usize).wrapping_sub(1)) else {
                    return Err(mismatch(format!(
                        "record number {} is outside the batch (1–{})",
                        rec.number, sub.records
                    )));
                };
                if std::mem::replace(slot, true) {
                    return Err(mismatch(format!(
                        "record number {} appears twice",
                        rec.number
                    )));
                }
                let position = sub.first_position + u64::from(rec.number) - 1;
                let row: PlanRow = tx
                    .prepare_cached(PLAN_ROW_AT)
                    .and_then(|mut s| {
                        s.query_row(params![run_id, position], |r| {
                            Ok(PlanRow {
                                key: r.get(0)?,
                                action: r.get(1)?,
                                digest: r.get(2)?,
                                shield: r.get(3)?,
                                hk_hash: r.get(4)?,
                                content: r.get(5)?,
                                state: r.get(6)?,
                            })
                        })
                    })
                    .map_err(sql)?;
                let PlanRow {
                    key,
                    action,
                    digest,
                    shield,
                    hk_hash,
                    content,
                    state: planned_state,
                } = row;
                let superseded = planned_state == "superseded";
                if let Some(h) = rec.hk_hash
                    && h[..] != hk_hash[..]
                {
                    return Err(mismatch(format!(
                        "record {} names a different history key than the batch sent there",
                        rec.number
                    )));
                }
                let state = match &rec.outcome {
                    RecordOutcome::Accepted if superseded => {
                        settled.accepted += 1;
                        "accepted"
                    }
                    RecordOutcome::Rejected { .. } if superseded => {
                        // The refused version is no longer the one PMH was last sent.
                        settled.rejected += 1;
                        "rejected"
                    }
                    RecordOutcome::Accepted => {
                        settled.accepted += 1;
                        if let Some(sql_text) = &supersede {
                            let mut args: Vec<&dyn rusqlite::ToSql> = vec![&key];
                            args.extend(earlier.iter().map(|r| r as &dyn rusqlite::ToSql));
                            tx.execute(sql_text, &args[..]).map_err(sql)?;
                        }
                        if action == "delete" {
                            tx.execute("DELETE FROM rows WHERE row_key = ?1", [&key])
                                .map_err(sql)?;
                        } else {
                            tx.prepare_cached(
                                "INSERT OR REPLACE INTO rows (row_key, shield, digest, content, accepted_run, accepted_at)
                                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                            )
                            .and_then(|mut s| {
                                s.execute(params![key, shield, digest, content, run_id, now])
                            })
                            .map_err(sql)?;
                        }
                        // Only new content answers a refusal: a kept or re-sent row is
                        // the old accepted version, and the refused content still waits for
                        // a change in the source.
                        if matches!(action.as_str(), "register" | "update" | "delete") {
                            tx.prepare_cached(
                                "DELETE FROM quarantine WHERE kind = 'rejected' AND qkey = ?1",
                            )
                            .and_then(|mut s| s.execute([&key]))
                            .map_err(sql)?;
                        }
                        "accepted"
                    }
                    RecordOutcome::Rejected { codes, message } => {
                        settled.rejected += 1;
                        tx.execute(
                            "INSERT INTO quarantine (qkey, kind, codes, message, digest, first_run, first_at, last_run, last_at, runs_in_a_row)
                             VALUES (?1, 'rejected', ?2, ?3, ?4, ?5, ?6, ?5, ?6, 1)
                             ON CONFLICT (kind, qkey) DO UPDATE SET codes = ?2, message = ?3, digest = ?4,
                               last_run = ?5, last_at = ?6, runs_in_a_row = runs_in_a_row + 1",
                            params![key, codes.join(","), message, digest, run_id, now],
                        )
                        .map_err(sql)?;
                        "rejected"
                    }
                };
                tx.prepare_cached(SET_PLAN_ROW_STATE)
                    .and_then(|mut s| s.execute(params![run_id, position, state]))
                    .map_err(sql)?;
            }
        }
    }
    let state = match settlement {
        Settlement::TaskFailed => SubmissionState::Failed,
        Settlement::Records(_) => SubmissionState::Settled,
    };
    tx.execute(
        "UPDATE submissions SET state = ?3, settled_at = ?4, result_sha256 = ?5 WHERE run_id = ?1 AND seq = ?2",
        params![run_id, seq, state.as_str(), now, result_sha256],
    )
    .map_err(sql)?;
    let open: i64 = tx
        .query_row(
            "SELECT count(*) FROM submissions WHERE run_id = ?1 AND state IN ('staged', 'delivered')",
            [run_id],
            |r| r.get(0),
        )
        .map_err(sql)?;
    let run_done: bool = tx
        .query_row(
            "SELECT count(*) FROM runs WHERE run_id = ?1 AND state = 'delivered'",
            [run_id],
            |r| r.get::<_, i64>(0),
        )
        .map_err(sql)?
        > 0;
    if open == 0 && run_done {
        settle_run(tx, run_id).map_err(sql)?;
        settled.run_settled = true;
    }
    Ok(settled)
}

#[cfg(test)]
mod tests {
    use crate::{Access, Ledger, MasterKey};

    /// Every statement that finds plan rows by position or by key goes through its index
    /// (SQLite's planner, without statistics, may otherwise scan a run's whole plan per row).
    #[test]
    fn plan_row_lookups_use_their_index() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(
            &dir.path().join("ledger.sqlite"),
            &MasterKey::ephemeral(),
            Access::CreateOrOpen,
        )
        .unwrap();
        // (statement, the index its plan must name)
        let cases: &[(&str, &str)] = &[
            (
                super::PLAN_ROW_AT,
                "plan_rows_by_position (run_id=? AND position=?)",
            ),
            (
                super::SET_PLAN_ROW_STATE,
                "plan_rows_by_position (run_id=? AND position=?)",
            ),
            (
                "SELECT content FROM plan_rows WHERE row_key = ?1 AND state = 'pending'",
                "plan_rows_by_key (row_key=?)",
            ),
            (
                "UPDATE plan_rows SET state = 'superseded' WHERE row_key = ?1 AND state = 'pending' AND run_id IN (?2, ?3)",
                "plan_rows_by_key (row_key=?",
            ),
            (
                "DELETE FROM quarantine WHERE kind = 'rejected' AND qkey = ?1",
                "PRIMARY KEY (kind=? AND qkey=?)",
            ),
        ];
        for (sql, index) in cases {
            let mut stmt = ledger
                .conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap();
            let nulls = vec![rusqlite::types::Null; stmt.parameter_count()];
            let plan: Vec<String> = stmt
                .query_map(rusqlite::params_from_iter(nulls), |r| r.get::<_, String>(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert!(plan.iter().any(|p| p.contains(index)), "{sql}\n{plan:?}");
        }
    }
}
