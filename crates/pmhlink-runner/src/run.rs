//! One run end to end over already opened sources and sinks: load the joined sources, stream
//! the primary source through mapping and checks, quarantine what fails, write payload batches
//! and (unless planning) deliver them, then commit or roll back every sink.

use std::collections::HashSet;

use pmhlink_model::{FieldId, Record};
use pmhlink_profile::Layout;
use pmhlink_profile::write::{Batch, PayloadWriter};
use pmhlink_rules::{Code, FieldRef, Finding, RuleContext, Severity};

use crate::clean::{CleanContext, Normalisations};
use crate::join::JoinIndex;
use crate::map::map_row;
use crate::plan::{JoinPlan, Plan};
use crate::quarantine::{Quarantined, mask_my_number};
use crate::report::{BatchReport, RecordCounts, SourceStats};
use crate::table::Table;
use pmhlink_rules::CivilDate;
use pmhlink_rules::era::{DateMode, EraTable, parse_date};

/// Why a run stopped. Messages name sources, plugins, files and lines, never values.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("source `{source_name}`: {message}")]
    Source {
        source_name: String,
        message: String,
    },
    #[error("sink `{sink}`: {message}")]
    Sink { sink: String, message: String },
    #[error("{0}")]
    Payload(String),
}

/// A source as the run sees it: columns, then batches of rows.
pub trait SourceHandle {
    fn name(&self) -> &str;
    fn plugin(&self) -> &str;
    /// Appends up to `max_rows` rows to `into`; false when the source is exhausted.
    fn next_batch(&mut self, max_rows: usize, into: &mut Table) -> Result<bool, RunError>;
}

/// What a payload batch is, for a sink and its manifest.
#[derive(Clone, Debug)]
pub struct PayloadMeta {
    pub run_id: String,
    pub municipality: String,
    pub api: String,
    pub format: &'static str,
    pub seq: usize,
    pub records: usize,
    pub file_name: String,
}

pub trait SinkHandle {
    fn plugin(&self) -> &str;
    fn deliver(&mut self, meta: &PayloadMeta, bytes: Vec<u8>) -> Result<String, RunError>;
    /// Makes this run's deliveries final (`commit`) or removes them; returns a summary.
    fn finish(
        &mut self,
        run_id: &str,
        commit: bool,
        manifest_json: String,
    ) -> Result<String, RunError>;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Everything but delivery.
    Plan,
    Run,
}

pub struct RunSetup<'a> {
    pub plan: &'a Plan,
    pub layout: &'a Layout,
    pub rules: &'a RuleContext<'a>,
    pub clean: &'a CleanContext<'a>,
    pub mode: Mode,
    pub run_id: &'a str,
    pub municipality: &'a str,
    /// Rows per batch asked of a source.
    pub batch_rows: usize,
}

/// What happened, for the report.
#[derive(Debug, Default)]
pub struct RunOutput {
    pub sources: Vec<SourceStats>,
    pub records: RecordCounts,
    pub findings: Vec<(Code, Severity)>,
    pub normalisations: Normalisations,
    pub batches: Vec<BatchReport>,
    pub quarantined: Vec<Quarantined>,
}

fn stats_of(source: &dyn SourceHandle, table: &Table) -> SourceStats {
    SourceStats {
        name: source.name().to_owned(),
        plugin: source.plugin().to_owned(),
        rows: table.len() as u64,
        unreadable_rows: (0..table.len())
            .filter(|&r| table.error(r).is_some())
            .count() as u64,
    }
}

/// Whether a joined row holds on `day`, by its validity columns. A date that cannot be read
/// keeps the row: for the 支援措置 list, withholding too much is the safe mistake.
fn in_force(table: &Table, row: usize, join: &JoinPlan, day: CivilDate, era: &EraTable) -> bool {
    let date = |column: Option<usize>| {
        let text = crate::clean::trim(table.cell(row, column?));
        if text.is_empty() {
            return None;
        }
        parse_date(text, era, DateMode::Lenient)
            .ok()
            .map(|p| p.date)
    };
    date(join.valid_from).is_none_or(|from| from <= day)
        && date(join.valid_to).is_none_or(|to| day <= to)
}

/// Reads a joined source whole and indexes the rows in force on the business date.
pub fn load_join(
    source: &mut dyn SourceHandle,
    columns: Vec<String>,
    join: &JoinPlan,
    business_date: CivilDate,
    era: &EraTable,
    batch_rows: usize,
) -> Result<(JoinIndex, SourceStats), RunError> {
    let mut table = Table::new(columns);
    while source.next_batch(batch_rows, &mut table)? {}
    let stats = stats_of(source, &table);
    let keep = |t: &Table, row: usize| in_force(t, row, join, business_date, era);
    Ok((
        JoinIndex::build_where(source.name(), table, join.right_column, keep),
        stats,
    ))
}

/// Drops the shape findings on fields whose mapping already failed: one mistake, one finding.
fn merge(mapping: &mut Vec<Finding>, checks: Vec<Finding>) {
    let failed: Vec<FieldRef> = mapping
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| f.field.clone())
        .collect();
    mapping.extend(checks.into_iter().filter(|f| !failed.contains(&f.field)));
}

/// A row after mapping and checks, before duplicate detection (which needs file order). The
/// record itself is dropped on the thread that built it; what later steps need is kept.
struct Checked {
    findings: Vec<Finding>,
    /// `None` when no record could be built from the row.
    identity: Option<u64>,
    history_key: Option<String>,
    /// Only for rows that failed a check: most rows pass, and a duplicate (found later, in file
    /// order) is named by its line and history key.
    my_number_masked: Option<String>,
    /// The record in wire form, within its half's buffer, when it passed every check.
    encoded: Option<std::ops::Range<usize>>,
    line: u64,
    unreadable: bool,
}

/// The history key straight from the primary row, for a row that never became a record (a join
/// miss, an unknown programme), so that the quarantine list still names it.
fn source_history_key(plan: &Plan, chunk: &Table, row: usize) -> Option<String> {
    let field = plan
        .fields
        .iter()
        .find(|f| f.field == FieldId::HistoryKey)?;
    match field.value.source {
        crate::plan::ValueSource::Column(c) if c.source == 0 => {
            Some(crate::clean::trim(chunk.cell(row, c.column)).to_owned())
        }
        _ => None,
    }
}

/// One half of a chunk: its rows and the wire form of the clean ones.
struct Half {
    rows: Vec<Checked>,
    encoded: Vec<u8>,
}

fn check_rows(
    setup: &RunSetup<'_>,
    chunk: &Table,
    rows: std::ops::Range<usize>,
    joins: &[JoinIndex],
    counts: &mut Normalisations,
) -> Result<Half, RunError> {
    let mut checks = Vec::new();
    let mut half = Half {
        rows: Vec::with_capacity(rows.len()),
        encoded: Vec::new(),
    };
    for row in rows {
        let mut mapped = map_row(setup.plan, chunk, row, joins, setup.clean, counts);
        let mut encoded = None;
        if let Some(record) = &mapped.record {
            checks.clear();
            pmhlink_profile::check::check_record(setup.layout, record, setup.rules, &mut checks);
            merge(&mut mapped.findings, std::mem::take(&mut checks));
            if !mapped
                .findings
                .iter()
                .any(|f| f.severity == Severity::Error)
            {
                let start = half.encoded.len();
                pmhlink_profile::write::encode_record(setup.layout, record, row, &mut half.encoded)
                    .map_err(|e| RunError::Payload(e.to_string()))?;
                encoded = Some(start..half.encoded.len());
            }
        }
        let record = mapped.record.as_ref();
        half.rows.push(Checked {
            identity: record.map(Record::identity_digest),
            history_key: record
                .and_then(|r| r.text(FieldId::HistoryKey))
                .map(str::to_owned)
                .or_else(|| source_history_key(setup.plan, chunk, row))
                .filter(|k| !k.is_empty()),
            // Only a quarantined row shows it; most rows pass.
            my_number_masked: record
                .filter(|_| encoded.is_none())
                .and_then(|r| mask_my_number(r.person.my_number.expose())),
            findings: mapped.findings,
            encoded,
            line: chunk.line(row),
            unreadable: chunk.error(row).is_some(),
        });
    }
    Ok(half)
}

/// The second core's share of mapping: a thread that lives for the whole run (spawning one per
/// chunk cost more than it saved, through fresh allocator caches each time).
struct Worker {
    work: std::sync::mpsc::SyncSender<(std::sync::Arc<Table>, std::ops::Range<usize>)>,
    done: std::sync::mpsc::Receiver<Result<(Half, Normalisations), RunError>>,
}

/// Maps, checks and encodes a chunk on both cores: rows are independent, and file order is
/// kept by handling the halves in turn.
fn check_chunk(
    setup: &RunSetup<'_>,
    chunk: &std::sync::Arc<Table>,
    joins: &[JoinIndex],
    counts: &mut Normalisations,
    worker: &Worker,
) -> Result<Vec<Half>, RunError> {
    let n = chunk.len();
    let mid = n / 2;
    if n < 256 || worker.work.send((chunk.clone(), mid..n)).is_err() {
        return Ok(vec![check_rows(setup, chunk, 0..n, joins, counts)?]);
    }
    let first = check_rows(setup, chunk, 0..mid, joins, counts);
    let (rest, c) = worker
        .done
        .recv()
        .map_err(|_| RunError::Payload("the mapping thread stopped".into()))??;
    counts.merge(&c);
    Ok(vec![first?, rest])
}

/// Records in wire form on their way to the delivery thread.
struct Encoded {
    halves: Vec<Vec<u8>>,
    /// (half, byte range) of each record to send, in order.
    records: Vec<(usize, std::ops::Range<usize>)>,
}

/// The sink side, on its own thread: payload batches in record order, each delivered to every
/// sink as it fills.
fn deliver_all(
    setup: &RunSetup<'_>,
    chunks: std::sync::mpsc::Receiver<Encoded>,
    sinks: &mut [&mut (dyn SinkHandle + Send)],
) -> Result<Vec<BatchReport>, RunError> {
    let format = setup.layout.format().extension();
    let mut reports = Vec::new();
    let mut deliver = |batch: Batch| -> Result<(), RunError> {
        let meta = PayloadMeta {
            run_id: setup.run_id.to_owned(),
            municipality: setup.municipality.to_owned(),
            api: setup.layout.api.to_string(),
            format,
            seq: batch.seq,
            records: batch.records,
            file_name: setup.layout.payload_file_name(batch.seq),
        };
        let mut receipts = Vec::new();
        if setup.mode == Mode::Run {
            for sink in sinks.iter_mut() {
                receipts.push(sink.deliver(&meta, batch.bytes.clone())?);
            }
        }
        reports.push(BatchReport {
            seq: batch.seq,
            records: batch.records,
            bytes: batch.bytes.len(),
            receipt: (!receipts.is_empty()).then(|| receipts.join(", ")),
        });
        Ok(())
    };
    let mut writer = PayloadWriter::new(setup.layout);
    for chunk in chunks {
        for (half, range) in chunk.records {
            let bytes = &chunk.halves[half][range];
            if let Some(batch) = writer
                .push_encoded(bytes)
                .map_err(|e| RunError::Payload(e.to_string()))?
            {
                deliver(batch)?;
            }
        }
    }
    if let Some(batch) = writer.finish() {
        deliver(batch)?;
    }
    Ok(reports)
}

/// Streams the primary source through mapping, checks and delivery: mapping runs on both
/// cores per chunk, payload writing and delivery on a thread of their own.
pub fn execute(
    setup: &RunSetup<'_>,
    primary: &mut (dyn SourceHandle + Send),
    primary_columns: Vec<String>,
    joins: &[JoinIndex],
    sinks: &mut [&mut (dyn SinkHandle + Send)],
    out: &mut RunOutput,
) -> Result<(), RunError> {
    let mut primary_stats = SourceStats {
        name: primary.name().into(),
        plugin: primary.plugin().into(),
        ..Default::default()
    };
    let (tx, rx) = std::sync::mpsc::sync_channel::<Encoded>(2);
    let (chunks_tx, chunks) = std::sync::mpsc::sync_channel::<Result<(Table, bool), RunError>>(2);
    let source_name = primary.name().to_owned();
    let batch_rows = setup.batch_rows;
    let (read, written) = std::thread::scope(|s| {
        let delivery = s.spawn(move || deliver_all(setup, rx, sinks));
        let (work, work_rx) =
            std::sync::mpsc::sync_channel::<(std::sync::Arc<Table>, std::ops::Range<usize>)>(1);
        let (done_tx, done) = std::sync::mpsc::sync_channel(1);
        s.spawn(move || {
            for (chunk, rows) in work_rx {
                let mut counts = Normalisations::default();
                let half = check_rows(setup, &chunk, rows, joins, &mut counts).map(|h| (h, counts));
                if done_tx.send(half).is_err() {
                    return;
                }
            }
        });
        let worker = Worker { work, done };
        // Reading ahead: the next batch is decoded while this one is mapped.
        s.spawn(move || {
            loop {
                let mut chunk = Table::new(primary_columns.clone());
                let read = primary.next_batch(batch_rows, &mut chunk);
                let last = !matches!(read, Ok(true));
                if chunks_tx.send(read.map(|more| (chunk, more))).is_err() || last {
                    return;
                }
            }
        });
        let lanes = Lanes {
            chunks,
            worker: &worker,
            delivery: &tx,
        };
        let read = read_all(setup, &source_name, lanes, joins, out, &mut primary_stats);
        drop(worker);
        drop(tx);
        let written = delivery
            .join()
            .unwrap_or_else(|_| Err(RunError::Payload("the delivery thread panicked".into())));
        (read, written)
    });
    out.sources.insert(0, primary_stats);
    read?;
    out.batches = written?;
    Ok(())
}

/// How the mapping strand talks to the others: batches in from the reader, the second core's
/// share of each chunk, records out to delivery.
struct Lanes<'w> {
    chunks: std::sync::mpsc::Receiver<Result<(Table, bool), RunError>>,
    worker: &'w Worker,
    delivery: &'w std::sync::mpsc::SyncSender<Encoded>,
}

fn read_all(
    setup: &RunSetup<'_>,
    source_name: &str,
    lanes: Lanes<'_>,
    joins: &[JoinIndex],
    out: &mut RunOutput,
    stats: &mut SourceStats,
) -> Result<(), RunError> {
    let Lanes {
        chunks,
        worker,
        delivery: tx,
    } = lanes;
    let mut seen = HashSet::new();
    loop {
        let Ok(read) = chunks.recv() else {
            return Ok(());
        };
        let (chunk, more) = read?;
        let chunk = std::sync::Arc::new(chunk);
        let halves = check_chunk(setup, &chunk, joins, &mut out.normalisations, worker)?;
        let mut send = Encoded {
            halves: Vec::with_capacity(halves.len()),
            records: Vec::with_capacity(chunk.len()),
        };
        for (h, half) in halves.into_iter().enumerate() {
            for mut c in half.rows {
                stats.rows += 1;
                stats.unreadable_rows += u64::from(c.unreadable);
                if let (Some(_), Some(identity)) = (&c.encoded, c.identity)
                    && !seen.insert(identity)
                {
                    c.findings
                        .push(Finding::on(Code::DuplicateRecord, FieldRef::Record));
                    c.encoded = None;
                }
                out.records.rows += 1;
                out.findings
                    .extend(c.findings.iter().map(|f| (f.code, f.severity)));
                match c.encoded {
                    Some(range) => {
                        out.records.sent += 1;
                        out.records.with_warnings += u64::from(!c.findings.is_empty());
                        send.records.push((h, range));
                    }
                    None => {
                        out.records.quarantined += 1;
                        out.quarantined.push(Quarantined {
                            source: source_name.to_owned(),
                            line: Some(c.line),
                            history_key: c.history_key,
                            my_number_masked: c.my_number_masked,
                            findings: c.findings,
                        });
                    }
                }
            }
            send.halves.push(half.encoded);
        }
        // A closed channel means the delivery thread stopped on an error, which it reports.
        if tx.send(send).is_err() || !more {
            return Ok(());
        }
    }
}
