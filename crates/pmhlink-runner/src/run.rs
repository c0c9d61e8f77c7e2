//! One run end to end over already opened sources and sinks: load the joined sources, stream
//! the primary source through mapping and checks, quarantine what fails, write payload batches
//! and (unless planning) deliver them, then commit or roll back every sink.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};

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
    pub sink_summaries: Vec<String>,
    pub error: Option<RunError>,
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

/// A certificate + history row as a 64-bit hash: duplicates are found without keeping values.
fn identity_hash(r: &Record) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    r.certificate_id().hash(&mut h);
    match &r.history {
        Some(row) => row.key.hash(&mut h),
        None => r.receipt.valid_from.hash(&mut h),
    }
    h.finish()
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

struct Delivery<'s, 'a> {
    setup: &'s RunSetup<'a>,
    sinks: &'s mut [&'a mut dyn SinkHandle],
    out: &'s mut RunOutput,
}

impl Delivery<'_, '_> {
    fn batch(&mut self, batch: Batch) -> Result<(), RunError> {
        let format = match self.setup.layout.format() {
            pmhlink_profile::Format::Json => "json",
            pmhlink_profile::Format::Csv => "csv",
        };
        let meta = PayloadMeta {
            run_id: self.setup.run_id.to_owned(),
            municipality: self.setup.municipality.to_owned(),
            api: self.setup.layout.api.to_string(),
            format,
            seq: batch.seq,
            records: batch.records,
            file_name: format!("{}-{:04}.{format}", self.setup.layout.api, batch.seq),
        };
        let mut receipts = Vec::new();
        if self.setup.mode == Mode::Run {
            for sink in self.sinks.iter_mut() {
                receipts.push(sink.deliver(&meta, batch.bytes.clone())?);
            }
        }
        self.out.batches.push(BatchReport {
            seq: batch.seq,
            records: batch.records,
            bytes: batch.bytes.len(),
            receipt: (!receipts.is_empty()).then(|| receipts.join(", ")),
        });
        Ok(())
    }
}

/// Streams the primary source through mapping, checks and delivery.
pub fn execute<'a>(
    setup: &RunSetup<'a>,
    primary: &mut dyn SourceHandle,
    primary_columns: Vec<String>,
    joins: &[JoinIndex],
    sinks: &mut [&'a mut dyn SinkHandle],
    out: &mut RunOutput,
) -> Result<(), RunError> {
    let mut writer = PayloadWriter::new(setup.layout);
    let mut chunk = Table::new(primary_columns);
    let mut seen = HashSet::new();
    let mut primary_stats = SourceStats {
        name: primary.name().into(),
        plugin: primary.plugin().into(),
        ..Default::default()
    };
    let mut checks = Vec::new();
    let mut delivery = Delivery { setup, sinks, out };
    loop {
        chunk.clear();
        let more = primary.next_batch(setup.batch_rows, &mut chunk)?;
        for row in 0..chunk.len() {
            primary_stats.rows += 1;
            primary_stats.unreadable_rows += u64::from(chunk.error(row).is_some());
            let mut mapped = map_row(
                setup.plan,
                &chunk,
                row,
                joins,
                setup.clean,
                &mut delivery.out.normalisations,
            );
            if let Some(record) = &mapped.record {
                checks.clear();
                pmhlink_profile::check::check_record(
                    setup.layout,
                    record,
                    setup.rules,
                    &mut checks,
                );
                merge(&mut mapped.findings, std::mem::take(&mut checks));
                if !mapped
                    .findings
                    .iter()
                    .any(|f| f.severity == Severity::Error)
                    && !seen.insert(identity_hash(record))
                {
                    mapped
                        .findings
                        .push(Finding::on(Code::DuplicateRecord, FieldRef::Record));
                }
            }
            let out = &mut *delivery.out;
            out.records.rows += 1;
            out.findings
                .extend(mapped.findings.iter().map(|f| (f.code, f.severity)));
            let failed = mapped.record.is_none()
                || mapped
                    .findings
                    .iter()
                    .any(|f| f.severity == Severity::Error);
            if failed {
                out.records.quarantined += 1;
                let record = mapped.record.as_ref();
                out.quarantined.push(Quarantined {
                    source: primary.name().to_owned(),
                    line: Some(chunk.line(row)),
                    history_key: record
                        .and_then(|r| r.text(FieldId::HistoryKey))
                        .filter(|k| !k.is_empty())
                        .map(str::to_owned),
                    my_number_masked: record
                        .and_then(|r| mask_my_number(r.person.my_number.expose())),
                    findings: mapped.findings,
                });
                continue;
            }
            out.records.sent += 1;
            out.records.with_warnings += u64::from(!mapped.findings.is_empty());
            let record = mapped.record.expect("checked above");
            if let Some(batch) = writer
                .push(&record)
                .map_err(|e| RunError::Payload(e.to_string()))?
            {
                delivery.batch(batch)?;
            }
        }
        if !more {
            break;
        }
    }
    if let Some(batch) = writer.finish() {
        delivery.batch(batch)?;
    }
    delivery.out.sources.insert(0, primary_stats);
    Ok(())
}
