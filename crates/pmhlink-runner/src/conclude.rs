//! The report-and-exit phase: every path of a day ends here, once. The outcome and exit status
//! are decided from the day's reading and how the day ended, then the run report and the
//! quarantine list are written (atomically; a later attempt never replaces an earlier one's).

use std::collections::BTreeMap;
use std::path::Path;

use pmhlink_config::Pipeline;
use pmhlink_diff::SyncKind;
use pmhlink_profile::{Layout, Profile};
use pmhlink_rules::Severity;
use serde::Serialize;

use crate::pipeline::{Finished, Options, kind_name};
use crate::report::{DiffCounts, Outcome, ResultsSeen, RunReport, now_unix, rfc3339_utc};
use crate::vocab::{Mode, PipelineError, exit};

/// How a day ended, as a phase says it.
pub struct Ending {
    pub outcome: Outcome,
    /// Why the day stopped early: names files and keys, never values.
    pub error: Option<String>,
}

impl Ending {
    pub fn new(outcome: Outcome) -> Ending {
        Ending {
            outcome,
            error: None,
        }
    }

    pub fn failed(outcome: Outcome, message: String) -> Ending {
        Ending {
            outcome,
            error: Some(message),
        }
    }
}

#[derive(Serialize)]
struct Manifest<'a> {
    run_id: &'a str,
    municipality_code: &'a str,
    municipality_name: &'a str,
    api: String,
    profile: String,
    business_date: &'a str,
    records: u64,
    records_by_action: BTreeMap<&'static str, u64>,
    quarantined: u64,
    pmhlink_version: &'static str,
}

/// Everything a report needs that is known before reading.
pub struct RunContext<'a> {
    pub pipeline: &'a Pipeline,
    pub pipeline_path: &'a Path,
    pub opts: &'a Options,
    pub run_id: String,
    pub layout: Layout,
    pub profile: Profile,
    pub kind: SyncKind,
    pub started: i64,
}

impl RunContext<'_> {
    /// The report before any phase has filled it.
    pub fn report(&self, sink_health: Vec<String>, ledger: Option<&Path>) -> RunReport {
        RunReport {
            pmhlink_version: env!("CARGO_PKG_VERSION"),
            run_id: self.run_id.clone(),
            attempt: None,
            mode: if self.opts.mode == Mode::Run {
                "run"
            } else {
                "plan"
            },
            municipality_code: self.pipeline.municipality.code.clone(),
            municipality_name: self.pipeline.municipality.name.clone(),
            pipeline: self.pipeline_path.display().to_string(),
            api: self.layout.api.full_name(),
            profile: format!("{} {}", self.profile.name, self.profile.version),
            business_date: self.opts.business_date.to_string(),
            started_at: rfc3339_utc(self.started),
            finished_at: String::new(),
            reading: Default::default(),
            sync: kind_name(self.kind),
            diff: None,
            ledger: ledger.map(|l| l.display().to_string()),
            resumed: Vec::new(),
            results: ResultsSeen::default(),
            batches: Vec::new(),
            sinks: sink_health,
            outcome: Outcome::Planned,
            exit_code: exit::OK,
            error: None,
        }
    }

    /// The manifest a sink writes beside a run's payloads.
    pub fn manifest(
        &self,
        layout: &Layout,
        run_id: &str,
        business_date: &str,
        counts: &DiffCounts,
        quarantined: u64,
    ) -> String {
        let manifest = Manifest {
            run_id,
            municipality_code: &self.pipeline.municipality.code,
            municipality_name: &self.pipeline.municipality.name,
            api: layout.api.to_string(),
            profile: format!("{} {}", self.profile.name, self.profile.version),
            business_date,
            records: counts.sent,
            records_by_action: [
                ("register", counts.register),
                ("update", counts.update),
                ("delete", counts.delete),
                ("resend", counts.resend),
                ("keep", counts.keep),
            ]
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .collect(),
            quarantined,
            pmhlink_version: env!("CARGO_PKG_VERSION"),
        };
        serde_json::to_string(&manifest).expect("the manifest serialises")
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), PipelineError> {
    let err = |e: std::io::Error| PipelineError::Report {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let dir = path.parent().expect("a report path has a directory");
    std::fs::create_dir_all(dir).map_err(err)?;
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name().expect("a file name").to_string_lossy()
    ));
    std::fs::write(&tmp, bytes).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

/// The exit status of a day: stopped or broken off is 4 whatever was read; otherwise 3 when the
/// day quarantined a record (also on a resumed or re-run day: it is the day's status), else 0.
fn exit_status(outcome: Outcome, quarantined: bool) -> u8 {
    match outcome {
        Outcome::Aborted | Outcome::Stopped | Outcome::Interrupted => exit::ABORTED,
        _ if quarantined => exit::QUARANTINED,
        _ => exit::OK,
    }
}

/// Decides the outcome and exit status, and writes the report and the quarantine list.
pub fn conclude(
    ctx: &RunContext<'_>,
    mut report: RunReport,
    quarantine_csv: &str,
    ending: Ending,
) -> Result<Finished, PipelineError> {
    let quarantined = report.reading.records.quarantined > 0;
    report.finished_at = rfc3339_utc(now_unix());
    report.exit_code = exit_status(ending.outcome, quarantined);
    report.outcome = match ending.outcome {
        Outcome::Sent if quarantined => Outcome::SentWithQuarantine,
        o => o,
    };
    if ending.error.is_some() {
        report.error = ending.error;
    }
    let pipeline = ctx.pipeline;
    let dir = pipeline
        .resolve(Path::new(&pipeline.report.dir))
        .join(&ctx.run_id);
    let suffix = if ctx.opts.mode == Mode::DryRun {
        "-plan"
    } else {
        ""
    };
    // A later attempt on the same day never replaces an earlier attempt's report: the first
    // one says what was actually delivered.
    let attempt = (1..)
        .map(|n: u32| {
            if n == 1 {
                suffix.to_owned()
            } else {
                format!("{suffix}.{n}")
            }
        })
        .find(|tag| !dir.join(format!("report{tag}.json")).exists())
        .expect("an unused report name");
    let report_json = dir.join(format!("report{attempt}.json"));
    let quarantine_path = dir.join(format!("quarantine{attempt}.csv"));
    let csv = if quarantine_csv.is_empty() {
        // A day that never read (stopped while opening): an empty list with its header.
        crate::quarantine::to_csv(&ctx.layout, "", None, &[], &[])
    } else {
        quarantine_csv.as_bytes().to_vec()
    };
    write_atomic(&quarantine_path, &csv)?;
    let mut json = serde_json::to_vec_pretty(&report).expect("the report serialises");
    json.push(b'\n');
    write_atomic(&report_json, &json)?;
    Ok(Finished {
        report,
        report_json,
        quarantine_csv: quarantine_path,
    })
}

/// Severity counts of a finished run, for a one-line summary.
pub fn summary_line(r: &RunReport) -> String {
    let count = |severity: Severity| -> u64 {
        r.reading
            .findings_by_code
            .values()
            .filter(|c| c.severity == severity)
            .map(|c| c.count)
            .sum()
    };
    let d = r.diff.clone().unwrap_or_default();
    let records = &r.reading.records;
    format!(
        "読込 {}行 / 正常 {}件 / 隔離 {}件 (エラー {}件, 警告 {}件) / 新規 {}件, 変更 {}件, 削除 {}件, 変更なし {}件 / 送信 {}件, 送信ファイル {}",
        records.rows,
        records.clean,
        records.quarantined,
        count(Severity::Error),
        count(Severity::Warning),
        d.register,
        d.update,
        d.delete + d.omit,
        d.unchanged,
        d.sent,
        r.batches.len()
    )
}
