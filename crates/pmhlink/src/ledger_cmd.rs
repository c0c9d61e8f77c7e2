//! `pmhlink status` and `pmhlink results import`: what the ledger holds, and the route back
//! from PMH for results that arrive as files.
//!
//! Exit statuses: `status` 0, or 2 (pipeline/key) / 4 (ledger locked, damaged, …);
//! `results import` 0 every record accepted, 3 some rejected (quarantined), 2 a file is
//! unreadable or answers no batch awaiting a result (all or nothing: every file is checked
//! before any settles, and the error names each bad one; nothing settled), 4 the ledger failed.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use pmhlink_runner::monitor;
use pmhlink_runner::pipeline::exit;
use pmhlink_runner::report::rfc3339_utc;
use pmhlink_runner::results::{self, BatchRef};

use crate::out::outln;
use crate::pipeline_cmd::{fail, prepare};

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// The pipeline file (TOML or YAML).
    pipeline: PathBuf,
    /// Print the status as JSON.
    #[arg(long)]
    json: bool,
    /// Print the pipeline's metrics as OpenMetrics text instead (the same text `run
    /// --metrics-file` writes; listed in docs/monitoring.md).
    #[arg(long, conflicts_with = "json")]
    metrics: bool,
    /// How many recent runs to show.
    #[arg(long, default_value_t = 10)]
    runs: u32,
}

/// `pmhlink results PIPELINE` polls the sinks; `pmhlink results import PIPELINE FILE…` reads
/// result files.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ResultsArgs {
    #[command(subcommand)]
    command: Option<ResultsCommand>,
    /// The pipeline file (TOML or YAML).
    pipeline: Option<PathBuf>,
    /// Keep asking until every result is in or this many seconds have passed.
    #[arg(long, value_name = "SECS", default_value_t = 0)]
    wait: u64,
    /// Print what was settled as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand, Debug)]
pub enum ResultsCommand {
    /// Settle batches with result files from PMH (E03/E04, E07/E08, E13/E14 in the profile's
    /// result format): accepted rows become what the ledger holds, rejected ones are
    /// quarantined with PMH's reason.
    Import(ImportArgs),
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The pipeline file (TOML or YAML).
    pipeline: PathBuf,
    /// Result files, imported in order.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The batch the result answers, when it cannot be told from the file (RUN_ID:SEQ).
    #[arg(long, value_name = "RUN_ID:SEQ")]
    batch: Option<BatchRef>,
    /// Print what was settled as JSON.
    #[arg(long)]
    json: bool,
}

pub fn status(args: StatusArgs) -> ExitCode {
    let (pipeline, _host, _path) = match prepare("status", &args.pipeline) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let watch = match monitor::watch(&pipeline, args.runs) {
        Ok(w) => w,
        Err(e) => return fail("status", &e, e.exit_code()),
    };
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&watch).expect("status serialises")
        );
        return ExitCode::from(exit::OK);
    }
    if args.metrics {
        crate::out::out!("{}", monitor::openmetrics(&[(&watch).into()]));
        return ExitCode::from(exit::OK);
    }
    let status = &watch.status;
    outln!(
        "pmhlink status: {} ({})  台帳 {} ({:.1} MB)",
        pipeline.municipality.name,
        pipeline.municipality.code,
        status.ledger,
        status.size_bytes as f64 / 1e6
    );
    outln!("  PMH 登録済み(受理)   {} 行", status.accepted_rows);
    outln!("  結果待ち             {} 行", status.pending_rows);
    outln!(
        "  隔離 (チェック)      {} 行 / PMH で不受理 {} 行",
        status.quarantined_by_checks,
        status.rejected_by_pmh
    );
    if let (Some(days), Some(since)) = (
        status.oldest_quarantine_days,
        status.oldest_quarantine_since,
    ) {
        outln!(
            "  最も古い隔離         {} 日前から ({})",
            days,
            rfc3339_utc(since)
        );
    }
    if let Some(r) = &watch.last_run {
        outln!(
            "  最後の実行           {} {} (終了コード {}, {})",
            r.run_id,
            r.outcome,
            r.exit_code,
            rfc3339_utc(r.finished_at)
        );
    }
    if let Some(t) = watch.last_success_at {
        outln!("  最後に成功した実行   {}", rfc3339_utc(t));
    }
    for id in &status.unfinished_runs {
        outln!("  中断中の実行 {id}: 次回の実行で続きから送信します");
    }
    outln!("  結果待ちの送信 {} 件", status.awaiting_results.len());
    for s in status.awaiting_results.iter().take(20) {
        outln!(
            "    {}:{} {} {}件 ({} 送信)",
            s.run_id,
            s.seq,
            s.api,
            s.records,
            rfc3339_utc(s.delivered_at.unwrap_or(s.staged_at))
        );
    }
    outln!("  最近の実行:");
    for r in &status.recent_runs {
        let sent = r.counts.get("sent").and_then(|v| v.as_u64()).unwrap_or(0);
        outln!(
            "    {} #{} {} {} {} 送信 {}件{}",
            r.run_id,
            r.attempt,
            r.business_date,
            r.kind,
            r.state.as_str(),
            sent,
            r.message
                .as_deref()
                .map(|m| format!(" — {m}"))
                .unwrap_or_default()
        );
    }
    ExitCode::from(exit::OK)
}

/// One settled batch, for the operator.
fn settled_line(d: &results::Imported) -> String {
    let s = &d.settled;
    let mut line = format!(
        "{} → {}:{} 受理 {}件, 不受理 {}件",
        d.file, d.run_id, d.seq, s.accepted, s.rejected
    );
    if s.failed > 0 {
        line.push_str(&format!(", タスク失敗 {}件 (次回の実行で再送)", s.failed));
    }
    if s.run_settled {
        line.push_str(" / この実行の結果はすべて反映済み");
    }
    line
}

pub fn results(args: ResultsArgs) -> ExitCode {
    match (args.command, args.pipeline) {
        (Some(ResultsCommand::Import(import_args)), _) => import(import_args),
        (None, Some(pipeline)) => poll(&pipeline, args.wait, args.json),
        (None, None) => fail(
            "results",
            &"name the pipeline file (or use `results import PIPELINE FILE…`)",
            exit::CONFIG,
        ),
    }
}

fn poll(path: &std::path::Path, wait: u64, json: bool) -> ExitCode {
    let (pipeline, host, _path) = match prepare("results", path) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let polled =
        match results::poll_pipeline(&pipeline, &host, std::time::Duration::from_secs(wait)) {
            Ok(p) => p,
            Err(e) => return fail("results", &e, e.exit_code()),
        };
    let rejected: u64 = polled.settled.iter().map(|d| d.settled.rejected).sum();
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&polled).expect("results serialise")
        );
    } else {
        for d in &polled.settled {
            outln!("pmhlink results: {}", settled_line(d));
        }
        outln!(
            "pmhlink results: 反映 {}件, 結果待ち {}件",
            polled.settled.len(),
            polled.pending
        );
        for e in &polled.errors {
            outln!("  取得できませんでした (次回再確認): {e}");
        }
    }
    ExitCode::from(if rejected > 0 {
        exit::QUARANTINED
    } else {
        exit::OK
    })
}

fn import(args: ImportArgs) -> ExitCode {
    let (pipeline, host, _path) = match prepare("results import", &args.pipeline) {
        Ok(p) => p,
        Err(code) => return code,
    };
    // Relative file names are the operator's, from where they ran the command.
    let files: Vec<PathBuf> = args
        .files
        .iter()
        .map(|f| std::path::absolute(f).unwrap_or_else(|_| f.clone()))
        .collect();
    match results::import(&pipeline, &host, &files, args.batch.as_ref()) {
        Ok(done) => {
            let rejected: u64 = done.iter().map(|d| d.settled.rejected).sum();
            if args.json {
                outln!(
                    "{}",
                    serde_json::to_string_pretty(&done).expect("results serialise")
                );
            } else {
                for d in &done {
                    outln!("pmhlink results import: {}", settled_line(d));
                }
            }
            ExitCode::from(if rejected > 0 {
                exit::QUARANTINED
            } else {
                exit::OK
            })
        }
        Err(e) => fail("results import", &e, e.exit_code()),
    }
}
