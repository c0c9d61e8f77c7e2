//! The reading half of a run over already opened sources: load the joined sources, stream the
//! primary source through mapping and checks on both cores, quarantine what fails, and hand
//! every clean row (its keys, digest and canonical content) and every held row, in file order,
//! to a consumer on a thread of its own — the diff against the ledger.

use std::collections::HashSet;

use pmhlink_diff::{Digest, Held, RowKey, Shield};
use pmhlink_ledger::Keys;
use pmhlink_model::{FieldId, HistoryRow, Record};
use pmhlink_profile::Layout;
use pmhlink_rules::{Code, FieldRef, Finding, RuleContext, Severity};

use crate::clean::{CleanContext, Normalisations};
use crate::join::JoinIndex;
use crate::map::map_row;
use crate::mapping::{MappedJoin, Mapping};
use crate::quarantine::{Quarantined, UnreadableRow, bounded_reason, mask_my_number};
use crate::report::{RecordCounts, SourceStats};
use crate::table::Table;
use crate::vocab::{RunError, SourceHandle};
use pmhlink_rules::CivilDate;
use pmhlink_rules::era::{DateMode, EraTable, parse_date};

pub struct RunSetup<'a> {
    pub mapping: &'a Mapping,
    pub layout: &'a Layout,
    pub rules: &'a RuleContext<'a>,
    pub clean: &'a CleanContext<'a>,
    /// The ledger's keyed hashes: rows are identified and compared without personal values.
    pub keys: &'a Keys,
    /// The pipeline maps no history key: one is derived from the certificate and its period.
    pub derive_history_key: bool,
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
    pub quarantined: Vec<Quarantined>,
    /// Rows of every source that their plugin could not read, in reading order.
    pub unreadable: Vec<UnreadableRow>,
    /// The header of the quarantine list's key column (`report.quarantine_key`), if any.
    pub quarantine_key: Option<String>,
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
fn in_force(table: &Table, row: usize, join: &MappedJoin, day: CivilDate, era: &EraTable) -> bool {
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

/// A joined source read whole: its index, its counts, and the rows its plugin could not read.
pub struct LoadedJoin {
    pub index: JoinIndex,
    pub stats: SourceStats,
    pub unreadable: Vec<UnreadableRow>,
}

/// Reads a joined source whole and indexes the rows in force on the business date.
pub fn load_join(
    source: &mut dyn SourceHandle,
    columns: Vec<String>,
    join: &MappedJoin,
    business_date: CivilDate,
    era: &EraTable,
    batch_rows: usize,
) -> Result<LoadedJoin, RunError> {
    let mut table = Table::new(columns);
    while source.next_batch(batch_rows, &mut table)? {}
    let stats = stats_of(source, &table);
    let unreadable = (0..table.len())
        .filter_map(|row| {
            table.error(row).map(|reason| UnreadableRow {
                source: source.name().to_owned(),
                line: table.line(row),
                reason: bounded_reason(reason),
            })
        })
        .collect();
    let keep = |t: &Table, row: usize| in_force(t, row, join, business_date, era);
    Ok(LoadedJoin {
        index: JoinIndex::build_where(source.name(), table, join.right_column, keep),
        stats,
        unreadable,
    })
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

/// A clean row as the diff sees it: keyed hashes, and its canonical content in a buffer.
#[derive(Clone, Debug)]
pub struct PassedRow {
    pub key: RowKey,
    pub digest: Digest,
    pub shield: Shield,
    /// Keyed hash of the history key, for matching result files.
    pub hk_hash: [u8; 16],
    pub content: std::ops::Range<usize>,
}

/// A row after mapping and checks, before duplicate detection (which needs file order). The
/// record itself is dropped on the thread that built it; what later steps need is kept.
struct Checked {
    findings: Vec<Finding>,
    /// The row's identity when a record could be built, clean or not.
    key: Option<RowKey>,
    history_key: Option<String>,
    /// Only for rows that failed a check: most rows pass, and a duplicate (found later, in file
    /// order) is named by its line and history key.
    my_number_masked: Option<String>,
    /// Set when the row passed every check.
    passed: Option<PassedRow>,
    /// The vendor marked the row deleted (削除区分): it is not part of today's set, so what PMH
    /// holds for it is deleted by the diff.
    withdrawn: bool,
    /// What today's failure of this row protects from deletion.
    held: Held,
    /// The quarantine list's stable name for the row across runs.
    qkey: [u8; 16],
    line: u64,
    /// The plugin's reason, for a row it could not read.
    unreadable: Option<String>,
    /// The row's programme is ignored: counted, never sent, held only by its certificate.
    ignored: bool,
    /// The value of `report.quarantine_key`, for a quarantined row the plugin could read.
    source_key: Option<String>,
}

/// A field's text straight from the primary row, for a row that never became a record (a join
/// miss, an unknown programme), so that the quarantine list still names it.
fn source_text(plan: &Mapping, chunk: &Table, row: usize, field: FieldId) -> Option<String> {
    let field = plan.fields.iter().find(|f| f.field == field)?;
    match field.value.source {
        crate::mapping::ValueSource::Column(c) if c.source == 0 => {
            Some(crate::clean::trim(chunk.cell(row, c.column)).to_owned())
        }
        _ => None,
    }
}

/// The row's history key: the source's, or derived from the certificate and its period. A
/// derived key is written into the record for diff-history layouts, which send it.
fn history_key(setup: &RunSetup<'_>, record: &mut Record) -> String {
    if !setup.derive_history_key {
        return record.text(FieldId::HistoryKey).unwrap_or("").to_owned();
    }
    let r = &record.receipt;
    let key = pmhlink_diff::derived_history_key(
        &record.type_id,
        r.recipient_number.as_deref().unwrap_or(""),
        r.sub_key.as_deref().unwrap_or(""),
        &r.valid_from,
    );
    if setup.layout.sync() != pmhlink_profile::SyncMode::Full {
        record.history = Some(HistoryRow {
            key: key.clone(),
            deleted: false,
        });
    }
    key
}

/// What a held row protects: its certificate by 公費受給者番号 + サブキー when known (a typo
/// in today's My Number must not delete yesterday's row), else the exact row, else — nothing
/// known — everything.
fn held_of(keys: &Keys, record: Option<&Record>, key: Option<RowKey>) -> Held {
    let recipient = record.and_then(|r| r.receipt.recipient_number.as_deref());
    match (recipient.filter(|r| !r.is_empty()), key) {
        (Some(recipient), _) => Held::Shield(
            keys.shield(
                recipient,
                record
                    .and_then(|r| r.receipt.sub_key.as_deref())
                    .unwrap_or(""),
            ),
        ),
        (None, Some(key)) => Held::Row(key),
        (None, None) => Held::Unidentified,
    }
}

/// One half of a chunk: its rows and the canonical content of the clean ones.
struct Half {
    rows: Vec<Checked>,
    content: Vec<u8>,
}

fn check_rows(
    setup: &RunSetup<'_>,
    chunk: &Table,
    rows: std::ops::Range<usize>,
    joins: &[JoinIndex],
    counts: &mut Normalisations,
) -> Result<Half, RunError> {
    let keys = setup.keys;
    let mut checks = Vec::new();
    let mut half = Half {
        rows: Vec::with_capacity(rows.len()),
        content: Vec::new(),
    };
    for row in rows {
        let mut mapped = map_row(setup.mapping, chunk, row, joins, setup.clean, counts);
        let mut passed = None;
        let mut key = None;
        let mut history = None;
        let mut withdrawn = false;
        if let Some(record) = &mut mapped.record {
            let hk = history_key(setup, record);
            checks.clear();
            pmhlink_profile::check::check_record(setup.layout, record, setup.rules, &mut checks);
            merge(&mut mapped.findings, std::mem::take(&mut checks));
            let row_key = keys.row_key(&record.certificate_id(), &hk);
            key = Some(row_key);
            let clean = !mapped
                .findings
                .iter()
                .any(|f| f.severity == Severity::Error);
            withdrawn = clean && record.flag(FieldId::IsDeleted) == Some(true);
            if clean && !withdrawn {
                let start = half.content.len();
                pmhlink_model::encode_content(record, &mut half.content);
                let content = start..half.content.len();
                let r = &record.receipt;
                passed = Some(PassedRow {
                    key: row_key,
                    digest: keys.digest(&half.content[content.clone()]),
                    shield: keys.shield(
                        r.recipient_number.as_deref().unwrap_or(""),
                        r.sub_key.as_deref().unwrap_or(""),
                    ),
                    hk_hash: keys.history_key_hash(&hk),
                    content,
                });
            }
            history = Some(hk);
        }
        let record = mapped.record.as_ref();
        let held = held_of(keys, record.or(mapped.partial.as_ref()), key);
        let quarantined = passed.is_none() && !mapped.ignored && !withdrawn;
        let source_key = setup
            .mapping
            .quarantine_key
            .as_ref()
            .filter(|_| quarantined && chunk.error(row).is_none())
            .map(|k| bounded_reason(crate::clean::trim(chunk.cell(row, k.column))));
        let qkey = match key {
            Some(k) => k,
            None if mapped.ignored => [0; 16],
            None if passed.is_none() => {
                let cells: Vec<&[u8]> = (0..chunk.columns.len())
                    .map(|c| chunk.cell(row, c).as_bytes())
                    .collect();
                keys.hash("source-row", &cells)
            }
            None => [0; 16],
        };
        half.rows.push(Checked {
            key,
            history_key: history
                .or_else(|| source_text(setup.mapping, chunk, row, FieldId::HistoryKey))
                .filter(|k| !k.is_empty()),
            // Only a quarantined row shows it; most rows pass.
            my_number_masked: record
                .filter(|_| passed.is_none())
                .and_then(|r| mask_my_number(r.person.my_number.expose())),
            findings: mapped.findings,
            passed,
            withdrawn,
            held,
            qkey,
            line: chunk.line(row),
            unreadable: chunk.error(row).map(bounded_reason),
            ignored: mapped.ignored,
            source_key,
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

/// Clean and held rows of a chunk, in file order, on their way to the consumer.
pub struct Passed {
    /// Canonical content buffers, one per half.
    pub halves: Vec<Vec<u8>>,
    /// (half, row) of each clean row.
    pub rows: Vec<(usize, PassedRow)>,
    pub held: Vec<Held>,
}

impl Passed {
    pub fn content(&self, half: usize, row: &PassedRow) -> &[u8] {
        &self.halves[half][row.content.clone()]
    }
}

/// What the consumer receives: chunks, then `End` only when the whole export was read. A
/// consumer that sees the channel close without `End` must not commit anything: a partial read
/// never becomes a plan.
pub enum Stream {
    Chunk(Passed),
    /// The whole export was read.
    End(DayEnd),
}

/// What the end of a whole reading carries to the consumer, to be kept with the plan in its
/// transaction: the day record, and the rows checks held back (the ledger's quarantine).
pub struct DayEnd {
    pub record: Vec<u8>,
    pub held: Vec<crate::quarantine::Held>,
}

/// Streams the primary source through mapping and checks: mapping runs on both cores per
/// chunk, and `consume` runs on a thread of its own over the clean and held rows.
pub fn execute<T: Send>(
    setup: &RunSetup<'_>,
    primary: &mut (dyn SourceHandle + Send),
    primary_columns: Vec<String>,
    joins: &[JoinIndex],
    out: &mut RunOutput,
    day_end: impl FnOnce(&RunOutput) -> DayEnd,
    consume: impl FnOnce(std::sync::mpsc::Receiver<Stream>) -> Result<T, RunError> + Send,
) -> Result<T, RunError> {
    let mut primary_stats = SourceStats {
        name: primary.name().into(),
        plugin: primary.plugin().into(),
        ..Default::default()
    };
    let (tx, rx) = std::sync::mpsc::sync_channel::<Stream>(2);
    let (chunks_tx, chunks) = std::sync::mpsc::sync_channel::<Result<(Table, bool), RunError>>(2);
    let source_name = primary.name().to_owned();
    let batch_rows = setup.batch_rows;
    out.quarantine_key = setup
        .mapping
        .quarantine_key
        .as_ref()
        .map(|k| k.name.clone());
    let (read, consumed) = std::thread::scope(|s| {
        let consumer = s.spawn(move || consume(rx));
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
            consumer: &tx,
        };
        let read = read_all(setup, &source_name, lanes, joins, out, &mut primary_stats);
        out.sources.insert(0, primary_stats);
        let read = read.and_then(|()| {
            // Checked before `End`, so an empty export never reaches a committed plan.
            if out.records.rows == 0 {
                return Err(RunError::Source {
                    source_name: source_name.clone(),
                    message: "returned no rows; an empty export is never sent".into(),
                });
            }
            Ok(())
        });
        if read.is_ok() {
            // A closed channel means the consumer stopped on an error, which it reports.
            let _ = tx.send(Stream::End(day_end(out)));
        }
        drop(worker);
        drop(tx);
        let consumed = consumer
            .join()
            .unwrap_or_else(|_| Err(RunError::Payload("the diff thread panicked".into())));
        (read, consumed)
    });
    read?;
    consumed
}

/// How the mapping strand talks to the others: batches in from the reader, the second core's
/// share of each chunk, rows out to the consumer.
struct Lanes<'w> {
    chunks: std::sync::mpsc::Receiver<Result<(Table, bool), RunError>>,
    worker: &'w Worker,
    consumer: &'w std::sync::mpsc::SyncSender<Stream>,
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
        consumer: tx,
    } = lanes;
    let mut seen: HashSet<RowKey> = HashSet::new();
    loop {
        let Ok(read) = chunks.recv() else {
            return Ok(());
        };
        let (chunk, more) = read?;
        let chunk = std::sync::Arc::new(chunk);
        let halves = check_chunk(setup, &chunk, joins, &mut out.normalisations, worker)?;
        let mut send = Passed {
            halves: Vec::with_capacity(halves.len()),
            rows: Vec::with_capacity(chunk.len()),
            held: Vec::new(),
        };
        for (h, half) in halves.into_iter().enumerate() {
            for mut c in half.rows {
                stats.rows += 1;
                if let Some(reason) = &c.unreadable {
                    stats.unreadable_rows += 1;
                    out.unreadable.push(UnreadableRow {
                        source: source_name.to_owned(),
                        line: c.line,
                        reason: reason.clone(),
                    });
                }
                if let (Some(_), Some(key)) = (&c.passed, c.key)
                    && !seen.insert(key)
                {
                    c.findings
                        .push(Finding::on(Code::DuplicateRecord, FieldRef::Record));
                    // The first occurrence is what the diff sees; the copy protects nothing.
                    c.passed = None;
                    c.held = Held::Row(key);
                }
                out.records.rows += 1;
                if c.ignored {
                    out.records.ignored += 1;
                    // What PMH may hold for its certificate is kept; a row that names no
                    // certificate holds nothing back (it was never sent).
                    if let Held::Shield(_) = c.held {
                        send.held.push(c.held);
                    }
                    continue;
                }
                out.findings
                    .extend(c.findings.iter().map(|f| (f.code, f.severity)));
                if c.withdrawn {
                    out.records.withdrawn += 1;
                    continue;
                }
                match c.passed {
                    Some(row) => {
                        out.records.clean += 1;
                        out.records.with_warnings += u64::from(!c.findings.is_empty());
                        send.rows.push((h, row));
                    }
                    None => {
                        out.records.quarantined += 1;
                        send.held.push(c.held);
                        out.quarantined.push(Quarantined {
                            source: source_name.to_owned(),
                            line: Some(c.line),
                            history_key: c.history_key,
                            my_number_masked: c.my_number_masked,
                            findings: c.findings,
                            qkey: c.qkey,
                            reason: c.unreadable,
                            source_key: c.source_key,
                        });
                    }
                }
            }
            send.halves.push(half.content);
        }
        if tx.send(Stream::Chunk(send)).is_err() || !more {
            return Ok(());
        }
    }
}
