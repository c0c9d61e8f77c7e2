//! The runs journal: every attempt of every run id, with what it decided and how it ended.

use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

use crate::error::Result;
use crate::store::{Ledger, now_unix};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunState {
    /// Reading and deciding; nothing is written for it yet. An attempt left here was
    /// interrupted before it planned anything, and the run starts afresh.
    Started,
    /// The plan is written; batches are being delivered. An attempt left here is resumed.
    Prepared,
    /// Every batch is with its sinks; results are awaited.
    Delivered,
    /// Every batch has its result.
    Settled,
    /// The mass-change guard stopped it before anything was sent.
    Stopped,
    /// It failed before anything was sent.
    Aborted,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Started => "started",
            RunState::Prepared => "prepared",
            RunState::Delivered => "delivered",
            RunState::Settled => "settled",
            RunState::Stopped => "stopped",
            RunState::Aborted => "aborted",
        }
    }

    fn parse(s: &str) -> RunState {
        match s {
            "prepared" => RunState::Prepared,
            "delivered" => RunState::Delivered,
            "settled" => RunState::Settled,
            "stopped" => RunState::Stopped,
            "aborted" => RunState::Aborted,
            _ => RunState::Started,
        }
    }

    /// Whether the run's plan went out (or is going out): a re-run of its day is a no-op or a
    /// resume, never a second plan.
    pub fn is_committed(self) -> bool {
        matches!(
            self,
            RunState::Prepared | RunState::Delivered | RunState::Settled
        )
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct RunRecord {
    pub run_id: String,
    pub attempt: u32,
    pub business_date: String,
    /// `diff`, `full` or `reset`.
    pub kind: String,
    pub api: String,
    pub state: RunState,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub counts: serde_json::Value,
    pub config_digest: String,
    pub plugins: serde_json::Value,
    pub message: Option<String>,
}

/// What a new attempt records about itself.
pub struct NewRun<'a> {
    pub run_id: &'a str,
    pub business_date: &'a str,
    pub kind: &'a str,
    pub api: &'a str,
    pub config_digest: &'a str,
    pub plugins: serde_json::Value,
}

const COLUMNS: &str = "run_id, attempt, business_date, kind, api, state, started_at, finished_at, counts, config_digest, plugins, message";

fn record(r: &Row<'_>) -> rusqlite::Result<RunRecord> {
    let json = |i: usize| -> rusqlite::Result<serde_json::Value> {
        let text: String = r.get(i)?;
        Ok(serde_json::from_str(&text).unwrap_or(serde_json::Value::Null))
    };
    Ok(RunRecord {
        run_id: r.get(0)?,
        attempt: r.get(1)?,
        business_date: r.get(2)?,
        kind: r.get(3)?,
        api: r.get(4)?,
        state: RunState::parse(&r.get::<_, String>(5)?),
        started_at: r.get(6)?,
        finished_at: r.get(7)?,
        counts: json(8)?,
        config_digest: r.get(9)?,
        plugins: json(10)?,
        message: r.get(11)?,
    })
}

impl Ledger {
    /// Journals a new attempt of `run.run_id` and returns its number.
    pub fn begin_run(&mut self, run: &NewRun<'_>) -> Result<u32> {
        let attempt: u32 = self
            .conn
            .query_row(
                "SELECT coalesce(max(attempt), 0) + 1 FROM runs WHERE run_id = ?1",
                [run.run_id],
                |r| r.get(0),
            )
            .map_err(|e| self.sql(e))?;
        self.conn
            .execute(
                "INSERT INTO runs (run_id, attempt, business_date, kind, api, state, started_at, config_digest, plugins)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'started', ?6, ?7, ?8)",
                params![
                    run.run_id,
                    attempt,
                    run.business_date,
                    run.kind,
                    run.api,
                    now_unix(),
                    run.config_digest,
                    run.plugins.to_string()
                ],
            )
            .map_err(|e| self.sql(e))?;
        Ok(attempt)
    }

    /// Records how an attempt ended (or where it stands).
    pub fn end_run(
        &mut self,
        run_id: &str,
        attempt: u32,
        state: RunState,
        counts: &serde_json::Value,
        message: Option<&str>,
    ) -> Result<()> {
        self.conn
            .execute(
                "UPDATE runs SET state = ?3, finished_at = ?4, counts = ?5, message = ?6
                 WHERE run_id = ?1 AND attempt = ?2",
                params![
                    run_id,
                    attempt,
                    state.as_str(),
                    now_unix(),
                    counts.to_string(),
                    message
                ],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// The attempt of `run_id` that decides what a re-run does: the committed one if any (there
    /// is at most one), else the latest.
    pub fn run(&self, run_id: &str) -> Result<Option<RunRecord>> {
        self.conn
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM runs WHERE run_id = ?1
                     ORDER BY state IN ('prepared', 'delivered', 'settled') DESC, attempt DESC LIMIT 1"
                ),
                [run_id],
                record,
            )
            .optional()
            .map_err(|e| self.sql(e))
    }

    /// Runs whose plan is written but not yet fully delivered, oldest first.
    pub fn unfinished_runs(&self) -> Result<Vec<RunRecord>> {
        self.query_runs(
            &format!(
                "SELECT {COLUMNS} FROM runs WHERE state = 'prepared' ORDER BY started_at, run_id"
            ),
            [],
        )
    }

    /// The latest `limit` attempts, newest first.
    pub fn recent_runs(&self, limit: u32) -> Result<Vec<RunRecord>> {
        self.query_runs(
            &format!(
                "SELECT {COLUMNS} FROM runs ORDER BY started_at DESC, run_id DESC, attempt DESC LIMIT ?1"
            ),
            [limit],
        )
    }

    /// The last run before `run_id` that read the export, for "quarantined N runs in a row".
    pub(crate) fn previous_reading_run(&self, run_id: &str) -> Result<Option<String>> {
        crate::quarantine::previous_reading_run(&self.conn, run_id).map_err(|e| self.sql(e))
    }

    fn query_runs(&self, sql: &str, p: impl rusqlite::Params) -> Result<Vec<RunRecord>> {
        let mut stmt = self.conn.prepare(sql).map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map(p, record)
            .map_err(|e| self.sql(e))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.sql(e))?;
        Ok(rows)
    }
}
