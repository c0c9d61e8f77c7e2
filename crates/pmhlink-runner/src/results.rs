//! `pmhlink results import`: a result file from PMH (the profile's result format) settles the
//! batch it answers. The manual route's loop: payload files go out through the drop folder, the
//! agency's tool or a person uploads them, and the result files come back here.

use std::path::Path;

use pmhlink_config::Pipeline;
use pmhlink_ledger::{
    Keys, Ledger, RecordOutcome, RecordSettlement, Settled, Settlement, Submission,
};
use pmhlink_plugin_host::Host;
use pmhlink_profile::result::{Outcome, TaskResult, TaskStatus};
use pmhlink_profile::spec::ResultSpec;

use crate::deliver::sha256_hex;
use crate::prepare::stored_profile;
use crate::vocab::PipelineError;
use crate::vocab::Receipt;

/// Which batch a result answers, when the operator names it (`RUN_ID:SEQ`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchRef {
    pub run_id: String,
    pub seq: u32,
}

impl std::str::FromStr for BatchRef {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (run_id, seq) = s
            .rsplit_once(':')
            .ok_or_else(|| format!("`{s}`: expected RUN_ID:SEQ"))?;
        let seq = seq
            .parse()
            .map_err(|_| format!("`{s}`: the batch number after `:` is not a number"))?;
        Ok(BatchRef {
            run_id: run_id.to_owned(),
            seq,
        })
    }
}

#[derive(Debug, serde::Serialize)]
pub struct Imported {
    pub file: String,
    pub run_id: String,
    pub seq: u32,
    pub settled: Settled,
}

/// A result in the profile's format: JSON when it starts with `{`, else CSV.
fn read_result(spec: &ResultSpec, bytes: &[u8]) -> Result<TaskResult, String> {
    let first = bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(bytes)
        .iter()
        .find(|b| !b.is_ascii_whitespace());
    let format = if first == Some(&b'{') {
        pmhlink_profile::Format::Json
    } else {
        pmhlink_profile::Format::Csv
    };
    pmhlink_profile::result::read(spec, format, bytes).map_err(|e| e.to_string())
}

fn fits(ledger: &Ledger, keys: &Keys, s: &Submission, result: &TaskResult) -> bool {
    if result.records.len() != s.records as usize {
        return false;
    }
    let Ok(hashes) = ledger.submission_hk_hashes(&s.run_id, s.seq) else {
        return false;
    };
    result.records.iter().all(|r| {
        let Some(sent) = hashes.get((r.record_number as usize).wrapping_sub(1)) else {
            return false;
        };
        r.history_key
            .as_deref()
            .is_none_or(|k| keys.history_key_hash(k) == *sent)
    })
}

/// The batch awaiting results that `result` answers: the one named, the one whose receipt is
/// the result's task id, or the only one whose records and history keys it matches.
fn find_batch(
    ledger: &Ledger,
    result: &TaskResult,
    named: Option<&BatchRef>,
) -> Result<Submission, String> {
    let waiting = ledger.awaiting_results().map_err(|e| e.to_string())?;
    let keys = ledger.keys();
    if let Some(b) = named {
        return waiting
            .into_iter()
            .find(|s| s.run_id == b.run_id && s.seq == b.seq)
            .ok_or_else(|| {
                format!(
                    "batch {}:{} is not awaiting a result in this ledger",
                    b.run_id, b.seq
                )
            });
    }
    if let Some(s) = waiting.iter().find(|s| {
        s.receipts
            .iter()
            .any(|r| Receipt::from_ledger(r).id == result.task_id)
    }) {
        return Ok(s.clone());
    }
    let fitting: Vec<&Submission> = waiting
        .iter()
        .filter(|s| fits(ledger, keys, s, result))
        .collect();
    match fitting.as_slice() {
        [one] => Ok((*one).clone()),
        [] if waiting.is_empty() => {
            Err("no batch of this pipeline is awaiting a result; is it for another pipeline, or already imported?".into())
        }
        [] => Err(format!(
            "it answers none of the {} batches awaiting results (their record counts and history keys differ); is it for another run or pipeline? Awaiting: {}",
            waiting.len(),
            waiting
                .iter()
                .take(5)
                .map(|s| format!("{}:{} ({} records)", s.run_id, s.seq, s.records))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        several => Err(format!(
            "it fits {} batches ({}); name one with --batch RUN_ID:SEQ",
            several.len(),
            several
                .iter()
                .map(|s| format!("{}:{}", s.run_id, s.seq))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

fn settlement(keys: &Keys, result: &TaskResult) -> Settlement {
    if result.status == TaskStatus::Failed {
        return Settlement::TaskFailed;
    }
    Settlement::Records(
        result
            .records
            .iter()
            .map(|r| RecordSettlement {
                number: r.record_number,
                hk_hash: r.history_key.as_deref().map(|k| keys.history_key_hash(k)),
                outcome: match &r.outcome {
                    Outcome::Accepted => RecordOutcome::Accepted,
                    Outcome::Rejected(errors) => RecordOutcome::Rejected {
                        codes: errors.iter().map(|e| e.code.clone()).collect(),
                        message: errors
                            .iter()
                            .map(|e| match &e.item {
                                Some(item) => format!("{item}: {}", e.message),
                                None => e.message.clone(),
                            })
                            .collect::<Vec<_>>()
                            .join("; "),
                    },
                },
            })
            .collect(),
    )
}

/// Reads one result file through the pipeline's first sink (its `import` verb) or, without
/// sinks, from disk.
fn read_file(pipeline: &Pipeline, host: &Host, file: &Path) -> Result<Vec<u8>, PipelineError> {
    let shown = file.display();
    match pipeline.sinks.first() {
        Some(spec) => {
            let mut sink = host.open_sink(
                &spec.plugin,
                &serde_json::Value::Object(spec.config.value().clone()),
            )?;
            sink.import(&file.to_string_lossy())
                .map_err(|e| PipelineError::Input(format!("{shown}: {e}")))
        }
        None => std::fs::read(file).map_err(|e| PipelineError::Input(format!("{shown}: {e}"))),
    }
}

/// What polling the sinks for results did.
#[derive(Debug, Default, serde::Serialize)]
pub struct Polled {
    pub settled: Vec<Imported>,
    /// Batches whose result is not ready yet (or whose sink cannot fetch results: the drop
    /// folder's come back by `results import`).
    pub pending: usize,
    /// Batches whose result could not be fetched this time, with why; they are asked again.
    pub errors: Vec<String>,
}

/// Asks each sink for the results of the batches it delivered and settles every one that is
/// ready, until none is left or `wait` has passed. A result that is still processing at the
/// deadline stays pending and is asked for again by the next run or `pmhlink results`.
pub fn poll(
    ledger: &mut Ledger,
    sinks: &mut [&mut (dyn crate::vocab::SinkHandle + Send)],
    spec: &ResultSpec,
    wait: std::time::Duration,
) -> Result<Polled, PipelineError> {
    let deadline = std::time::Instant::now() + wait;
    let mut polled = Polled::default();
    loop {
        let waiting = ledger.awaiting_results().map_err(PipelineError::Ledger)?;
        polled.pending = 0;
        polled.errors.clear();
        for s in waiting {
            let mut answer = None;
            for (sink, receipt) in sinks.iter_mut().zip(&s.receipts) {
                match sink.result(&Receipt::from_ledger(receipt)) {
                    Ok(Some(bytes)) => {
                        answer = Some(bytes);
                        break;
                    }
                    Ok(None) => {}
                    Err(e) => polled.errors.push(format!("{}:{}: {e}", s.run_id, s.seq)),
                }
            }
            let Some(bytes) = answer else {
                polled.pending += 1;
                continue;
            };
            let result = match read_result(spec, &bytes) {
                Ok(r) if r.status != TaskStatus::Processing => r,
                Ok(_) => {
                    polled.pending += 1;
                    continue;
                }
                Err(e) => {
                    polled.errors.push(format!(
                        "{}:{}: the result is unreadable: {e}",
                        s.run_id, s.seq
                    ));
                    continue;
                }
            };
            let settled = ledger
                .settle(
                    &s.run_id,
                    s.seq,
                    &settlement(ledger.keys(), &result),
                    &sha256_hex(&bytes),
                )
                .map_err(PipelineError::Ledger)?;
            polled.settled.push(Imported {
                file: format!("task {}", result.task_id),
                run_id: s.run_id.clone(),
                seq: s.seq,
                settled,
            });
        }
        if polled.pending == 0 || std::time::Instant::now() >= deadline {
            return Ok(polled);
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

/// `pmhlink results PIPELINE`: asks the pipeline's sinks for every result that is due.
pub fn poll_pipeline(
    pipeline: &Pipeline,
    host: &Host,
    wait: std::time::Duration,
) -> Result<Polled, PipelineError> {
    let profile = stored_profile(pipeline)?;
    let mut ledger = crate::prepare::existing_ledger(pipeline)?;
    let (mut opened, _) = crate::prepare::open_sinks(pipeline, host, false)?;
    let mut sinks = crate::plugins::sink_handles(&mut opened);
    poll(&mut ledger, &mut sinks, &profile.result, wait)
}

/// A result file read and matched to the batch it answers, ready to settle.
struct Ready {
    file: String,
    batch: BatchRef,
    settlement: pmhlink_ledger::Settlement,
    sha: String,
}

/// Reads one result file and finds its batch; a problem with the file is an `Input` error
/// naming it.
fn ready_to_settle(
    pipeline: &Pipeline,
    host: &Host,
    ledger: &Ledger,
    profile: &pmhlink_profile::Profile,
    file: &std::path::Path,
    named: Option<&BatchRef>,
) -> Result<Ready, PipelineError> {
    let shown = file.display().to_string();
    let bytes = read_file(pipeline, host, file)?;
    let result = read_result(&profile.result, &bytes)
        .map_err(|e| PipelineError::Input(format!("result file {shown}: {e}")))?;
    if result.status == TaskStatus::Processing {
        return Err(PipelineError::Input(format!(
            "result file {shown}: the task is still processing; import its final result"
        )));
    }
    let sha = sha256_hex(&bytes);
    if let Some((run_id, seq)) = ledger.settled_by(&sha).map_err(PipelineError::Ledger)? {
        return Err(PipelineError::Input(format!(
            "result file {shown}: already imported (it settled batch {run_id}:{seq})"
        )));
    }
    let batch = find_batch(ledger, &result, named)
        .map_err(|m| PipelineError::Input(format!("result file {shown}: {m}")))?;
    Ok(Ready {
        file: shown,
        settlement: settlement(ledger.keys(), &result),
        batch: BatchRef {
            run_id: batch.run_id,
            seq: batch.seq,
        },
        sha,
    })
}

/// Imports result files, all or nothing: every file is read and matched to its batch first,
/// then all settle in one ledger transaction. When any file cannot be used (unreadable, still
/// processing, already imported, answering no batch, not fitting it), nothing is settled and
/// the error names every such file.
pub fn import(
    pipeline: &Pipeline,
    host: &Host,
    files: &[std::path::PathBuf],
    named: Option<&BatchRef>,
) -> Result<Vec<Imported>, PipelineError> {
    let profile = stored_profile(pipeline)?;
    let mut ledger = crate::prepare::existing_ledger(pipeline)?;
    let mut ready = Vec::new();
    let mut problems = Vec::new();
    for file in files {
        match ready_to_settle(pipeline, host, &ledger, &profile, file, named) {
            Ok(r) => ready.push(r),
            Err(PipelineError::Input(m)) => problems.push(m),
            Err(e) => return Err(e),
        }
    }
    if problems.is_empty() {
        let all: Vec<pmhlink_ledger::ToSettle<'_>> = ready
            .iter()
            .map(|r| pmhlink_ledger::ToSettle {
                run_id: &r.batch.run_id,
                seq: r.batch.seq,
                settlement: &r.settlement,
                result_sha256: &r.sha,
            })
            .collect();
        match ledger.settle_all(&all) {
            Ok(settled) => {
                return Ok(ready
                    .into_iter()
                    .zip(settled)
                    .map(|(r, settled)| Imported {
                        file: r.file,
                        run_id: r.batch.run_id,
                        seq: r.batch.seq,
                        settled,
                    })
                    .collect());
            }
            Err(refused) => {
                for (i, e) in refused {
                    match (i, e) {
                        (Some(i), e @ pmhlink_ledger::LedgerError::ResultMismatch { .. }) => {
                            problems.push(format!("result file {}: {e}", ready[i].file));
                        }
                        (_, e) => return Err(PipelineError::Ledger(e)),
                    }
                }
            }
        }
    }
    Err(PipelineError::Input(format!(
        "{} of {} result file(s) cannot be imported, so none was settled: {}",
        problems.len(),
        files.len(),
        problems.join("; ")
    )))
}
