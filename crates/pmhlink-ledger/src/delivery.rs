//! Submissions: the payload batches of a prepared run, handed to sinks and tracked until each
//! is final (delivered) and then until its result settles it.

use pmhlink_diff::Action;
use rusqlite::{Row, params};
use serde::Serialize;

use crate::error::Result;
use crate::journal::RunState;
use crate::plan::{action_of, key16};
use crate::store::{Ledger, now_unix};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SubmissionState {
    /// A sink took the batch but has not made it final; after a crash, its sinks are asked.
    Staged,
    /// With PMH (or in the drop folder), awaiting its result.
    Delivered,
    Settled,
    /// PMH failed the whole task; its rows go again on the next run.
    Failed,
}

impl SubmissionState {
    pub fn as_str(self) -> &'static str {
        match self {
            SubmissionState::Staged => "staged",
            SubmissionState::Delivered => "delivered",
            SubmissionState::Settled => "settled",
            SubmissionState::Failed => "failed",
        }
    }

    fn parse(s: &str) -> SubmissionState {
        match s {
            "delivered" => SubmissionState::Delivered,
            "settled" => SubmissionState::Settled,
            "failed" => SubmissionState::Failed,
            _ => SubmissionState::Staged,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Submission {
    pub run_id: String,
    pub seq: u32,
    pub api: String,
    pub first_position: u64,
    pub records: u32,
    pub bytes: u64,
    pub payload_sha256: String,
    /// One per sink, in the pipeline's sink order.
    pub receipts: Vec<String>,
    pub state: SubmissionState,
    pub staged_at: i64,
    pub delivered_at: Option<i64>,
    pub settled_at: Option<i64>,
}

/// A batch as a sink took it.
pub struct Staged<'a> {
    pub run_id: &'a str,
    pub seq: u32,
    pub api: &'a str,
    pub first_position: u64,
    pub records: u32,
    pub bytes: u64,
    pub payload_sha256: &'a str,
    pub receipts: &'a [String],
}

/// A row to send, decrypted, in position order.
pub struct SentRow {
    pub position: u64,
    pub action: Action,
    pub content: Vec<u8>,
}

/// The columns [`submission`] reads, in its order (a macro so that queries can `concat!` it).
macro_rules! submission_columns {
    () => {
        "run_id, seq, api, first_position, records, bytes, payload_sha256, receipts, state, staged_at, delivered_at, settled_at"
    };
}

const COLUMNS: &str = submission_columns!();

/// One submission by its run and batch number, read by [`submission`].
pub(crate) const ONE_SUBMISSION: &str = concat!(
    "SELECT ",
    submission_columns!(),
    " FROM submissions WHERE run_id = ?1 AND seq = ?2"
);

pub(crate) fn submission(r: &Row<'_>) -> rusqlite::Result<Submission> {
    Ok(Submission {
        run_id: r.get(0)?,
        seq: r.get(1)?,
        api: r.get(2)?,
        first_position: r.get(3)?,
        records: r.get(4)?,
        bytes: r.get(5)?,
        payload_sha256: r.get(6)?,
        receipts: serde_json::from_str(&r.get::<_, String>(7)?).unwrap_or_default(),
        state: SubmissionState::parse(&r.get::<_, String>(8)?),
        staged_at: r.get(9)?,
        delivered_at: r.get(10)?,
        settled_at: r.get(11)?,
    })
}

impl Ledger {
    /// Up to `limit` rows to send of `run_id`, from `from_position` on.
    pub fn sent_rows(&self, run_id: &str, from_position: u64, limit: u32) -> Result<Vec<SentRow>> {
        let sql = |e| self.sql(e);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT position, action, row_key, content FROM plan_rows INDEXED BY plan_rows_by_position
                 WHERE run_id = ?1 AND position >= ?2 ORDER BY position LIMIT ?3",
            )
            .map_err(sql)?;
        let raw = stmt
            .query_map(params![run_id, from_position, limit], |r| {
                Ok((
                    r.get::<_, u64>(0)?,
                    r.get::<_, String>(1)?,
                    key16(r.get(2)?),
                    r.get::<_, Vec<u8>>(3)?,
                ))
            })
            .map_err(sql)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(sql)?;
        raw.into_iter()
            .map(|(position, action, key, sealed)| {
                Ok(SentRow {
                    position,
                    action: action_of(&action),
                    content: self.unseal(&sealed, &key)?,
                })
            })
            .collect()
    }

    pub fn submissions(&self, run_id: &str) -> Result<Vec<Submission>> {
        self.query_submissions(
            &format!("SELECT {COLUMNS} FROM submissions WHERE run_id = ?1 ORDER BY seq"),
            [run_id],
        )
    }

    /// Every submission delivered and awaiting its result, oldest first.
    pub fn awaiting_results(&self) -> Result<Vec<Submission>> {
        self.query_submissions(
            &format!(
                "SELECT {COLUMNS} FROM submissions WHERE state = 'delivered' ORDER BY staged_at, run_id, seq"
            ),
            [],
        )
    }

    pub(crate) fn query_submissions(
        &self,
        sql: &str,
        p: impl rusqlite::Params,
    ) -> Result<Vec<Submission>> {
        let mut stmt = self.conn.prepare(sql).map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map(p, submission)
            .map_err(|e| self.sql(e))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.sql(e))?;
        Ok(rows)
    }

    /// Records that every sink took batch `seq` (replacing an earlier attempt's record of it).
    pub fn stage(&mut self, s: &Staged<'_>) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO submissions (run_id, seq, api, first_position, records, bytes, payload_sha256, receipts, state, staged_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'staged', ?9)",
                params![
                    s.run_id,
                    s.seq,
                    s.api,
                    s.first_position,
                    s.records,
                    s.bytes,
                    s.payload_sha256,
                    serde_json::to_string(s.receipts).expect("strings serialise"),
                    now_unix()
                ],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// The sinks made the run's staged batches final: they are delivered, and so is the run.
    /// A run with nothing to send is settled at once.
    pub fn finish_delivery(&mut self, run_id: &str, attempt: u32) -> Result<RunState> {
        let path = self.path.clone();
        let sql = |e| crate::error::LedgerError::from_sql(&path, e);
        let tx = self.conn.transaction().map_err(sql)?;
        tx.execute(
            "UPDATE submissions SET state = 'delivered', delivered_at = ?2 WHERE run_id = ?1 AND state = 'staged'",
            params![run_id, now_unix()],
        )
        .map_err(sql)?;
        let open: i64 = tx
            .query_row(
                "SELECT count(*) FROM submissions WHERE run_id = ?1 AND state = 'delivered'",
                [run_id],
                |r| r.get(0),
            )
            .map_err(sql)?;
        tx.execute(
            "UPDATE runs SET state = 'delivered', finished_at = ?3 WHERE run_id = ?1 AND attempt = ?2",
            params![run_id, attempt, now_unix()],
        )
        .map_err(sql)?;
        let state = if open == 0 {
            crate::settle::settle_run(&tx, run_id).map_err(sql)?;
            RunState::Settled
        } else {
            RunState::Delivered
        };
        tx.commit().map_err(sql)?;
        Ok(state)
    }
}
