//! The diff half of a run, on its own thread: today's clean rows against what PMH holds
//! (the ledger's baseline), each decision written to the run's plan in one transaction that
//! only a complete read and a passed guard commit. Planning (`plan`) decides the same way and
//! writes nothing.

use std::collections::HashMap;
use std::sync::mpsc::Receiver;

use pmhlink_diff::{
    Action, BaselineRow, Counts, Decision, Differ, Digest, GuardPolicy, GuardStop, RowKey, SyncKind,
};
use pmhlink_ledger::{Keys, Ledger, LedgerError, PlanWriter, PlannedRow};
use pmhlink_profile::Layout;

use crate::deliver::{Batcher, sha256_hex};
use crate::report::BatchReport;
use crate::run::Stream;
use crate::vocab::RunError;

/// Where decisions go.
pub enum Target<'l> {
    /// A dry run: the ledger (if there is one yet) is only read.
    DryRun(Option<&'l mut Ledger>),
    /// The plan of attempt `attempt` of `run_id`, committed if the guard lets it.
    Run {
        ledger: &'l mut Ledger,
        run_id: &'l str,
        attempt: u32,
    },
}

pub struct DiffInput<'a> {
    pub kind: SyncKind,
    pub baseline: HashMap<RowKey, BaselineRow>,
    pub rejected: HashMap<RowKey, Digest>,
    pub retry_rejected: bool,
    pub guard: GuardPolicy,
    pub keys: &'a Keys,
    pub layout: &'a Layout,
}

/// What the diff decided.
#[derive(Debug, Default)]
pub struct Decided {
    pub counts: Counts,
    /// Set when the guard stopped the run: nothing was planned.
    pub stop: Option<GuardStop>,
    /// A dry run's would-be batches.
    pub batches: Vec<BatchReport>,
}

fn ledger_err(e: LedgerError) -> RunError {
    RunError::Ledger(e.to_string())
}

/// Where a decided row goes: the plan, or (dry run) the would-be batches.
enum Out<'l> {
    Plan(PlanWriter<'l>),
    Dry {
        ledger: Option<&'l mut Ledger>,
        batcher: Box<Batcher<'l>>,
        batches: Vec<BatchReport>,
    },
}

impl Out<'_> {
    fn add(&mut self, row: &PlannedRow<'_>) -> Result<(), RunError> {
        match self {
            Out::Plan(w) => w.add(row).map_err(ledger_err),
            Out::Dry {
                batcher, batches, ..
            } => {
                if row.action.is_sent()
                    && let Some(b) = batcher.push(row.action, row.content)?
                {
                    batches.push(report_of(&b));
                }
                Ok(())
            }
        }
    }

    fn baseline_content(&self, key: &RowKey) -> Result<Option<Vec<u8>>, RunError> {
        match self {
            Out::Plan(w) => w.baseline_content(key).map_err(ledger_err),
            Out::Dry {
                ledger: Some(l), ..
            } => l.baseline_content(key).map_err(ledger_err),
            Out::Dry { ledger: None, .. } => Ok(None),
        }
    }
}

fn report_of(b: &pmhlink_profile::write::Batch) -> BatchReport {
    BatchReport {
        seq: b.seq,
        records: b.records,
        bytes: b.bytes.len(),
        receipt: None,
    }
}

/// A removal's row as the plan keeps it: a deletion and a kept row carry the content PMH holds
/// (re-sent), an omission carries none.
fn removal(
    keys: &Keys,
    key: RowKey,
    action: Action,
    content: Option<Vec<u8>>,
    out: &mut Out<'_>,
) -> Result<(), RunError> {
    let content = match (action.uses_baseline_content(), content) {
        (true, Some(c)) => c,
        (true, None) => {
            return Err(RunError::Ledger(
                "a row PMH holds has no stored content; the ledger is damaged".into(),
            ));
        }
        (false, _) => Vec::new(),
    };
    let (digest, shield, hk_hash) = if content.is_empty() {
        ([0; 16], [0; 16], [0; 16])
    } else {
        let record =
            pmhlink_model::decode_content(&content).map_err(|e| RunError::Ledger(e.to_string()))?;
        let r = &record.receipt;
        (
            keys.digest(&content),
            keys.shield(
                r.recipient_number.as_deref().unwrap_or(""),
                r.sub_key.as_deref().unwrap_or(""),
            ),
            keys.history_key_hash(record.history.as_ref().map_or("", |h| h.key.as_str())),
        )
    };
    out.add(&PlannedRow {
        key,
        action,
        digest,
        shield,
        hk_hash,
        content: &content,
    })
}

/// Consumes the stream of one run's rows. Returns only after the stream ended; commits only if
/// it ended with `End` and the guard passed.
pub fn consume(
    rx: Receiver<Stream>,
    input: DiffInput<'_>,
    target: Target<'_>,
) -> Result<Decided, RunError> {
    let DiffInput {
        kind,
        baseline,
        rejected,
        retry_rejected,
        guard,
        keys,
        layout,
    } = input;
    let refused: std::collections::HashSet<RowKey> = rejected.keys().copied().collect();
    let mut differ = Differ::new(kind, baseline, rejected, retry_rejected);
    let mut moot = Vec::new();
    let mut commit_to = None;
    let mut out = match target {
        Target::DryRun(ledger) => Out::Dry {
            ledger,
            batcher: Box::new(Batcher::new(layout)),
            batches: Vec::new(),
        },
        Target::Run {
            ledger,
            run_id,
            attempt,
        } => {
            commit_to = Some(attempt);
            Out::Plan(ledger.plan(run_id).map_err(ledger_err)?)
        }
    };
    let mut day_end = None;
    for message in rx {
        let chunk = match message {
            Stream::End(end) => {
                day_end = Some(end);
                break;
            }
            Stream::Chunk(chunk) => chunk,
        };
        for (half, row) in &chunk.rows {
            match differ.observe(row.key, row.digest) {
                Decision::Send(action) => out.add(&PlannedRow {
                    key: row.key,
                    action,
                    digest: row.digest,
                    shield: row.shield,
                    hk_hash: row.hk_hash,
                    content: chunk.content(*half, row),
                })?,
                Decision::Unchanged if refused.contains(&row.key) => moot.push(row.key),
                Decision::Unchanged | Decision::StillRejected => {}
                Decision::Duplicate => {
                    return Err(RunError::Payload(
                        "a row reached the diff twice (duplicates are quarantined before it)"
                            .into(),
                    ));
                }
            }
        }
        for held in chunk.held {
            differ.hold(held);
        }
    }
    let Some(day_end) = day_end else {
        return Err(RunError::Payload(
            "the export was not read to its end; nothing was planned".into(),
        ));
    };
    let finished = differ.finish();
    let mut decided = Decided {
        counts: finished.counts.clone(),
        ..Decided::default()
    };
    if let Err(stop) = pmhlink_diff::guard(&finished.counts, &guard) {
        decided.stop = Some(stop);
        // Dropping the writer rolls the plan back: nothing of this run exists.
        return Ok(decided);
    }
    for (key, action) in finished.removals {
        let content = if action.uses_baseline_content() {
            out.baseline_content(&key)?
        } else {
            None
        };
        removal(keys, key, action, content, &mut out)?;
    }
    match out {
        Out::Plan(mut writer) => {
            for key in &moot {
                writer.clear_rejection(key).map_err(ledger_err)?;
            }
            writer
                .keep_day_record(&day_end.record)
                .map_err(ledger_err)?;
            let held: Vec<_> = day_end.held.iter().map(|h| h.row()).collect();
            writer.hold_quarantined(&held).map_err(ledger_err)?;
            crate::failpoint::hit("read");
            let counts = crate::report::DiffCounts::from(&decided.counts);
            let json = serde_json::to_value(&counts).expect("counts serialise");
            writer
                .commit(commit_to.expect("a run target has an attempt"), &json)
                .map_err(ledger_err)?;
        }
        Out::Dry {
            batcher,
            mut batches,
            ..
        } => {
            if let Some(b) = batcher.finish() {
                batches.push(report_of(&b));
            }
            decided.batches = batches;
        }
    }
    Ok(decided)
}

/// A digest of the pipeline file, journaled with each run so a changed configuration shows.
pub fn config_digest(path: &std::path::Path) -> String {
    std::fs::read(path)
        .map(|bytes| sha256_hex(&bytes))
        .unwrap_or_default()
}
