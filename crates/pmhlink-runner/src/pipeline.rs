//! A pipeline file run through real plugins: open and check everything first (validate before
//! running), then read, map, check, deliver, and commit or roll back every sink, then write the
//! run report and the quarantine list. Exit statuses are decided here, once.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use pmhlink_config::{ConfigError, Pipeline};
use pmhlink_plugin_host::{Host, HostError};
use pmhlink_profile::{Layout, Profile, ProfileError};
use pmhlink_rules::{CivilDate, RuleContext, Severity};
use serde::Serialize;

use crate::clean::CleanContext;
use crate::compile::{CompileError, compile, source_order};
use crate::plugins::{PluginSink, PluginSource, is_config_failure};
use crate::quarantine;
use crate::report::{CodeCount, Outcome, RunReport, now_unix, rfc3339_utc};
use crate::run::{
    Mode, RunError, RunOutput, RunSetup, SinkHandle, SourceHandle, execute, load_join,
};

/// The documented exit statuses of `pmhlink run` / `plan` / `check`.
pub mod exit {
    /// Everything was sent (or, for `plan`/`check`, would be).
    pub const OK: u8 = 0;
    /// The pipeline file, a profile, a plugin's settings or the arguments are wrong.
    pub const CONFIG: u8 = 2;
    /// Finished, and some records were quarantined (the rest were sent).
    pub const QUARANTINED: u8 = 3;
    /// Stopped: nothing of this run was delivered.
    pub const ABORTED: u8 = 4;
}

/// Why a pipeline could not run. `exit_code` says which documented status it is.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Profile(#[from] ProfileError),
    #[error("{0}")]
    Layout(#[from] pmhlink_profile::layout::LayoutError),
    #[error("{0}")]
    Plugin(HostError),
    #[error("{0}")]
    Compile(#[from] CompileError),
    #[error("{0}")]
    Aborted(String),
    #[error("cannot write the run report to {path}: {message}")]
    Report { path: String, message: String },
}

impl PipelineError {
    pub fn exit_code(&self) -> u8 {
        match self {
            PipelineError::Plugin(HostError::Plugin(f)) if !is_config_failure(f) => exit::ABORTED,
            PipelineError::Aborted(_) | PipelineError::Report { .. } => exit::ABORTED,
            _ => exit::CONFIG,
        }
    }
}

impl From<HostError> for PipelineError {
    fn from(e: HostError) -> Self {
        PipelineError::Plugin(e)
    }
}

pub struct Options {
    pub mode: Mode,
    /// The day the run is for (業務日): judges "in the future" and which 支援措置 rows hold.
    pub business_date: CivilDate,
    /// Show a progress bar on stderr (only drawn when stderr is a terminal).
    pub progress: bool,
}

/// What `run`/`plan` produced.
pub struct Finished {
    pub report: RunReport,
    pub report_json: PathBuf,
    pub quarantine_csv: PathBuf,
}

/// Run id from (municipality, pipeline, business date): the same day's run of the same
/// pipeline always has the same id, so a re-run is recognisable.
pub fn run_id(pipeline: &Pipeline, pipeline_path: &Path, day: CivilDate) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    std::fs::canonicalize(pipeline_path)
        .unwrap_or_else(|_| pipeline_path.to_owned())
        .hash(&mut h);
    let day = day.to_string().replace('-', "");
    format!(
        "{}-{day}-{:08x}",
        pipeline.municipality.code,
        h.finish() as u32
    )
}

pub fn load_profile(pipeline: &Pipeline) -> Result<Profile, ProfileError> {
    match &pipeline.profile.path {
        Some(p) => Profile::load(&pipeline.resolve(p)),
        None => Ok(Profile::builtin()),
    }
}

/// Everything opened and checked, ready to read.
pub struct Opened {
    pub sources: Vec<PluginSource>,
    pub columns: HashMap<String, Vec<String>>,
    pub sinks: Vec<PluginSink>,
    pub sink_health: Vec<String>,
}

/// Opens and checks every source and sink, and asks each source for its columns. Nothing is
/// read or delivered.
pub fn open(pipeline: &Pipeline, host: &Host, with_sinks: bool) -> Result<Opened, PipelineError> {
    let mut sources = Vec::new();
    let mut columns = HashMap::new();
    for name in source_order(pipeline) {
        let spec = &pipeline.sources[&name];
        let inner = host.open_source(
            &spec.plugin,
            &serde_json::Value::Object(spec.config.value().clone()),
        )?;
        inner.check().map_err(HostError::from)?;
        columns.insert(name.clone(), inner.discover().map_err(HostError::from)?);
        sources.push(PluginSource { name, inner });
    }
    let mut sinks = Vec::new();
    let mut sink_health = Vec::new();
    if with_sinks {
        for spec in &pipeline.sinks {
            let inner = host.open_sink(
                &spec.plugin,
                &serde_json::Value::Object(spec.config.value().clone()),
            )?;
            sink_health.push(format!(
                "{}: {}",
                spec.plugin,
                inner.check().map_err(HostError::from)?
            ));
            sinks.push(PluginSink { inner });
        }
    }
    Ok(Opened {
        sources,
        columns,
        sinks,
        sink_health,
    })
}

#[derive(Serialize)]
struct Manifest<'a> {
    run_id: &'a str,
    municipality_code: &'a str,
    municipality_name: &'a str,
    api: String,
    profile: String,
    business_date: String,
    records: u64,
    /// Without a ledger every record is a registration; diff-history sync (next issue) adds
    /// updates and deletions.
    records_by_action: HashMap<&'static str, u64>,
    quarantined: u64,
    pmhlink_version: &'static str,
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

/// Runs (or plans) a pipeline; `pipeline_path` only names it in the report and the run id.
pub fn run(
    pipeline: &Pipeline,
    pipeline_path: &Path,
    host: &Host,
    opts: &Options,
) -> Result<Finished, PipelineError> {
    let started = now_unix();
    let profile = load_profile(pipeline)?;
    let layout = Layout::new(&profile, pipeline.api())?;
    let site = pipeline.site_tables()?;
    let era = pipeline.rules.era_table();
    let run_id = run_id(pipeline, pipeline_path, opts.business_date);
    let rules = RuleContext {
        today: opts.business_date,
        site: &site,
        municipality_code: Some(&pipeline.municipality.code),
        policy: pipeline.rules.policy(),
    };
    let clean = CleanContext {
        era: &era,
        date_mode: pipeline.rules.date_mode,
        gaiji: &site.gaiji,
    };
    let mut opened = open(pipeline, host, opts.mode == Mode::Run)?;
    let plan = compile(pipeline, &opened.columns)?;

    let batch_rows = 16384;
    let mut out = RunOutput::default();
    let mut joins = Vec::new();
    let mut sources = opened.sources.drain(..);
    let mut primary = sources.next().expect("the primary source is first");
    for (join, mut source) in plan.joins.iter().zip(sources) {
        let columns = opened.columns[&source.name].clone();
        let (index, stats) = load_join(
            &mut source,
            columns,
            join,
            opts.business_date,
            &era,
            batch_rows,
        )
        .map_err(|e| PipelineError::Aborted(e.to_string()))?;
        if stats.rows == 0 && join.required {
            return Err(PipelineError::Aborted(format!(
                "source `{}` returned no rows; every record would miss its required join, so nothing was sent",
                stats.name
            )));
        }
        out.sources.push(stats);
        joins.push(index);
    }
    let setup = RunSetup {
        plan: &plan,
        layout: &layout,
        rules: &rules,
        clean: &clean,
        mode: opts.mode,
        run_id: &run_id,
        municipality: &pipeline.municipality.code,
        batch_rows,
    };
    let mut sinks: Vec<&mut (dyn SinkHandle + Send)> = opened
        .sinks
        .iter_mut()
        .map(|s| s as &mut (dyn SinkHandle + Send))
        .collect();
    let progress = Progress::new(opts.progress, primary.name());
    let mut counting = Counting {
        inner: &mut primary,
        progress: &progress,
    };
    let columns = opened.columns[&plan.primary].clone();
    let result =
        execute(&setup, &mut counting, columns, &joins, &mut sinks, &mut out).and_then(|()| {
            if out.records.rows == 0 {
                return Err(RunError::Source {
                    source_name: plan.primary.clone(),
                    message: "returned no rows; an empty export is never sent".into(),
                });
            }
            Ok(())
        });
    progress.finish();

    let finished_unix = now_unix();
    let mut report = RunReport {
        pmhlink_version: env!("CARGO_PKG_VERSION"),
        run_id: run_id.clone(),
        mode: if opts.mode == Mode::Run {
            "run"
        } else {
            "plan"
        },
        municipality_code: pipeline.municipality.code.clone(),
        municipality_name: pipeline.municipality.name.clone(),
        pipeline: pipeline_path.display().to_string(),
        api: layout.api.full_name(),
        profile: format!("{} {}", profile.name, profile.version),
        business_date: opts.business_date.to_string(),
        started_at: rfc3339_utc(started),
        finished_at: rfc3339_utc(finished_unix),
        sources: out.sources.clone(),
        records: out.records.clone(),
        findings_by_code: Default::default(),
        normalisations: out.normalisations.by_name(),
        batches: out.batches.clone(),
        sinks: opened.sink_health.clone(),
        outcome: Outcome::Planned,
        exit_code: exit::OK,
        error: None,
    };
    for (code, severity) in &out.findings {
        report
            .findings_by_code
            .entry(code.as_str())
            .or_insert(CodeCount {
                severity: *severity,
                count: 0,
            })
            .count += 1;
    }
    let manifest = Manifest {
        run_id: &run_id,
        municipality_code: &pipeline.municipality.code,
        municipality_name: &pipeline.municipality.name,
        api: layout.api.to_string(),
        profile: report.profile.clone(),
        business_date: report.business_date.clone(),
        records: out.records.sent,
        records_by_action: HashMap::from([("register", out.records.sent)]),
        quarantined: out.records.quarantined,
        pmhlink_version: report.pmhlink_version,
    };
    let manifest = serde_json::to_string(&manifest).expect("the manifest serialises");
    let commit = result.is_ok();
    let mut sink_errors = Vec::new();
    for sink in sinks.iter_mut() {
        match sink.finish(&run_id, commit, manifest.clone()) {
            Ok(summary) => report.sinks.push(summary),
            Err(e) => sink_errors.push(e.to_string()),
        }
    }
    let error = match (result, sink_errors.is_empty()) {
        (Err(e), _) => Some(e.to_string()),
        (Ok(()), false) => Some(sink_errors.join("; ")),
        (Ok(()), true) => None,
    };
    (report.outcome, report.exit_code) = match (&error, opts.mode) {
        (Some(_), _) => (Outcome::Aborted, exit::ABORTED),
        (None, Mode::Plan) => (
            Outcome::Planned,
            if out.records.quarantined > 0 {
                exit::QUARANTINED
            } else {
                exit::OK
            },
        ),
        (None, Mode::Run) if out.records.quarantined > 0 => {
            (Outcome::SentWithQuarantine, exit::QUARANTINED)
        }
        (None, Mode::Run) => (Outcome::Sent, exit::OK),
    };
    report.error = error;

    let dir = pipeline
        .resolve(Path::new(&pipeline.report.dir))
        .join(&run_id);
    let suffix = if opts.mode == Mode::Plan { "-plan" } else { "" };
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
    let quarantine_csv = dir.join(format!("quarantine{attempt}.csv"));
    write_atomic(
        &quarantine_csv,
        &quarantine::to_csv(&layout, &out.quarantined),
    )?;
    let mut json = serde_json::to_vec_pretty(&report).expect("the report serialises");
    json.push(b'\n');
    write_atomic(&report_json, &json)?;
    Ok(Finished {
        report,
        report_json,
        quarantine_csv,
    })
}

/// Counts rows through the progress bar as the primary source yields them.
struct Counting<'a> {
    inner: &'a mut PluginSource,
    progress: &'a Progress,
}

impl SourceHandle for Counting<'_> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn plugin(&self) -> &str {
        self.inner.plugin()
    }

    fn next_batch(
        &mut self,
        max_rows: usize,
        into: &mut crate::table::Table,
    ) -> Result<bool, RunError> {
        let more = self.inner.next_batch(max_rows, into)?;
        self.progress.add(into.len() as u64);
        Ok(more)
    }
}

/// A row counter on stderr; indicatif draws nothing when stderr is not a terminal, so cron
/// logs stay clean.
struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    fn new(enabled: bool, source: &str) -> Progress {
        Progress(enabled.then(|| {
            let bar = indicatif::ProgressBar::with_draw_target(
                None,
                indicatif::ProgressDrawTarget::stderr(),
            );
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} {msg}: {human_pos} rows ({per_sec}) {elapsed}",
                )
                .expect("a valid template"),
            );
            bar.set_message(format!("reading `{source}`"));
            bar
        }))
    }

    fn add(&self, rows: u64) {
        if let Some(bar) = &self.0 {
            bar.inc(rows);
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

/// Severity counts of a finished run, for a one-line summary.
pub fn summary_line(r: &RunReport) -> String {
    let errors: u64 = r
        .findings_by_code
        .values()
        .filter(|c| c.severity == Severity::Error)
        .map(|c| c.count)
        .sum();
    let warnings: u64 = r
        .findings_by_code
        .values()
        .filter(|c| c.severity == Severity::Warning)
        .map(|c| c.count)
        .sum();
    format!(
        "読込 {}行 / 送信 {}件 / 隔離 {}件 (エラー {}件, 警告 {}件) / 送信ファイル {}",
        r.records.rows,
        r.records.sent,
        r.records.quarantined,
        errors,
        warnings,
        r.batches.len()
    )
}
