//! One day of a pipeline, in phases: open and check everything (validate before running),
//! resume what an earlier attempt left unfinished, read/map/check, decide against the ledger,
//! deliver, collect results — and then, on every path (fresh, resumed, already done, dry run,
//! reset, stopped), the one report-and-exit phase in `conclude.rs`. A phase that ends the day
//! early returns an [`Ending`]; none writes a report of its own.

use std::path::{Path, PathBuf};
use std::time::Duration;

use pmhlink_config::Pipeline;
use pmhlink_diff::{GuardPolicy, SyncKind};
use pmhlink_ledger::{HeldRow, Keys, Ledger, MasterKey, NewRun, RunRecord, RunState};
use pmhlink_model::FieldId;
use pmhlink_plugin_host::Host;
use pmhlink_profile::Layout;
use pmhlink_rules::{CivilDate, RuleContext};

use crate::clean::CleanContext;
use crate::conclude::{Ending, RunContext, conclude};
use crate::day::{DayRecord, Reading};
use crate::deliver::{Delivery, deliver};
use crate::join::JoinIndex;
use crate::plugins::sink_handles;
use crate::prepare::{Prepared, open_ledger, prepare};
use crate::progress::{Counting, Progress};
use crate::quarantine::Held;
use crate::report::{BatchReport, DiffCounts, Outcome, RunReport};
use crate::run::{DayEnd, RunOutput, RunSetup, execute, load_join};
use crate::sync::{self, Decided, DiffInput, Target, config_digest};
use crate::vocab::Mode;

pub use crate::conclude::summary_line;
pub use crate::prepare::{Opened, load_profile, master_key, open};
pub use crate::vocab::{PipelineError, exit};

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
    pub wait_results: Duration,
    /// How long to wait for another process to let the ledger go.
    pub wait_lock: Duration,
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

pub fn kind_name(kind: SyncKind) -> &'static str {
    match kind {
        SyncKind::Diff => "diff",
        SyncKind::Full => "full",
        SyncKind::Reset => "reset",
    }
}

/// Rows asked of a source per batch.
const BATCH_ROWS: usize = 16384;

/// Runs (or dry-runs) a pipeline for one business day; `pipeline_path` names it in the report
/// and the run id.
pub fn run(
    pipeline: &Pipeline,
    pipeline_path: &Path,
    host: &Host,
    opts: &Options,
) -> Result<Finished, PipelineError> {
    let mut day = Day::open(pipeline, pipeline_path, host, opts)?;
    let ending = day.drive()?;
    conclude(&day.ctx, day.report, &day.quarantine_csv, ending)
}

/// A day of a pipeline while it runs: what was opened, and the report as the phases fill it.
struct Day<'a> {
    ctx: RunContext<'a>,
    host: &'a Host,
    prepared: Prepared,
    ledger: Option<Ledger>,
    keys: Keys,
    report: RunReport,
    /// The quarantine list of the day (UTF-8 CSV), from this attempt's reading or the ledger.
    quarantine_csv: String,
    /// Today's run was resumed by this attempt (its plan was committed by an earlier one).
    resumed_today: bool,
}

impl<'a> Day<'a> {
    /// Phase 1: open and check everything; nothing is read or delivered.
    fn open(
        pipeline: &'a Pipeline,
        pipeline_path: &'a Path,
        host: &'a Host,
        opts: &'a Options,
    ) -> Result<Day<'a>, PipelineError> {
        let started = crate::report::now_unix();
        let prepared = prepare(pipeline, host, opts.reset, opts.mode == Mode::Run)?;
        let ledger = open_ledger(pipeline, opts.mode, opts.wait_lock)?;
        let keys = match &ledger {
            Some(l) => l.keys().clone(),
            None => Keys::new(&MasterKey::ephemeral()),
        };
        let ctx = RunContext {
            pipeline,
            pipeline_path,
            opts,
            run_id: run_id(pipeline, pipeline_path, opts.business_date, opts.reset),
            layout: prepared.layout.clone(),
            profile: prepared.profile.clone(),
            kind: prepared.kind,
            started,
        };
        let report = ctx.report(
            prepared.opened.sink_health.clone(),
            ledger.as_ref().map(|l| l.path()),
        );
        Ok(Day {
            ctx,
            host,
            prepared,
            ledger,
            keys,
            report,
            quarantine_csv: String::new(),
            resumed_today: false,
        })
    }

    /// Every phase after opening, in order; the first that ends the day says how.
    fn drive(&mut self) -> Result<Ending, PipelineError> {
        if self.ctx.opts.mode == Mode::Run {
            if let Some(ending) = self.resume_unfinished()? {
                return Ok(ending);
            }
            if let Some(today) = self.committed_today()? {
                return self.recall_committed(&today);
            }
            // Results that came in since the last run settle first, so today's diff starts
            // from what PMH accepted and refused.
            self.collect_results(Duration::ZERO)?;
        }
        let mut out = RunOutput::default();
        let joins = match self.load_joins(&mut out) {
            Ok(joins) => joins,
            Err(message) => return Ok(self.abandon(&out, RunState::Aborted, message)),
        };
        let decided = match self.read_and_decide(&joins, &mut out) {
            Ok(decided) => decided,
            Err(message) => return Ok(self.abandon(&out, RunState::Aborted, message)),
        };
        if let Some(stop) = &decided.stop {
            return Ok(self.abandon(&out, RunState::Stopped, stop.to_string()));
        }
        if self.ctx.opts.mode == Mode::DryRun {
            self.report.batches = decided.batches;
            return Ok(Ending::new(Outcome::Planned));
        }
        if let Some(ending) = self.deliver_today()? {
            return Ok(ending);
        }
        self.collect_results(self.ctx.opts.wait_results)?;
        Ok(Ending::new(self.sent_outcome()))
    }

    fn ledger(&mut self) -> &mut Ledger {
        self.ledger.as_mut().expect("a run opens its ledger")
    }

    /// The attempt this process journaled for today, if it began one.
    fn attempt(&self) -> Option<u32> {
        self.report.attempt
    }

    /// Phase 2: earlier runs whose plan is written but not delivered go first (today's, if an
    /// earlier attempt was killed after planning, among them), so that today's diff starts
    /// from everything in flight. A failure ends the day: it stays resumable.
    fn resume_unfinished(&mut self) -> Result<Option<Ending>, PipelineError> {
        let unfinished = self
            .ledger()
            .unfinished_runs()
            .map_err(PipelineError::Ledger)?;
        for earlier in unfinished {
            let layout = Layout::new(
                &self.ctx.profile,
                earlier.api.parse().map_err(|_| {
                    PipelineError::Aborted(format!(
                        "run {} used API {}, which this profile does not have",
                        earlier.run_id, earlier.api
                    ))
                })?,
            )?;
            let record = self.day_record(&earlier.run_id)?;
            let plan = Committed {
                layout: &layout,
                run_id: &earlier.run_id,
                attempt: earlier.attempt,
                business_date: &earlier.business_date,
                counts: &DiffCounts::from_journal(&earlier.counts),
                quarantined: record.as_ref().map_or(0, |r| r.reading.records.quarantined),
            };
            match self.deliver_committed(&plan) {
                Ok(()) => {
                    self.report.resumed.push(earlier.run_id.clone());
                    self.resumed_today |= earlier.run_id == self.ctx.run_id;
                }
                Err(e) => {
                    let message = format!("resuming run {}: {e}", earlier.run_id);
                    self.keep_for_resume(
                        &earlier.run_id,
                        earlier.attempt,
                        &earlier.counts,
                        &message,
                    );
                    if earlier.run_id == self.ctx.run_id {
                        self.recall_reading(&earlier, record)?;
                    }
                    return Ok(Some(Ending::failed(Outcome::Interrupted, message)));
                }
            }
        }
        Ok(None)
    }

    /// Today's run, when an earlier attempt committed its plan.
    fn committed_today(&mut self) -> Result<Option<RunRecord>, PipelineError> {
        let run_id = self.ctx.run_id.clone();
        let today = self.ledger().run(&run_id).map_err(PipelineError::Ledger)?;
        Ok(today.filter(|r| r.state.is_committed()))
    }

    fn day_record(&mut self, run_id: &str) -> Result<Option<DayRecord>, PipelineError> {
        let bytes = self
            .ledger()
            .day_record(run_id)
            .map_err(PipelineError::Ledger)?;
        bytes
            .map(|b| DayRecord::from_bytes(&b).map_err(PipelineError::Aborted))
            .transpose()
    }

    /// Fills the report with what the day's committed attempt read, decided and delivered.
    fn recall_reading(
        &mut self,
        today: &RunRecord,
        record: Option<DayRecord>,
    ) -> Result<(), PipelineError> {
        self.report.diff = Some(DiffCounts::from_journal(&today.counts));
        self.report.batches = self.batches_of(&today.run_id)?;
        match record {
            Some(record) => {
                self.report.reading = record.reading;
                self.quarantine_csv = record.quarantine_csv;
            }
            None => {
                // A day planned by a pmhlink from before day records: its findings are not
                // known any more, and the report must not pretend there were none.
                self.report.reading = Reading::default();
                self.report.error = Some(
                    "this day was planned by an older pmhlink, which kept no record of its findings; see that attempt's report".into(),
                );
            }
        }
        Ok(())
    }

    /// A re-run of a committed day (resumed just now, or finished before): the same counts,
    /// quarantine list and exit status as the attempt that planned it, and its results.
    fn recall_committed(&mut self, today: &RunRecord) -> Result<Ending, PipelineError> {
        let record = self.day_record(&today.run_id)?;
        self.recall_reading(today, record)?;
        self.collect_results(self.ctx.opts.wait_results)?;
        let outcome = if self.resumed_today {
            self.sent_outcome()
        } else {
            Outcome::AlreadyDone
        };
        Ok(Ending::new(outcome))
    }

    /// Sent, or nothing to send, by the day's diff.
    fn sent_outcome(&self) -> Outcome {
        match &self.report.diff {
            Some(d) if d.sent == 0 => Outcome::Unchanged,
            _ => Outcome::Sent,
        }
    }

    /// The day's batches as the ledger recorded them, for every path alike.
    fn batches_of(&mut self, run_id: &str) -> Result<Vec<BatchReport>, PipelineError> {
        let submissions = self
            .ledger()
            .submissions(run_id)
            .map_err(PipelineError::Ledger)?;
        Ok(submissions
            .into_iter()
            .map(|s| BatchReport {
                seq: s.seq.saturating_sub(1) as usize,
                records: s.records as usize,
                bytes: s.bytes as usize,
                receipt: Some(s.receipts.join(", ")),
            })
            .collect())
    }

    /// Phase 6 (and before reading): asks the sinks for the results that are due, waiting up
    /// to `wait` for those still processing.
    fn collect_results(&mut self, wait: Duration) -> Result<(), PipelineError> {
        let ledger = self.ledger.as_mut().expect("a run opens its ledger");
        let mut sinks = sink_handles(&mut self.prepared.opened.sinks);
        let polled = crate::results::poll(ledger, &mut sinks, &self.ctx.profile.result, wait)?;
        self.report.results.add(&polled);
        Ok(())
    }

    /// Journals today's attempt (a run, not a dry run).
    fn begin_attempt(&mut self) -> Result<(), PipelineError> {
        if self.ctx.opts.mode != Mode::Run {
            return Ok(());
        }
        let pipeline = self.ctx.pipeline;
        let plugins = plugin_versions(pipeline, self.host);
        let run = NewRun {
            run_id: &self.ctx.run_id,
            business_date: &self.ctx.opts.business_date.to_string(),
            kind: kind_name(self.ctx.kind),
            api: self.ctx.layout.api.as_str(),
            config_digest: &config_digest(self.ctx.pipeline_path),
            plugins,
        };
        let ledger = self.ledger.as_mut().expect("a run opens its ledger");
        self.report.attempt = Some(ledger.begin_run(&run).map_err(PipelineError::Ledger)?);
        Ok(())
    }

    /// Phase 3a: the joined sources, read whole and indexed. Every unreadable row is listed; in
    /// an optional join, a row whose key cannot be read either stops the day unless the join
    /// withholds instead.
    fn load_joins(&mut self, out: &mut RunOutput) -> Result<Vec<JoinIndex>, String> {
        self.begin_attempt().map_err(|e| e.to_string())?;
        let mapping = &self.prepared.mapping;
        let opened = &mut self.prepared.opened;
        let mut joins = Vec::new();
        for (i, (join, source)) in mapping
            .joins
            .iter()
            .zip(opened.sources.iter_mut().skip(1))
            .enumerate()
        {
            let columns = opened.columns[&source.name].clone();
            let loaded = load_join(
                source,
                columns,
                join,
                self.ctx.opts.business_date,
                &self.prepared.era,
                BATCH_ROWS,
            )
            .map_err(|e| e.to_string())?;
            out.sources.push(loaded.stats.clone());
            out.unreadable.extend(loaded.unreadable);
            if loaded.stats.rows == 0 && join.required {
                return Err(format!(
                    "source `{}` returned no rows; every record would miss its required join, so nothing was sent",
                    loaded.stats.name
                ));
            }
            // A required join quarantines the record a blind row belonged to anyway (it finds
            // no row); an optional one would send it as if the row did not exist.
            let blind = &loaded.index.blind_lines;
            let stop = join.on_unreadable_key == pmhlink_config::OnUnreadableKey::Stop;
            if !blind.is_empty() && !join.required && stop {
                return Err(blind_rows_message(&join.name, i, blind));
            }
            joins.push(loaded.index);
        }
        Ok(joins)
    }

    /// Phases 3b and 4: the primary source streamed through mapping and checks, and every
    /// clean row decided against the ledger; a run's plan is committed with its day record.
    fn read_and_decide(
        &mut self,
        joins: &[JoinIndex],
        out: &mut RunOutput,
    ) -> Result<Decided, String> {
        let ctx = &self.ctx;
        let pipeline = ctx.pipeline;
        let opts = ctx.opts;
        let prepared = &mut self.prepared;
        let rules = RuleContext {
            today: opts.business_date,
            site: &prepared.site,
            municipality_code: Some(&pipeline.municipality.code),
            policy: pipeline.rules.policy(),
        };
        let clean = CleanContext {
            era: &prepared.era,
            date_mode: pipeline.rules.date_mode,
            gaiji: &prepared.site.gaiji,
        };
        let setup = RunSetup {
            mapping: &prepared.mapping,
            layout: &ctx.layout,
            rules: &rules,
            clean: &clean,
            keys: &self.keys,
            derive_history_key: !prepared
                .mapping
                .fields
                .iter()
                .any(|f| f.field == FieldId::HistoryKey),
            batch_rows: BATCH_ROWS,
        };
        let (baseline, rejected) = match &self.ledger {
            Some(l) => (
                l.baseline().map_err(|e| e.to_string())?,
                l.rejected().map_err(|e| e.to_string())?,
            ),
            None => Default::default(),
        };
        let input = DiffInput {
            kind: ctx.kind,
            baseline,
            rejected,
            retry_rejected: opts.retry_rejected,
            guard: GuardPolicy {
                // A reset discards what PMH held by design (renumbered keys drop every old
                // row); the operator confirmed it after seeing the plan. An empty export still
                // stops it.
                max_removal_share: if opts.reset {
                    1.0
                } else {
                    pipeline.guard.max_deletion_share
                },
                confirmed_removals: opts.confirm_deletions,
            },
            keys: &self.keys,
            layout: &ctx.layout,
        };
        let primary = &mut prepared.opened.sources[0];
        let columns = prepared.opened.columns[&primary.name].clone();
        let progress = Progress::new(opts.progress, &primary.name);
        let mut counting = Counting {
            inner: primary,
            progress: &progress,
        };
        let target = match (self.ledger.as_mut(), self.report.attempt) {
            (Some(ledger), Some(attempt)) => Target::Run {
                ledger,
                run_id: &ctx.run_id,
                attempt,
            },
            (ledger, _) => Target::DryRun(ledger),
        };
        let primary_name = prepared.mapping.primary.clone();
        let layout = &ctx.layout;
        let decided = execute(
            &setup,
            &mut counting,
            columns,
            joins,
            out,
            |out| DayEnd {
                record: DayRecord::of(layout, &primary_name, out).to_bytes(),
                held: out.quarantined.iter().map(Held::of).collect(),
            },
            |rx| sync::consume(rx, input, target),
        );
        progress.finish();
        self.take_reading(out);
        let decided = decided.map_err(|e| e.to_string())?;
        self.report.diff = Some(DiffCounts::from(&decided.counts));
        if decided.stop.is_some() {
            // A committed plan holds its quarantine; a stopped day commits none, yet it read
            // the export, so its quarantine replaces the last one all the same.
            self.hold_quarantined(out).map_err(|e| e.to_string())?;
        }
        Ok(decided)
    }

    /// The report's reading and the quarantine list, from what this attempt read.
    fn take_reading(&mut self, out: &RunOutput) {
        let record = DayRecord::of(&self.ctx.layout, &self.prepared.mapping.primary, out);
        self.report.reading = record.reading;
        self.quarantine_csv = record.quarantine_csv;
    }

    /// The ledger's quarantine of rows that failed a check, for a day the guard stopped.
    fn hold_quarantined(&mut self, out: &RunOutput) -> Result<(), PipelineError> {
        let (Some(ledger), Some(_)) = (self.ledger.as_mut(), self.report.attempt) else {
            return Ok(());
        };
        let held: Vec<Held> = out.quarantined.iter().map(Held::of).collect();
        let rows: Vec<HeldRow<'_>> = held.iter().map(Held::row).collect();
        ledger
            .record_check_quarantine(&self.ctx.run_id, &rows)
            .map(drop)
            .map_err(PipelineError::Ledger)
    }

    /// Ends the day before anything was delivered: the attempt is journaled with why.
    fn abandon(&mut self, out: &RunOutput, state: RunState, message: String) -> Ending {
        self.take_reading(out);
        let counts = self
            .report
            .diff
            .as_ref()
            .map(|d| serde_json::to_value(d).expect("counts serialise"))
            .unwrap_or_else(|| serde_json::json!({}));
        let attempt = self.attempt();
        if let (Some(ledger), Some(attempt)) = (self.ledger.as_mut(), attempt) {
            let _ = ledger.end_run(&self.ctx.run_id, attempt, state, &counts, Some(&message));
        }
        let outcome = match state {
            RunState::Stopped => Outcome::Stopped,
            _ => Outcome::Aborted,
        };
        Ending::failed(outcome, message)
    }

    /// Phase 5: today's plan through every sink. A failure keeps the plan for the next run.
    fn deliver_today(&mut self) -> Result<Option<Ending>, PipelineError> {
        let counts = self.report.diff.clone().unwrap_or_default();
        let attempt = self.attempt().expect("a run journals its attempt");
        let (layout, run_id) = (self.ctx.layout.clone(), self.ctx.run_id.clone());
        let plan = Committed {
            layout: &layout,
            run_id: &run_id,
            attempt,
            business_date: &self.ctx.opts.business_date.to_string(),
            counts: &counts,
            quarantined: self.report.reading.records.quarantined,
        };
        match self.deliver_committed(&plan) {
            Ok(()) => {
                crate::failpoint::hit("delivered");
                self.report.batches = self.batches_of(&run_id)?;
                Ok(None)
            }
            Err(e) => {
                let message = format!("{e}; the plan is kept and the next run resumes it");
                let counts = serde_json::to_value(&counts).expect("counts serialise");
                self.keep_for_resume(&run_id, attempt, &counts, &message);
                Ok(Some(Ending::failed(Outcome::Interrupted, message)))
            }
        }
    }

    /// A committed plan (today's, or an earlier run's being resumed) through every sink, with
    /// its manifest; the sinks' summaries go into the report.
    fn deliver_committed(&mut self, plan: &Committed<'_>) -> Result<(), String> {
        let manifest = self.ctx.manifest(
            plan.layout,
            plan.run_id,
            plan.business_date,
            plan.counts,
            plan.quarantined,
        );
        let delivery = Delivery {
            run_id: plan.run_id,
            attempt: plan.attempt,
            municipality: &self.ctx.pipeline.municipality.code,
            layout: plan.layout,
            manifest_json: manifest,
        };
        let ledger = self.ledger.as_mut().expect("a run opens its ledger");
        let mut sinks = sink_handles(&mut self.prepared.opened.sinks);
        let done = deliver(ledger, &delivery, &mut sinks).map_err(|e| e.to_string())?;
        self.report.sinks.extend(done.sink_summaries);
        Ok(())
    }

    /// Journals a delivery that broke off: the attempt stays `prepared`, so the next run
    /// resumes the plan (best effort: a failing journal leaves it `started`, resumed the same).
    fn keep_for_resume(
        &mut self,
        run_id: &str,
        attempt: u32,
        counts: &serde_json::Value,
        why: &str,
    ) {
        let ledger = self.ledger.as_mut().expect("a run opens its ledger");
        let _ = ledger.end_run(run_id, attempt, RunState::Prepared, counts, Some(why));
    }
}

/// A plan committed to the ledger, as delivery needs it.
struct Committed<'p> {
    layout: &'p Layout,
    run_id: &'p str,
    attempt: u32,
    business_date: &'p str,
    counts: &'p DiffCounts,
    quarantined: u64,
}

/// Why a join's blind rows stop the day, naming the source and the first lines.
fn blind_rows_message(source: &str, join: usize, lines: &[u64]) -> String {
    const SHOWN: usize = 10;
    let mut shown: Vec<String> = lines.iter().take(SHOWN).map(u64::to_string).collect();
    if lines.len() > SHOWN {
        shown.push(format!("and {} more", lines.len() - SHOWN));
    }
    format!(
        "source `{source}`: {} unreadable row(s) whose key cannot be read either (line {}); any record could be the one such a row names, so nothing was sent. Fix the export, or set `joins[{join}].on_unreadable_key = \"withhold\"` to quarantine every record that found no row in it instead",
        lines.len(),
        shown.join(", ")
    )
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
