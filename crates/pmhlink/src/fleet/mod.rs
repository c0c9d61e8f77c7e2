//! `pmhlink fleet run|status|check`: an integrator's municipalities in one command.
//!
//! Each member runs as a process of its own (`child.rs`), at most `--jobs` at a time, each
//! within `--time-limit`: one that fails, hangs or panics never stops or touches another, and
//! every member keeps its own ledger, outbox and reports as if run alone. `status` reads each
//! ledger in this process (it only reads). One table (`table.rs`) and one exit status, the
//! worst of the members'.
//!
//! Exit statuses: as `run` for the worst member (4 any aborted, timed out or crashed, 2 any
//! could not be loaded, 3 any quarantined records, 0 all well); 2 when the paths hold no
//! pipeline.

mod child;
mod members;
mod table;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use clap::{Args, Subcommand};
use pmhlink_config::Pipeline;
use pmhlink_rules::CivilDate;
use pmhlink_runner::exit;
use pmhlink_runner::monitor::{self, Sampled, Watch};
use serde::Serialize;

use crate::out::{errln, out, outln};
use child::Ended;
use table::Row;

#[derive(Args, Debug)]
pub struct FleetArgs {
    #[command(subcommand)]
    command: FleetCommand,
}

#[derive(Subcommand, Debug)]
enum FleetCommand {
    /// Run every municipality's pipeline (each as `pmhlink run`), at most --jobs at a time,
    /// and print one table.
    Run(RunArgs),
    /// The same table from each ledger, without running anything.
    Status(StatusArgs),
    /// `pmhlink check` for every municipality's pipeline.
    Check(CheckArgs),
}

/// The pipelines of the fleet.
#[derive(Args, Debug)]
struct Paths {
    /// Pipeline files, or folders holding one per municipality (`*.toml`/`*.yaml` directly,
    /// or `*/pipeline.toml`); files that set no `municipality.code` are templates, left out.
    #[arg(required = true, value_name = "DIR|FILE")]
    paths: Vec<PathBuf>,
    /// Print JSON instead of the table.
    #[arg(long)]
    json: bool,
    /// No line per finished member on stderr.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Args, Debug)]
struct RunArgs {
    #[command(flatten)]
    paths: Paths,
    /// How many municipalities run at once.
    #[arg(long, short, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..))]
    jobs: u16,
    /// The business date (業務日) of every run, YYYY-MM-DD; default today in Japan.
    #[arg(long, value_name = "DATE", value_parser = crate::lint::parse_date)]
    date: Option<CivilDate>,
    /// A run still going after this many seconds is killed and reported `timed_out` (exit 4);
    /// its next run resumes or redoes the day.
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    time_limit: u64,
    /// Passed to each run: wait up to this many seconds for PMH's results.
    #[arg(long, value_name = "SECS", default_value_t = 0)]
    wait_results: u64,
    /// Each run writes its metrics to DIR/<member>.prom (node_exporter's textfile collector).
    #[arg(long, value_name = "DIR")]
    metrics_dir: Option<PathBuf>,
    /// Keep each member's output (its JSON report and messages) in DIR/<member>.log.
    #[arg(long, value_name = "DIR")]
    log_dir: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct StatusArgs {
    #[command(flatten)]
    paths: Paths,
    /// Print every member's metrics as OpenMetrics text instead of the table.
    #[arg(long, conflicts_with = "json")]
    metrics: bool,
}

#[derive(Args, Debug)]
struct CheckArgs {
    #[command(flatten)]
    paths: Paths,
    /// How many checks run at once.
    #[arg(long, short, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..))]
    jobs: u16,
    /// A check still going after this many seconds is killed and reported `timed_out`.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    time_limit: u64,
}

pub fn main(args: FleetArgs) -> ExitCode {
    match args.command {
        FleetCommand::Run(a) => run(a),
        FleetCommand::Status(a) => status(a),
        FleetCommand::Check(a) => check(a),
    }
}

/// A member: its file and the name its log and metrics files take.
struct Member {
    file: PathBuf,
    name: String,
}

/// The fleet: its members, and the files found beside them that are templates.
struct Fleet {
    members: Vec<Member>,
    templates: Vec<String>,
}

/// The members, or the fleet's usage error. Paths are made absolute first: the operator's,
/// from where they ran the command.
fn members(command: &str, paths: &Paths) -> Result<Fleet, ExitCode> {
    let absolute: Vec<PathBuf> = paths
        .paths
        .iter()
        .map(|p| {
            std::fs::canonicalize(p)
                .or_else(|_| std::path::absolute(p))
                .unwrap_or_else(|_| p.clone())
        })
        .collect();
    let found = members::find(&absolute).map_err(|e| {
        errln!("pmhlink fleet {command}: {e}");
        ExitCode::from(exit::CONFIG)
    })?;
    Ok(Fleet {
        members: found
            .files
            .into_iter()
            .map(|file| Member {
                name: member_name(&file),
                file,
            })
            .collect(),
        templates: found
            .templates
            .iter()
            .map(|t| t.display().to_string())
            .collect(),
    })
}

/// `131016_pipeline` for `…/131016/pipeline.toml`: the folder and the file's stem, in
/// characters any file system takes.
fn member_name(file: &Path) -> String {
    let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned());
    let folder = file
        .parent()
        .and_then(|p| p.file_name())
        .map(|s| s.to_string_lossy().into_owned());
    [folder, stem]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("_")
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `work` over every member, at most `jobs` at once; the rows in member order.
fn each<F>(members: &[Member], jobs: u16, quiet: bool, work: F) -> Vec<Row>
where
    F: Fn(&Member) -> Row + Sync,
{
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let rows: Mutex<Vec<Option<Row>>> = Mutex::new(vec![None; members.len()]);
    std::thread::scope(|scope| {
        for _ in 0..usize::from(jobs).min(members.len()) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(member) = members.get(i) else { break };
                    let row = isolated(member, || work(member), |r| r);
                    let n = done.fetch_add(1, Ordering::SeqCst) + 1;
                    if !quiet {
                        errln!(
                            "[{n}/{}] {} {} ({:.1}s)",
                            members.len(),
                            row.municipality_code.as_deref().unwrap_or(&member.name),
                            row.outcome,
                            row.seconds
                        );
                    }
                    rows.lock().expect("no worker panics holding it")[i] = Some(row);
                }
            });
        }
    });
    rows.into_inner()
        .expect("no worker panicked")
        .into_iter()
        .map(|r| r.expect("every member has its row"))
        .collect()
}

/// A member's work, a panic in it being that member's failure only.
fn isolated<T>(member: &Member, work: impl FnOnce() -> T, failed: impl FnOnce(Row) -> T) -> T {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).unwrap_or_else(|_| {
        failed(Row {
            file: member.file.display().to_string(),
            outcome: "crashed".into(),
            exit_code: exit::ABORTED,
            reason: Some("pmhlink fleet failed on this member (a bug: please report it)".into()),
            ..Row::default()
        })
    })
}

#[derive(Serialize)]
struct Table<'a, T: Serialize> {
    pipelines: &'a [T],
    exit_code: u8,
    /// Files found among the paths that set no `municipality.code`: left out.
    templates: &'a [String],
}

fn print_table(command: &str, rows: &[Row], templates: &[String], json: bool) -> ExitCode {
    let code = table::worst(rows);
    if json {
        let t = Table {
            pipelines: rows,
            exit_code: code,
            templates,
        };
        outln!(
            "{}",
            serde_json::to_string_pretty(&t).expect("the table serialises")
        );
    } else {
        out!("{}", table::render(rows));
        for t in templates {
            outln!("  テンプレートとして除外 (municipality.code がない): {t}");
        }
        let failed = rows
            .iter()
            .filter(|r| r.exit_code != exit::OK && r.exit_code != exit::QUARANTINED)
            .count();
        outln!(
            "pmhlink fleet {command}: {} 団体, 失敗 {failed} (終了コード {code})",
            rows.len()
        );
    }
    ExitCode::from(code)
}

fn run(args: RunArgs) -> ExitCode {
    let Fleet { members, templates } = match members("run", &args.paths) {
        Ok(m) => m,
        Err(code) => return code,
    };
    let metrics_dir = args
        .metrics_dir
        .as_ref()
        .map(|d| std::path::absolute(d).unwrap_or_else(|_| d.clone()));
    let log_dir = args
        .log_dir
        .as_ref()
        .map(|d| std::path::absolute(d).unwrap_or_else(|_| d.clone()));
    if let Some(dir) = &metrics_dir
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        errln!("pmhlink fleet run: {}: {e}", dir.display());
        return ExitCode::from(exit::CONFIG);
    }
    let limit = Duration::from_secs(args.time_limit);
    let rows = each(&members, args.jobs, args.paths.quiet, |m| {
        let mut argv: Vec<OsString> = vec![
            "run".into(),
            m.file.clone().into(),
            "--quiet".into(),
            "--json".into(),
        ];
        if let Some(d) = args.date {
            argv.extend(["--date".into(), d.to_string().into()]);
        }
        if args.wait_results > 0 {
            argv.extend([
                "--wait-results".into(),
                args.wait_results.to_string().into(),
            ]);
        }
        if let Some(dir) = &metrics_dir {
            argv.extend([
                "--metrics-file".into(),
                dir.join(format!("{}.prom", m.name)).into(),
            ]);
        }
        run_member(m, &argv, limit, log_dir.as_deref())
    });
    print_table("run", &rows, &templates, args.paths.json)
}

fn run_member(m: &Member, argv: &[OsString], limit: Duration, log_dir: Option<&Path>) -> Row {
    let argv: Vec<&std::ffi::OsStr> = argv.iter().map(OsString::as_os_str).collect();
    let mut row = Row {
        file: m.file.display().to_string(),
        ..Row::default()
    };
    let finished = match child::run(&argv, limit) {
        Ok(f) => f,
        Err(e) => {
            row.outcome = "crashed".into();
            row.exit_code = exit::ABORTED;
            row.reason = Some(format!("pmhlink could not be started: {e}"));
            return row;
        }
    };
    if let Some(dir) = log_dir
        && let Err(e) = child::keep_log(dir, &m.name, &finished)
    {
        errln!(
            "pmhlink fleet run: {}: the log was not kept: {e}",
            dir.display()
        );
    }
    row.seconds = finished.elapsed.as_secs_f64();
    ended_row(&mut row, &finished, "run", limit);
    if let Ok(report) = serde_json::from_slice::<serde_json::Value>(&finished.stdout) {
        let text = |k: &str| report.get(k).and_then(|v| v.as_str()).map(str::to_owned);
        let number = |p: &str| report.pointer(p).and_then(|v| v.as_u64());
        row.municipality_code = text("municipality_code");
        row.municipality_name = text("municipality_name");
        row.outcome = text("outcome").unwrap_or(row.outcome);
        row.rows_read = number("/records/rows");
        row.rows_sent = Some(number("/diff/sent").unwrap_or(0));
        row.rows_quarantined = number("/records/quarantined");
        row.report = text("report_file");
        if let Some(e) = text("error") {
            row.reason = Some(e);
        }
    }
    identify(&mut row, &m.file);
    row
}

/// Outcome, exit status and reason from how the process ended; a report read afterwards says
/// more.
fn ended_row(row: &mut Row, finished: &child::Finished, command: &str, limit: Duration) {
    match finished.ended {
        Ended::Exited(code) => match u8::try_from(code) {
            Ok(c @ (exit::OK | exit::QUARANTINED | exit::ABORTED | exit::CONFIG)) => {
                row.exit_code = c;
                row.outcome = match c {
                    exit::CONFIG => "config_error",
                    exit::ABORTED => "aborted",
                    exit::QUARANTINED => "quarantined",
                    _ => "ok",
                }
                .into();
                if c != exit::OK && c != exit::QUARANTINED {
                    row.reason = child::message(&finished.stderr, command);
                }
            }
            _ => {
                row.exit_code = exit::ABORTED;
                row.outcome = "crashed".into();
                row.reason = Some(format!(
                    "the process ended with exit status {code} (101: a panic); nothing it did not finish was delivered"
                ));
            }
        },
        Ended::TimedOut => {
            row.exit_code = exit::ABORTED;
            row.outcome = "timed_out".into();
            row.reason = Some(format!(
                "killed after {} s (--time-limit); the next run resumes or redoes the day",
                limit.as_secs()
            ));
        }
        Ended::Killed => {
            row.exit_code = exit::ABORTED;
            row.outcome = "crashed".into();
            row.reason = Some("the process was ended by a signal".into());
        }
    }
}

/// The municipality, and what its ledger says is awaiting PMH, filled in from the pipeline
/// file and ledger where the process did not say (a failed run, a check).
fn identify(row: &mut Row, file: &Path) {
    let Ok(pipeline) = Pipeline::load(file) else {
        return;
    };
    row.municipality_code
        .get_or_insert_with(|| pipeline.municipality.code.clone());
    row.municipality_name
        .get_or_insert_with(|| pipeline.municipality.name.clone());
    if let Ok(w) = monitor::watch(&pipeline, 1) {
        row.pending_rows = Some(w.status.pending_rows);
    }
}

/// A member as `fleet status` shows it, with the `status --json` object behind its line.
#[derive(Serialize)]
struct Watched {
    #[serde(flatten)]
    row: Row,
    /// What `pmhlink status --json` prints for this pipeline; none when it could not be read.
    status: Option<Watch>,
}

fn status(args: StatusArgs) -> ExitCode {
    let Fleet { members, templates } = match members("status", &args.paths) {
        Ok(m) => m,
        Err(code) => return code,
    };
    let watched: Vec<(Row, Option<Watch>, Option<String>)> = members
        .iter()
        .map(|m| isolated(m, || status_member(m), |r| (r, None, None)))
        .collect();
    if args.metrics {
        let sampled: Vec<Sampled<'_>> = watched
            .iter()
            .zip(&members)
            .map(|((_, w, code), m)| match w {
                Some(w) => Sampled::from(w),
                None => Sampled {
                    municipality_code: code.as_deref().unwrap_or(""),
                    pipeline: file_stem(&m.file),
                    status: None,
                    last_run: None,
                    last_success_at: None,
                },
            })
            .collect();
        out!("{}", monitor::openmetrics(&sampled));
        let rows: Vec<Row> = watched.into_iter().map(|(r, _, _)| r).collect();
        return ExitCode::from(table::worst(&rows));
    }
    if args.paths.json {
        let all: Vec<Watched> = watched
            .into_iter()
            .map(|(row, status, _)| Watched { row, status })
            .collect();
        let rows: Vec<Row> = all.iter().map(|w| w.row.clone()).collect();
        let t = Table {
            pipelines: &all,
            exit_code: table::worst(&rows),
            templates: &templates,
        };
        outln!(
            "{}",
            serde_json::to_string_pretty(&t).expect("the table serialises")
        );
        return ExitCode::from(t.exit_code);
    }
    let rows: Vec<Row> = watched.into_iter().map(|(r, _, _)| r).collect();
    print_table("status", &rows, &templates, false)
}

fn file_stem(file: &Path) -> &str {
    file.file_stem().and_then(|s| s.to_str()).unwrap_or("")
}

/// One member's line from its ledger, the watch behind it, and its municipality code.
fn status_member(m: &Member) -> (Row, Option<Watch>, Option<String>) {
    let mut row = Row {
        file: m.file.display().to_string(),
        ..Row::default()
    };
    let pipeline = match Pipeline::load(&m.file) {
        Ok(p) => p,
        Err(e) => {
            row.outcome = "config_error".into();
            row.exit_code = exit::CONFIG;
            row.reason = Some(e.to_string());
            return (row, None, None);
        }
    };
    let code = pipeline.municipality.code.clone();
    row.municipality_code = Some(code.clone());
    row.municipality_name = Some(pipeline.municipality.name.clone());
    match monitor::watch(&pipeline, 10) {
        Ok(w) => {
            row.pending_rows = Some(w.status.pending_rows);
            row.outcome = "never_run".into();
            if let Some(r) = &w.last_run {
                row.outcome = r.outcome.clone();
                row.rows_read = Some(r.rows_read);
                row.rows_sent = Some(r.rows_sent);
                row.rows_quarantined = Some(r.rows_quarantined);
                row.seconds = r.duration_seconds() as f64;
                row.report = Some(r.report.clone());
            }
            (row, Some(w), Some(code))
        }
        Err(e) => {
            row.outcome = "unreadable".into();
            row.exit_code = e.exit_code();
            row.reason = Some(e.to_string());
            (row, None, Some(code))
        }
    }
}

fn check(args: CheckArgs) -> ExitCode {
    let Fleet { members, templates } = match members("check", &args.paths) {
        Ok(m) => m,
        Err(code) => return code,
    };
    let limit = Duration::from_secs(args.time_limit);
    let rows = each(&members, args.jobs, args.paths.quiet, |m| {
        let argv = [OsString::from("check"), m.file.clone().into()];
        let argv: Vec<&std::ffi::OsStr> = argv.iter().map(OsString::as_os_str).collect();
        let mut row = Row {
            file: m.file.display().to_string(),
            ..Row::default()
        };
        match child::run(&argv, limit) {
            Ok(f) => {
                row.seconds = f.elapsed.as_secs_f64();
                ended_row(&mut row, &f, "check", limit);
                if row.outcome != "ok" && row.reason.is_none() {
                    row.reason = child::message(&f.stderr, "check");
                }
            }
            Err(e) => {
                row.outcome = "crashed".into();
                row.exit_code = exit::ABORTED;
                row.reason = Some(format!("pmhlink could not be started: {e}"));
            }
        }
        if let Ok(p) = Pipeline::load(&m.file) {
            row.municipality_code = Some(p.municipality.code.clone());
            row.municipality_name = Some(p.municipality.name.clone());
        }
        row
    });
    print_table("check", &rows, &templates, args.paths.json)
}
