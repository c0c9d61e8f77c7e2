//! What the diff needs from the ledger (the baseline, PMH's refusals, a row's last content) and
//! how a run's decisions are written: all in one transaction that only a passed guard commits.

use std::collections::HashMap;

use pmhlink_diff::{Action, BaselineRow, Digest, RowKey, Shield};
use std::path::Path;

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::error::{LedgerError, Result};
use crate::keys::Keys;
use crate::store::Ledger;

pub(crate) fn action_of(text: &str) -> Action {
    match text {
        "register" => Action::Register,
        "update" => Action::Update,
        "resend" => Action::Resend,
        "keep" => Action::Keep,
        "delete" => Action::Delete,
        _ => Action::Omit,
    }
}

pub(crate) fn key16(bytes: Vec<u8>) -> [u8; 16] {
    let mut key = [0; 16];
    if bytes.len() == 16 {
        key.copy_from_slice(&bytes);
    }
    key
}

fn unseal(keys: &Keys, path: &Path, sealed: &[u8], key: &RowKey) -> Result<Vec<u8>> {
    keys.open(sealed, key)
        // The key was proven when the ledger opened, so a row that fails is damaged.
        .map_err(|_| LedgerError::Corrupt {
            path: path.to_owned(),
            detail: "a stored row failed authentication".into(),
        })
}

fn content_of(
    conn: &Connection,
    keys: &Keys,
    path: &Path,
    key: &RowKey,
) -> Result<Option<Vec<u8>>> {
    let sql = |e| LedgerError::from_sql(path, e);
    let pending: Option<Vec<u8>> = conn
        .query_row(
            "SELECT p.content FROM plan_rows p
             JOIN (SELECT run_id, min(started_at) AS t FROM runs GROUP BY run_id) r ON r.run_id = p.run_id
             WHERE p.row_key = ?1 AND p.state = 'pending' AND p.action NOT IN ('delete', 'omit')
             ORDER BY r.t DESC, p.run_id DESC, p.ordinal DESC LIMIT 1",
            [&key[..]],
            |r| r.get(0),
        )
        .optional()
        .map_err(sql)?;
    let sealed = match pending {
        Some(s) => Some(s),
        None => conn
            .query_row(
                "SELECT content FROM rows WHERE row_key = ?1",
                [&key[..]],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql)?,
    };
    sealed.map(|s| unseal(keys, path, &s, key)).transpose()
}

impl Ledger {
    /// What PMH is believed to hold: the accepted rows, overlaid in run order by rows still in
    /// flight (planned or delivered, no result yet), so that a row sent yesterday and awaiting
    /// its result is not sent again today with the same content.
    pub fn baseline(&self) -> Result<HashMap<RowKey, BaselineRow>> {
        let sql = |e| self.sql(e);
        let mut baseline = HashMap::new();
        let mut stmt = self
            .conn
            .prepare("SELECT row_key, digest, shield FROM rows")
            .map_err(sql)?;
        let mut rows = stmt.query([]).map_err(sql)?;
        while let Some(r) = rows.next().map_err(sql)? {
            baseline.insert(
                key16(r.get(0).map_err(sql)?),
                BaselineRow {
                    digest: key16(r.get(1).map_err(sql)?),
                    shield: key16(r.get(2).map_err(sql)?),
                },
            );
        }
        let mut stmt = self
            .conn
            .prepare(
                "SELECT p.row_key, p.action, p.digest, p.shield FROM plan_rows p
                 JOIN (SELECT run_id, min(started_at) AS t FROM runs GROUP BY run_id) r ON r.run_id = p.run_id
                 WHERE p.state = 'pending' ORDER BY r.t, p.run_id, p.ordinal",
            )
            .map_err(sql)?;
        let mut rows = stmt.query([]).map_err(sql)?;
        while let Some(r) = rows.next().map_err(sql)? {
            let key = key16(r.get(0).map_err(sql)?);
            if action_of(&r.get::<_, String>(1).map_err(sql)?).is_removal() {
                baseline.remove(&key);
            } else {
                baseline.insert(
                    key,
                    BaselineRow {
                        digest: key16(r.get(2).map_err(sql)?),
                        shield: key16(r.get(3).map_err(sql)?),
                    },
                );
            }
        }
        Ok(baseline)
    }

    /// Content PMH refused, by row: not sent again until the source changes it.
    pub fn rejected(&self) -> Result<HashMap<RowKey, Digest>> {
        let sql = |e| self.sql(e);
        let mut stmt = self
            .conn
            .prepare("SELECT qkey, digest FROM quarantine WHERE kind = 'rejected' AND digest IS NOT NULL")
            .map_err(sql)?;
        let rows = stmt
            .query_map([], |r| Ok((key16(r.get(0)?), key16(r.get(1)?))))
            .map_err(sql)?
            .collect::<rusqlite::Result<HashMap<_, _>>>()
            .map_err(sql)?;
        Ok(rows)
    }

    /// The content last sent for a row (in flight if any, else accepted), decrypted: what a
    /// deletion re-sends with its flag set, and what a kept row re-sends as it is.
    pub fn baseline_content(&self, key: &RowKey) -> Result<Option<Vec<u8>>> {
        content_of(&self.conn, &self.keys, &self.path, key)
    }

    pub(crate) fn unseal(&self, sealed: &[u8], key: &RowKey) -> Result<Vec<u8>> {
        unseal(&self.keys, &self.path, sealed, key)
    }

    /// Starts writing `run_id`'s plan. Nothing is visible to anyone until `commit`; dropping
    /// the writer rolls it back.
    pub fn plan(&mut self, run_id: &str) -> Result<PlanWriter<'_>> {
        let Ledger {
            conn, keys, path, ..
        } = self;
        let tx = conn
            .transaction()
            .map_err(|e| LedgerError::from_sql(path, e))?;
        // A run's plan is written once: a committed one is in flight or settled, and writing
        // another would put new rows at the positions its delivered batches answer for.
        let committed: Option<String> = tx
            .query_row(
                "SELECT state FROM runs WHERE run_id = ?1 AND state IN ('prepared', 'delivered', 'settled') LIMIT 1",
                [run_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| LedgerError::from_sql(path, e))?;
        if let Some(state) = committed {
            return Err(LedgerError::other(
                path,
                format!("run {run_id} already has a plan ({state}); a run is planned once"),
            ));
        }
        // An attempt interrupted before its commit left nothing; rows of an attempt whose
        // journal entry no longer says it committed are not resumed by anyone: start clean.
        tx.execute("DELETE FROM plan_rows WHERE run_id = ?1", [run_id])
            .map_err(|e| LedgerError::from_sql(path, e))?;
        Ok(PlanWriter {
            tx,
            keys,
            path,
            run_id: run_id.to_owned(),
            ordinal: 0,
            position: 0,
        })
    }
}

/// One decided row. `content` is the canonical record content, in the clear; it is sealed here.
pub struct PlannedRow<'a> {
    pub key: RowKey,
    pub action: Action,
    pub digest: Digest,
    pub shield: Shield,
    /// Keyed hash of the history key, to match a result file's rows without decrypting.
    pub hk_hash: [u8; 16],
    pub content: &'a [u8],
}

pub struct PlanWriter<'l> {
    pub(crate) tx: Transaction<'l>,
    pub(crate) keys: &'l Keys,
    pub(crate) path: &'l Path,
    pub(crate) run_id: String,
    ordinal: i64,
    position: i64,
}

impl PlanWriter<'_> {
    pub fn add(&mut self, row: &PlannedRow<'_>) -> Result<()> {
        let sealed = self.keys.seal(row.content, &row.key);
        let position = row.action.is_sent().then_some(self.position);
        self.tx
            .prepare_cached(
                "INSERT INTO plan_rows (run_id, ordinal, position, row_key, action, digest, shield, hk_hash, content, state)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'pending')",
            )
            .and_then(|mut s| {
                s.execute(params![
                    self.run_id,
                    self.ordinal,
                    position,
                    &row.key[..],
                    row.action.as_str(),
                    &row.digest[..],
                    &row.shield[..],
                    &row.hk_hash[..],
                    sealed
                ])
            })
            .map_err(|e| LedgerError::from_sql(self.path, e))?;
        self.ordinal += 1;
        self.position += i64::from(row.action.is_sent());
        Ok(())
    }

    /// [`Ledger::baseline_content`], inside the plan's transaction.
    pub fn baseline_content(&self, key: &RowKey) -> Result<Option<Vec<u8>>> {
        content_of(&self.tx, self.keys, self.path, key)
    }

    /// Forgets PMH's refusal of a row whose source no longer has the refused content and is
    /// back to what PMH holds (nothing to send, nothing refused any more), with the plan.
    pub fn clear_rejection(&mut self, key: &RowKey) -> Result<()> {
        self.tx
            .execute(
                "DELETE FROM quarantine WHERE kind = 'rejected' AND qkey = ?1",
                [&key[..]],
            )
            .map_err(|e| LedgerError::from_sql(self.path, e))?;
        Ok(())
    }

    /// Rows written so far, and of them the ones to be sent.
    pub fn rows(&self) -> (u64, u64) {
        (self.ordinal as u64, self.position as u64)
    }

    /// Makes the plan durable and the attempt `prepared`, in one commit.
    pub fn commit(self, attempt: u32, counts: &serde_json::Value) -> Result<()> {
        let err = |e| LedgerError::from_sql(self.path, e);
        let journaled = self
            .tx
            .execute(
                "UPDATE runs SET state = 'prepared', counts = ?3 WHERE run_id = ?1 AND attempt = ?2 AND state = 'started'",
                params![self.run_id, attempt, counts.to_string()],
            )
            .map_err(err)?;
        // Without its journal entry a plan would be in flight for no run: never delivered,
        // never settled, yet overlaying the baseline for good.
        if journaled != 1 {
            return Err(LedgerError::other(
                self.path,
                format!(
                    "attempt {attempt} of run {} is not a started attempt in the journal; nothing was planned",
                    self.run_id
                ),
            ));
        }
        self.tx.commit().map_err(err)
    }
}
