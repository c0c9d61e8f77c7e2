//! A pipeline file run through real plugins: open and check everything first (validate before
//! running), then read, map, check, deliver, and commit or roll back every sink, then write the
//! run report and the quarantine list. Exit statuses are decided here, once.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use pmhlink_config::{ConfigError, Pipeline};
use pmhlink_diff::{GuardPolicy, SyncKind};
use pmhlink_ledger::{Access, HeldRow, Keys, Ledger, LedgerError, MasterKey, NewRun, RunState};
use pmhlink_model::FieldId;
use pmhlink_plugin_host::{Host, HostError};
use pmhlink_profile::{ApiId, Format, Layout, Profile, ProfileError, SyncMode};
use pmhlink_rules::{CivilDate, RuleContext, Severity};
use serde::Serialize;

use crate::clean::CleanContext;
use crate::compile::{CompileError, compile, source_order};
use crate::deliver::{Delivery, SinkHandle, deliver};
use crate::plugins::{PluginSink, PluginSource, is_config_failure};
use crate::quarantine;
use crate::report::{
    CodeCount, DiffCounts, Outcome, ResultsSeen, RunReport, now_unix, rfc3339_utc,
};
use crate::run::{Mode, RunError, RunOutput, RunSetup, SourceHandle, execute, load_join};
use crate::sync::{self, DiffInput, Target, config_digest};

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
    #[error("{0}")]
    Ledger(LedgerError),
    /// The ledger key is missing or malformed (the operator's setup).
    #[error("{0}")]
    Key(String),
    #[error("{0}")]
    Usage(String),
    /// A file given on the command line (a result file) is unreadable or does not fit.
    #[error("{0}")]
    Input(String),
}

impl PipelineError {
    pub fn exit_code(&self) -> u8 {
        match self {
            PipelineError::Plugin(HostError::Plugin(f)) if !is_config_failure(f) => exit::ABORTED,
            PipelineError::Aborted(_) | PipelineError::Report { .. } | PipelineError::Ledger(_) => {
                exit::ABORTED
            }
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
    /// `pmhlink reset`: the whole current set through E11/E12 as PMH's new baseline.
    pub reset: bool,
    /// `--confirm-deletions N`: this run may remove exactly N rows.
    pub confirm_deletions: Option<u64>,
    /// `--retry-quarantined`: send rows PMH rejected even if their content has not changed.
    pub retry_rejected: bool,
    /// How long to wait, after delivering, for PMH's results (sinks that can fetch them).
    pub wait_results: std::time::Duration,
}

/// What `run`/`plan` produced.
pub struct Finished {
    pub report: RunReport,
    pub report_json: PathBuf,
    pub quarantine_csv: PathBuf,
}

/// Run id from (municipality, pipeline, business date): the same day's run of the same
/// pipeline always has the same id, so a re-run is recognised as a resume or a no-op. The
/// pipeline is named by its file's stem (not its full path), so moving the folder keeps ids.
pub fn run_id(pipeline: &Pipeline, pipeline_path: &Path, day: CivilDate, reset: bool) -> String {
    let name: String = pipeline_path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let day = day.to_string().replace('-', "");
    let suffix = if reset { "-reset" } else { "" };
    format!("{}-{day}-{name}{suffix}", pipeline.municipality.code)
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
    records_by_action: BTreeMap<&'static str, u64>,
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

/// Everything a report needs that is known before reading.
struct RunContext<'a> {
    pipeline: &'a Pipeline,
    pipeline_path: &'a Path,
    opts: &'a Options,
    run_id: String,
    layout: Layout,
    profile: Profile,
    kind: SyncKind,
    started: i64,
}

impl RunContext<'_> {
    fn report(&self, sink_health: Vec<String>, ledger: Option<&Ledger>) -> RunReport {
        RunReport {
            pmhlink_version: env!("CARGO_PKG_VERSION"),
            run_id: self.run_id.clone(),
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
            sources: Vec::new(),
            records: Default::default(),
            findings_by_code: Default::default(),
            normalisations: Default::default(),
            sync: kind_name(self.kind),
            diff: None,
            ledger: ledger.map(|l| l.path().display().to_string()),
            resumed: Vec::new(),
            results: ResultsSeen::default(),
            batches: Vec::new(),
            sinks: sink_health,
            outcome: Outcome::Planned,
            exit_code: exit::OK,
            error: None,
        }
    }

    fn manifest(
        &self,
        layout: &Layout,
        run_id: &str,
        counts: &DiffCounts,
        quarantined: u64,
    ) -> String {
        let manifest = Manifest {
            run_id,
            municipality_code: &self.pipeline.municipality.code,
            municipality_name: &self.pipeline.municipality.name,
            api: layout.api.to_string(),
            profile: format!("{} {}", self.profile.name, self.profile.version),
            business_date: self.opts.business_date.to_string(),
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

pub fn kind_name(kind: SyncKind) -> &'static str {
    match kind {
        SyncKind::Diff => "diff",
        SyncKind::Full => "full",
        SyncKind::Reset => "reset",
    }
}

/// The reset API of a pipeline's format: 差分履歴連携(リセット有り).
fn reset_api(pipeline: &Pipeline) -> Result<ApiId, PipelineError> {
    if pipeline.profile.sync != SyncMode::Diff {
        return Err(PipelineError::Usage(
            "reset sends a new baseline for diff-history sync; set `profile.sync = \"diff\"` first"
                .into(),
        ));
    }
    Ok(match pipeline.profile.format {
        Format::Csv => ApiId::E11,
        Format::Json => ApiId::E12,
    })
}

fn ledger_error(e: LedgerError) -> PipelineError {
    PipelineError::Ledger(e)
}

/// The ledger key: the environment variable if set, else the key file. A first run (no ledger,
/// no key file) creates the key file.
pub fn master_key(pipeline: &Pipeline, may_create: bool) -> Result<MasterKey, PipelineError> {
    let var = &pipeline.ledger.key_env;
    if let Ok(hex) = std::env::var(var) {
        return MasterKey::from_hex(&hex)
            .map_err(|_| PipelineError::Key(format!("{var}: expected 64 hexadecimal characters")));
    }
    let Some(file) = pipeline.ledger_key_file() else {
        return Err(PipelineError::Key(format!(
            "no ledger key: set {var} or `ledger.key_file`"
        )));
    };
    if file.exists() {
        return MasterKey::from_file(&file).map_err(|e| PipelineError::Key(e.to_string()));
    }
    if may_create && !pipeline.ledger_path().exists() {
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| PipelineError::Key(format!("{}: {e}", dir.display())))?;
        }
        let key = MasterKey::generate_file(&file).map_err(|e| PipelineError::Key(e.to_string()))?;
        eprintln!(
            "pmhlink: created a new ledger key in {} — back it up, apart from the ledger's backups",
            file.display()
        );
        return Ok(key);
    }
    Err(PipelineError::Key(format!(
        "ledger key file {} not found (and {var} is not set)",
        file.display()
    )))
}

/// Opens the pipeline's ledger: created by the first run; only read, if it exists, by `plan`.
pub fn open_ledger(pipeline: &Pipeline, mode: Mode) -> Result<Option<Ledger>, PipelineError> {
    let path = pipeline.ledger_path();
    if mode == Mode::Plan && !path.exists() {
        return Ok(None);
    }
    let key = master_key(pipeline, mode == Mode::Run)?;
    let access = match mode {
        Mode::Run => Access::CreateOrOpen,
        Mode::Plan => Access::Existing,
    };
    Ledger::open(&path, &key, access)
        .map(Some)
        .map_err(ledger_error)
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
    let api = if opts.reset {
        reset_api(pipeline)?
    } else {
        pipeline.api()
    };
    let layout = Layout::new(&profile, api)?;
    let kind = match (opts.reset, layout.sync()) {
        (true, _) => SyncKind::Reset,
        (false, SyncMode::Full) => SyncKind::Full,
        (false, _) => SyncKind::Diff,
    };
    let site = pipeline.site_tables()?;
    let era = pipeline.rules.era_table();
    let ctx = RunContext {
        pipeline,
        pipeline_path,
        opts,
        run_id: run_id(pipeline, pipeline_path, opts.business_date, opts.reset),
        layout,
        profile,
        kind,
        started,
    };
    let layout = &ctx.layout;
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
    let mut ledger = open_ledger(pipeline, opts.mode)?;
    let keys = match &ledger {
        Some(l) => l.keys().clone(),
        None => Keys::new(&MasterKey::ephemeral()),
    };
    let mut report = ctx.report(opened.sink_health.clone(), ledger.as_ref());
    let mut sinks: Vec<&mut (dyn SinkHandle + Send)> = opened
        .sinks
        .iter_mut()
        .map(|s| s as &mut (dyn SinkHandle + Send))
        .collect();
    let mut out = RunOutput::default();

    if opts.mode == Mode::Run {
        let ledger = ledger.as_mut().expect("a run opens its ledger");
        // Earlier runs whose plan is written but not delivered go first, so that today's diff
        // starts from everything in flight.
        for earlier in ledger.unfinished_runs().map_err(ledger_error)? {
            let earlier_layout = Layout::new(
                &ctx.profile,
                earlier.api.parse().map_err(|_| {
                    PipelineError::Aborted(format!(
                        "run {} used API {}, which this profile does not have",
                        earlier.run_id, earlier.api
                    ))
                })?,
            )?;
            let counts: DiffCounts =
                serde_json::from_value(earlier.counts.clone()).unwrap_or_default();
            let delivery = Delivery {
                run_id: &earlier.run_id,
                attempt: earlier.attempt,
                municipality: &pipeline.municipality.code,
                layout: &earlier_layout,
                manifest_json: ctx.manifest(&earlier_layout, &earlier.run_id, &counts, 0),
            };
            match deliver(ledger, &delivery, &mut sinks) {
                Ok(done) => {
                    report.sinks.extend(done.sink_summaries);
                    report.resumed.push(earlier.run_id.clone());
                    if earlier.run_id == ctx.run_id {
                        report.batches = done.batches;
                        report.diff = Some(counts);
                    }
                }
                Err(e) => {
                    let message = format!("resuming run {}: {e}", earlier.run_id);
                    let _ = ledger.end_run(
                        &earlier.run_id,
                        earlier.attempt,
                        RunState::Prepared,
                        &earlier.counts,
                        Some(&message),
                    );
                    return write_report(&ctx, report, &out, Outcome::Interrupted, Some(message));
                }
            }
        }
        if let Some(today) = ledger.run(&ctx.run_id).map_err(ledger_error)?
            && today.state.is_committed()
        {
            let resumed = report.resumed.contains(&ctx.run_id);
            let outcome = if resumed {
                Outcome::Sent
            } else {
                Outcome::AlreadyDone
            };
            return write_report(&ctx, report, &out, outcome, None);
        }
    }

    if opts.mode == Mode::Run {
        // Results that came in since the last run settle first, so today's diff starts from
        // what PMH accepted and refused.
        let ledger = ledger.as_mut().expect("a run opens its ledger");
        let polled =
            crate::results::poll(ledger, &mut sinks, &ctx.profile.result, Default::default())?;
        report.results = ResultsSeen::from(&polled);
    }

    let batch_rows = 16384;
    let mut joins = Vec::new();
    let mut sources = opened.sources.drain(..);
    let mut primary = sources.next().expect("the primary source is first");
    let attempt = match ledger.as_mut() {
        Some(l) if opts.mode == Mode::Run => Some(
            l.begin_run(&NewRun {
                run_id: &ctx.run_id,
                business_date: &opts.business_date.to_string(),
                kind: kind_name(kind),
                api: layout.api.as_str(),
                config_digest: &config_digest(pipeline_path),
                plugins: plugin_versions(pipeline, host),
            })
            .map_err(ledger_error)?,
        ),
        _ => None,
    };
    // From here on, a failure is journaled on the attempt before it is reported.
    let abort = |ledger: &mut Option<Ledger>,
                 state: RunState,
                 counts: &serde_json::Value,
                 message: &str| {
        if let (Some(l), Some(attempt)) = (ledger.as_mut(), attempt) {
            let _ = l.end_run(&ctx.run_id, attempt, state, counts, Some(message));
        }
    };
    for (join, mut source) in plan.joins.iter().zip(sources) {
        let columns = opened.columns[&source.name].clone();
        let loaded = load_join(
            &mut source,
            columns,
            join,
            opts.business_date,
            &era,
            batch_rows,
        )
        .map_err(|e| e.to_string())
        .and_then(|(index, stats)| {
            if stats.rows == 0 && join.required {
                Err(format!(
                    "source `{}` returned no rows; every record would miss its required join, so nothing was sent",
                    stats.name
                ))
            } else {
                Ok((index, stats))
            }
        });
        match loaded {
            Ok((index, stats)) => {
                out.sources.push(stats);
                joins.push(index);
            }
            Err(message) => {
                abort(
                    &mut ledger,
                    RunState::Aborted,
                    &serde_json::json!({}),
                    &message,
                );
                return Err(PipelineError::Aborted(message));
            }
        }
    }
    let setup = RunSetup {
        plan: &plan,
        layout,
        rules: &rules,
        clean: &clean,
        keys: &keys,
        derive_history_key: !plan.fields.iter().any(|f| f.field == FieldId::HistoryKey),
        batch_rows,
    };
    let (baseline, rejected) = match &ledger {
        Some(l) => (
            l.baseline().map_err(ledger_error)?,
            l.rejected().map_err(ledger_error)?,
        ),
        None => Default::default(),
    };
    let input = DiffInput {
        kind,
        baseline,
        rejected,
        retry_rejected: opts.retry_rejected,
        guard: GuardPolicy {
            // A reset discards what PMH held by design (renumbered keys drop every old row);
            // the operator confirmed it after seeing the plan. An empty export still stops it.
            max_removal_share: if opts.reset {
                1.0
            } else {
                pipeline.guard.max_deletion_share
            },
            confirmed_removals: opts.confirm_deletions,
        },
        keys: &keys,
        layout,
    };
    let progress = Progress::new(opts.progress, primary.name());
    let mut counting = Counting {
        inner: &mut primary,
        progress: &progress,
    };
    let columns = opened.columns[&plan.primary].clone();
    let target = match (ledger.as_mut(), attempt) {
        (Some(l), Some(attempt)) => Target::Run {
            ledger: l,
            run_id: &ctx.run_id,
            attempt,
        },
        (l, _) => Target::Plan(l),
    };
    let decided = execute(&setup, &mut counting, columns, &joins, &mut out, |rx| {
        sync::consume(rx, input, target)
    });
    progress.finish();
    fill_findings(&mut report, &out);
    let decided = match decided {
        Ok(d) => d,
        Err(e) => {
            let message = e.to_string();
            abort(
                &mut ledger,
                RunState::Aborted,
                &serde_json::json!({}),
                &message,
            );
            return write_report(&ctx, report, &out, Outcome::Aborted, Some(message));
        }
    };
    let counts = DiffCounts::from(&decided.counts);
    let counts_json = serde_json::to_value(&counts).expect("counts serialise");
    report.diff = Some(counts.clone());
    if let (Some(l), Some(_)) = (ledger.as_mut(), attempt) {
        // Only the errors quarantined a row; one code per kind of error.
        let codes: Vec<String> = out
            .quarantined
            .iter()
            .map(|q| {
                let mut codes: Vec<&str> = q
                    .findings
                    .iter()
                    .filter(|f| f.severity == Severity::Error)
                    .map(|f| f.code.as_str())
                    .collect();
                codes.dedup();
                codes.join(",")
            })
            .collect();
        let held: Vec<HeldRow<'_>> = out
            .quarantined
            .iter()
            .zip(&codes)
            .map(|(q, codes)| HeldRow {
                qkey: q.qkey,
                codes,
                history_key: q.history_key.as_deref(),
                source: &q.source,
                line: q.line,
            })
            .collect();
        l.record_check_quarantine(&ctx.run_id, &held)
            .map_err(ledger_error)?;
    }
    if let Some(stop) = decided.stop {
        let message = stop.to_string();
        abort(&mut ledger, RunState::Stopped, &counts_json, &message);
        let outcome = Outcome::Stopped;
        return write_report(&ctx, report, &out, outcome, Some(message));
    }
    let (Some(ledger), Some(attempt)) = (ledger.as_mut(), attempt) else {
        report.batches = decided.batches;
        return write_report(&ctx, report, &out, Outcome::Planned, None);
    };
    let delivery = Delivery {
        run_id: &ctx.run_id,
        attempt,
        municipality: &pipeline.municipality.code,
        layout,
        manifest_json: ctx.manifest(layout, &ctx.run_id, &counts, out.records.quarantined),
    };
    match deliver(ledger, &delivery, &mut sinks) {
        Ok(done) => {
            crate::failpoint::hit("delivered");
            report.batches = done.batches;
            report.sinks.extend(done.sink_summaries);
            let polled =
                crate::results::poll(ledger, &mut sinks, &ctx.profile.result, opts.wait_results)?;
            report.results.add(&polled);
            let outcome = if counts.sent == 0 {
                Outcome::Unchanged
            } else {
                Outcome::Sent
            };
            write_report(&ctx, report, &out, outcome, None)
        }
        Err(e) => {
            let message = format!("{e}; the plan is kept and the next run resumes it");
            let _ = ledger.end_run(
                &ctx.run_id,
                attempt,
                RunState::Prepared,
                &counts_json,
                Some(&message),
            );
            write_report(&ctx, report, &out, Outcome::Interrupted, Some(message))
        }
    }
}

/// Plugin names and versions, journaled with each run.
fn plugin_versions(pipeline: &Pipeline, host: &Host) -> serde_json::Value {
    let mut names: Vec<&str> = pipeline
        .sources
        .values()
        .map(|s| s.plugin.as_str())
        .chain(pipeline.sinks.iter().map(|s| s.plugin.as_str()))
        .collect();
    names.sort_unstable();
    names.dedup();
    let found = host.plugins();
    serde_json::Value::Object(
        names
            .into_iter()
            .map(|n| {
                let version = found
                    .iter()
                    .find(|p| p.name == n)
                    .map(|p| p.version.clone())
                    .unwrap_or_default();
                (n.to_owned(), version.into())
            })
            .collect(),
    )
}

fn fill_findings(report: &mut RunReport, out: &RunOutput) {
    report.sources = out.sources.clone();
    report.records = out.records.clone();
    report.normalisations = out.normalisations.by_name();
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
}

/// Settles the outcome and exit status, and writes the report and quarantine list.
fn write_report(
    ctx: &RunContext<'_>,
    mut report: RunReport,
    out: &RunOutput,
    outcome: Outcome,
    error: Option<String>,
) -> Result<Finished, PipelineError> {
    let quarantined = out.records.quarantined > 0;
    report.finished_at = rfc3339_utc(now_unix());
    report.exit_code = match outcome {
        Outcome::Aborted | Outcome::Stopped | Outcome::Interrupted => exit::ABORTED,
        _ if quarantined => exit::QUARANTINED,
        _ => exit::OK,
    };
    report.outcome = match outcome {
        Outcome::Sent if quarantined => Outcome::SentWithQuarantine,
        o => o,
    };
    report.error = error;
    let pipeline = ctx.pipeline;
    let dir = pipeline
        .resolve(Path::new(&pipeline.report.dir))
        .join(&ctx.run_id);
    let suffix = if ctx.opts.mode == Mode::Plan {
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
    let quarantine_csv = dir.join(format!("quarantine{attempt}.csv"));
    write_atomic(
        &quarantine_csv,
        &quarantine::to_csv(&ctx.layout, &out.quarantined),
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
    let d = r.diff.clone().unwrap_or_default();
    format!(
        "読込 {}行 / 正常 {}件 / 隔離 {}件 (エラー {}件, 警告 {}件) / 新規 {}件, 変更 {}件, 削除 {}件, 変更なし {}件 / 送信 {}件, 送信ファイル {}",
        r.records.rows,
        r.records.clean,
        r.records.quarantined,
        errors,
        warnings,
        d.register,
        d.update,
        d.delete + d.omit,
        d.unchanged,
        d.sent,
        r.batches.len()
    )
}
