//! `pmhlink run`, `plan`, `check`, `config`, `plugins`, `init`, `schema`: the pipeline
//! commands.
//!
//! Exit statuses (documented in the README): 0 all sent, 2 configuration or usage error,
//! 3 finished with quarantined records, 4 aborted (nothing of the run delivered).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use pmhlink_config::{Pipeline, ValueOrigin};
use pmhlink_plugin_host::{Host, PluginDirs};
use pmhlink_rules::CivilDate;
use pmhlink_runner::Mode;
use pmhlink_runner::pipeline::{self, Options, PipelineError, exit};

use crate::out::{errln, out, outln};

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The pipeline file (TOML or YAML).
    pipeline: PathBuf,
    /// The business date (業務日) the run is for, YYYY-MM-DD; default today in Japan.
    #[arg(long, value_name = "DATE", value_parser = crate::lint::parse_date)]
    date: Option<CivilDate>,
    /// No progress bar and no summary on success.
    #[arg(long, short)]
    quiet: bool,
    /// Confirm that this run may remove exactly N history rows from PMH (past the mass-change
    /// guard). The number must match the run's own count, so a confirmation never carries over
    /// to a different day's surprise.
    #[arg(long, value_name = "N")]
    confirm_deletions: Option<u64>,
    /// Send rows PMH rejected even if the source has not changed them.
    #[arg(long)]
    retry_quarantined: bool,
    /// After delivering, wait up to this many seconds for PMH's results (sinks that fetch
    /// them, like the API sink); what is not ready by then is collected by the next run or
    /// `pmhlink results`.
    #[arg(long, value_name = "SECS", default_value_t = 0)]
    wait_results: u64,
    /// When another pmhlink process holds the ledger, wait up to this many seconds for it
    /// instead of stopping at once (exit 4); a run that then finds the day done says so.
    #[arg(long, value_name = "SECS", default_value_t = 0)]
    wait_lock: u64,
    /// Print the run report as JSON on stdout instead of the summary: the report file's
    /// content with `report_file` and `quarantine_file` added.
    #[arg(long)]
    json: bool,
    /// After the run, write the pipeline's metrics as OpenMetrics text to FILE, whole or not
    /// at all: for node_exporter's textfile collector, name it `*.prom` in the collector's
    /// directory. The metrics are listed in docs/monitoring.md.
    #[arg(long, value_name = "FILE")]
    metrics_file: Option<PathBuf>,
}

/// How `execute` tells the operator what happened.
struct Shown {
    quiet: bool,
    json: bool,
    metrics_file: Option<PathBuf>,
}

impl Shown {
    /// Paths the operator gave are theirs, from where they ran the command: taken before the
    /// binary moves into the pipeline's folder.
    fn of(args: &RunArgs) -> Shown {
        Shown {
            quiet: args.quiet,
            json: args.json,
            metrics_file: args
                .metrics_file
                .as_ref()
                .map(|f| std::path::absolute(f).unwrap_or_else(|_| f.clone())),
        }
    }
}

#[derive(Args, Debug)]
pub struct ResetArgs {
    #[command(flatten)]
    run: RunArgs,
    /// Do not ask: this is the confirmation (needed when not run from a terminal).
    #[arg(long)]
    yes: bool,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The pipeline file (TOML or YAML).
    pipeline: PathBuf,
}

#[derive(Args, Debug)]
pub struct ConfigArgs {
    /// The pipeline file (TOML or YAML).
    pipeline: PathBuf,
    /// Print JSON instead: an array with one `{path, value, origin}` per value, `origin`
    /// being the file (relative to the pipeline file's folder), `environment variable NAME`,
    /// or null for a default.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct PluginsArgs {
    /// Print the list as JSON.
    #[arg(long)]
    json: bool,
    /// Also search this directory (repeatable); PMHLINK_PLUGIN_PATH and the directory beside
    /// the binary are always searched.
    #[arg(long, value_name = "DIR")]
    dir: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// Where to write the starter pipeline file.
    #[arg(default_value = "pipeline.toml")]
    path: PathBuf,
}

pub(crate) fn fail(command: &str, e: &dyn std::fmt::Display, code: u8) -> ExitCode {
    errln!("pmhlink {command}: {e}");
    ExitCode::from(code)
}

/// Loads the pipeline file and the plugins it can see, and moves into the pipeline's directory
/// so that relative paths in plugin settings mean the same as in the file.
pub(crate) fn prepare(command: &str, path: &Path) -> Result<(Pipeline, Host, PathBuf), ExitCode> {
    // Absolute, so that the pipeline's directory still means the same after moving into it.
    let absolute = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let pipeline = Pipeline::load(&absolute).map_err(|e| fail(command, &e, exit::CONFIG))?;
    let shown = path.to_owned();
    let dirs = PluginDirs::new(pipeline.plugins.dirs.iter().map(|d| pipeline.resolve(d)));
    let host = Host::discover(dirs).map_err(|e| fail(command, &e, exit::CONFIG))?;
    std::env::set_current_dir(pipeline.base_dir()).map_err(|e| {
        fail(
            command,
            &format!("{}: {e}", pipeline.base_dir().display()),
            exit::CONFIG,
        )
    })?;
    Ok((pipeline, host, shown))
}

pub fn run(args: RunArgs, mode: Mode) -> ExitCode {
    let command = if mode == Mode::Run { "run" } else { "plan" };
    let shown = Shown::of(&args);
    let (pipeline, host, path) = match prepare(command, &args.pipeline) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let opts = Options {
        mode,
        business_date: args.date.unwrap_or_else(crate::clock::today_in_japan),
        progress: !args.quiet,
        reset: false,
        confirm_deletions: args.confirm_deletions,
        retry_rejected: args.retry_quarantined,
        wait_results: std::time::Duration::from_secs(args.wait_results),
        wait_lock: std::time::Duration::from_secs(args.wait_lock),
    };
    execute(command, &pipeline, &host, &path, &opts, &shown)
}

/// `pmhlink reset`: first the plan of the new baseline, then (confirmed) the run.
pub fn reset(args: ResetArgs) -> ExitCode {
    let command = "reset";
    let shown = Shown::of(&args.run);
    let (pipeline, host, path) = match prepare(command, &args.run.pipeline) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let mut opts = Options {
        mode: Mode::DryRun,
        business_date: args.run.date.unwrap_or_else(crate::clock::today_in_japan),
        progress: !args.run.quiet,
        reset: true,
        confirm_deletions: args.run.confirm_deletions,
        retry_rejected: true,
        wait_results: std::time::Duration::from_secs(args.run.wait_results),
        wait_lock: std::time::Duration::from_secs(args.run.wait_lock),
    };
    let planning = Shown {
        quiet: false,
        json: false,
        metrics_file: None,
    };
    let planned = execute(command, &pipeline, &host, &path, &opts, &planning);
    if planned != ExitCode::from(exit::OK) && planned != ExitCode::from(exit::QUARANTINED) {
        return planned;
    }
    if !args.yes {
        use std::io::{BufRead, IsTerminal};
        if !std::io::stdin().is_terminal() {
            return fail(
                command,
                &"a reset replaces everything PMH holds for this pipeline; run it from a terminal to confirm, or pass --yes",
                exit::CONFIG,
            );
        }
        out!(
            "PMH の登録内容をこの内容で置き換えます。確認のため団体コード ({}) を入力してください: ",
            pipeline.municipality.code
        );
        crate::out::flush();
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        if answer.trim() != pipeline.municipality.code {
            return fail(command, &"not confirmed; nothing was sent", exit::ABORTED);
        }
    }
    opts.mode = Mode::Run;
    execute(command, &pipeline, &host, &path, &opts, &shown)
}

fn execute(
    command: &str,
    pipeline: &Pipeline,
    host: &Host,
    path: &Path,
    opts: &Options,
    shown: &Shown,
) -> ExitCode {
    match pipeline::run(pipeline, path, host, opts) {
        Ok(done) => {
            let r = &done.report;
            if let Some(file) = &shown.metrics_file {
                write_metrics(command, pipeline, &done, file);
            }
            if shown.json {
                let mut v = serde_json::to_value(r).expect("the report serialises");
                v["report_file"] = done.report_json.display().to_string().into();
                v["quarantine_file"] = done.quarantine_csv.display().to_string().into();
                outln!(
                    "{}",
                    serde_json::to_string_pretty(&v).expect("the report serialises")
                );
            } else if !shown.quiet || r.exit_code != exit::OK {
                outln!(
                    "pmhlink {command}: {} ({}) {} 業務日 {} 実行ID {}",
                    r.municipality_name,
                    r.municipality_code,
                    r.api,
                    r.business_date,
                    r.run_id
                );
                outln!("  {}", pipeline::summary_line(r));
                for s in &r.reading.sources {
                    outln!(
                        "  ソース {} ({}): {}行, 読めない行 {}",
                        s.name,
                        s.plugin,
                        s.rows,
                        s.unreadable_rows
                    );
                }
                for (code, c) in &r.reading.findings_by_code {
                    outln!("  {} {code}: {}件", c.severity.label_ja(), c.count);
                }
                for s in &r.sinks {
                    outln!("  送信先 {s}");
                }
                let res = &r.results;
                if res.batches > 0 || res.pending > 0 {
                    outln!(
                        "  PMH の結果: {}件の送信分を反映 (受理 {}件, 不受理 {}件), 結果待ち {}件",
                        res.batches,
                        res.accepted,
                        res.rejected,
                        res.pending
                    );
                }
                for e in &res.errors {
                    outln!("  結果を取得できませんでした (次回再確認): {e}");
                }
                for id in &r.resumed {
                    outln!("  中断していた実行 {id} の送信を再開し、完了しました");
                }
                if let Some(e) = &r.error {
                    outln!("  中止の理由: {e}");
                }
                outln!("  レポート: {}", done.report_json.display());
                outln!("  隔離一覧: {}", done.quarantine_csv.display());
                outln!(
                    "  結果: {} (終了コード {})",
                    r.outcome.label_ja(),
                    r.exit_code
                );
            }
            ExitCode::from(r.exit_code)
        }
        Err(e) => fail(command, &e, e.exit_code()),
    }
}

/// The pipeline's metrics after a run: the ledger's figures and this run's report. A ledger
/// that cannot be read now (another process took it) leaves `pmhlink_up` 0 and this run's
/// figures. A file that cannot be written is said on stderr; the run's status stays its own.
fn write_metrics(command: &str, pipeline: &Pipeline, done: &pipeline::Finished, file: &Path) {
    use pmhlink_runner::monitor::{self, LastRun, Sampled};
    let watched = monitor::watch(pipeline, 10);
    let own = LastRun::of(&done.report, &done.report_json);
    let sampled = match &watched {
        Ok(w) => Sampled::from(w),
        Err(_) => Sampled {
            municipality_code: &pipeline.municipality.code,
            pipeline: pipeline.name(),
            status: None,
            last_run: Some(&own),
            last_success_at: None,
        },
    };
    if let Err(e) = monitor::write_textfile(file, &monitor::openmetrics(&[sampled])) {
        errln!(
            "pmhlink {command}: the metrics file {} was not written: {e}",
            file.display()
        );
    }
}

pub fn check(args: CheckArgs) -> ExitCode {
    let (pipeline, host, path) = match prepare("check", &args.pipeline) {
        Ok(p) => p,
        Err(code) => return code,
    };
    // What passed, then what to warn of.
    let checked = (|| -> Result<(Vec<String>, Vec<String>), PipelineError> {
        // The same opening path as a run: profile, layout, site tables, every source and sink
        // opened and checked, the mapping compiled; nothing is read.
        let pmhlink_runner::Prepared {
            profile,
            layout,
            opened,
            mapping,
            ..
        } = pmhlink_runner::prepare(&pipeline, &host, false, true)?;
        let mut lines = vec![format!(
            "pipeline {}: {} ({})",
            path.display(),
            pipeline.municipality.name,
            pipeline.municipality.code
        )];
        if let [own, templates @ ..] = pipeline.layers().as_slice()
            && !templates.is_empty()
        {
            lines.push(format!(
                "layers: {own} extends {} (`pmhlink config` shows where each value comes from)",
                templates.join(", which extends ")
            ));
        }
        lines.extend([
            format!(
                "profile {} {}: {} {}",
                profile.name,
                profile.version,
                layout.api.full_name(),
                layout.spec.label
            ),
            format!(
                "batch: at most {} records and {} bytes per payload",
                layout.limits.max_records, layout.limits.max_bytes
            ),
        ]);
        for s in &opened.sources {
            lines.push(format!(
                "source {} ({}): readable, {} columns",
                s.name,
                s.inner.plugin(),
                opened.columns[&s.name].len()
            ));
        }
        lines.extend(opened.sink_health.iter().map(|h| format!("sink {h}")));
        lines.push("mapping: every column it names exists".into());
        let warnings = pmhlink_runner::identifiers::numeric_identifiers(
            &mapping,
            &opened.columns,
            &opened.types,
        );
        Ok((lines, warnings.iter().map(ToString::to_string).collect()))
    })();
    match checked {
        Ok((lines, warnings)) => {
            for l in lines {
                outln!("ok  {l}");
            }
            for w in warnings {
                outln!("warn {w}");
            }
            ExitCode::from(exit::OK)
        }
        Err(e) => fail("check", &e, e.exit_code()),
    }
}

/// `pmhlink config`: the effective pipeline with the origin of each value. Nothing but the
/// pipeline's own files is read (no plugin, no profile).
pub fn config(args: ConfigArgs) -> ExitCode {
    let pipeline = match Pipeline::load(&args.pipeline) {
        Ok(p) => p,
        Err(e) => return fail("config", &e, exit::CONFIG),
    };
    if args.json {
        let values: Vec<serde_json::Value> = pipeline
            .effective_values()
            .into_iter()
            .map(|v| {
                let origin = match v.origin {
                    ValueOrigin::File(f) => serde_json::Value::String(f),
                    ValueOrigin::Environment(var) => {
                        serde_json::Value::String(format!("environment variable {var}"))
                    }
                    ValueOrigin::Default => serde_json::Value::Null,
                };
                serde_json::json!({ "path": v.path.to_string(), "value": v.value, "origin": origin })
            })
            .collect();
        outln!(
            "{}",
            serde_json::to_string_pretty(&values).expect("serialises")
        );
    } else {
        out!("{}", pipeline.effective_toml());
    }
    ExitCode::from(exit::OK)
}

pub fn plugins(args: PluginsArgs) -> ExitCode {
    let host = match Host::discover(PluginDirs::new(args.dir)) {
        Ok(h) => h,
        Err(e) => return fail("plugins", &e, exit::CONFIG),
    };
    let list = host.plugins();
    if args.json {
        let json: Vec<serde_json::Value> = list
            .iter()
            .map(|p| {
                serde_json::json!({
                    "name": p.name, "kind": p.kind.as_str(), "version": p.version,
                    "api_level": p.api_level, "path": p.path, "description": p.description,
                })
            })
            .collect();
        outln!(
            "{}",
            serde_json::to_string_pretty(&json).expect("serialises")
        );
    } else {
        for p in &list {
            outln!(
                "{:<16} {:<6} {:<8} API {}  {}",
                p.name,
                p.kind.as_str(),
                p.version,
                p.api_level,
                p.path.display()
            );
        }
        for problem in host.problems() {
            errln!("pmhlink plugins: {problem}");
        }
    }
    ExitCode::from(exit::OK)
}

pub fn init(args: InitArgs) -> ExitCode {
    if args.path.exists() {
        return fail(
            "init",
            &format!("{} exists; not overwritten", args.path.display()),
            exit::CONFIG,
        );
    }
    match std::fs::write(&args.path, pmhlink_config::STARTER_TOML) {
        Ok(()) => {
            outln!(
                "wrote {}: edit it, then `pmhlink check {}`",
                args.path.display(),
                args.path.display()
            );
            ExitCode::from(exit::OK)
        }
        Err(e) => fail(
            "init",
            &format!("{}: {e}", args.path.display()),
            exit::CONFIG,
        ),
    }
}

pub fn schema() -> ExitCode {
    outln!(
        "{}",
        serde_json::to_string_pretty(&pmhlink_config::json_schema()).expect("serialises")
    );
    ExitCode::from(exit::OK)
}
