//! `cargo xtask <command>`: project automation.

mod bench;
mod bench_api;
mod bench_ledger;
mod bench_sources;
mod ci;
mod demo;
mod demo_days;
mod dist;
mod fuzz;
mod fuzz_seeds;
mod gen_cmd;
mod payloads;
mod services;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Project automation")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Format check, clippy with warnings as errors, and every test: the README's test command.
    Ci,
    /// The database servers the tests talk to (PostgreSQL on 5432, MariaDB on 3306): each
    /// that does not answer is installed with apt-get when missing, and started.
    Services,
    /// The quick start: generate a municipality's upload files and lint them.
    Demo,
    /// The operator's bundle: the binary, the first-party plugins, the profile, the docs, the
    /// example pipelines and SHA256SUMS (release build; no test fixtures).
    Dist(dist::DistArgs),
    /// Run the libFuzzer targets under `fuzz/` (nightly and cargo-fuzz), or write their seeds.
    Fuzz(fuzz::FuzzArgs),
    /// Generate a synthetic municipality: vendor exports, expected records and PMH payloads.
    Gen(gen_cmd::GenArgs),
    /// Measure validation, payload writing and lint at city scale (release build).
    Bench(bench::BenchArgs),
    /// Regenerate docs/pipeline-reference.md from the pipeline file's schema and
    /// docs/findings.md from the codes table.
    Docs,
    /// Measure a whole pipeline run (CP932 exports → join → mapping → rules → file sink).
    BenchPipeline(bench::PipelineBenchArgs),
    /// The diff and the ledger at a large city's scale: day 1 accepted whole, day 2 with 1 %
    /// changed and 0.1 % gone; times the diff and the plan's commit (release build).
    BenchLedger(bench_ledger::LedgerBenchArgs),
    /// The same city's subsidy rows from the CSV export, PostgreSQL and MariaDB through the same
    /// pipeline (release): wall, CPU and peak memory of each, as ratios to the CSV run.
    BenchSources(bench_sources::SourcesBenchArgs),
    /// A first upload and a 1 %-changed day through the API sink to the emulator (release).
    BenchApi(bench::PipelineBenchArgs),
    /// The measured day of `bench-ledger`, in a process of its own (for its peak memory).
    #[command(hide = true)]
    BenchLedgerDay2 { dir: std::path::PathBuf },
    /// The measurement itself, run by `bench` in the release build.
    #[command(hide = true)]
    BenchRun(bench::BenchArgs),
}

/// `docs/plugins/<name>.md` of every shipped plugin: each plugin's own test renders its page
/// from its settings struct (`pmhlink_pdk::docs`) and, blessed, writes it; so the page has one
/// source, and the same test fails when a committed page is stale.
/// The metrics table of `docs/monitoring.md`, from the metric families.
fn monitoring_page() -> Result<(), String> {
    let path = demo::workspace_root().join("docs/monitoring.md");
    let page = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let page = pmhlink_runner::monitor::with_reference_table(&page)
        .ok_or_else(|| format!("{}: the metrics markers are missing", path.display()))?;
    std::fs::write(&path, page).map_err(|e| format!("{}: {e}", path.display()))
}

fn plugin_pages() -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = std::process::Command::new(cargo);
    cmd.current_dir(demo::workspace_root())
        .env("PMHLINK_BLESS", "1")
        .args(["test", "--quiet"]);
    for plugin in dist::SHIPPED_PLUGINS
        .into_iter()
        .chain(dist::OPTIONAL_PLUGINS.into_iter().map(|(p, _)| p))
    {
        cmd.args(["-p", plugin]);
    }
    let status = cmd
        .args(["--", "the_settings_page_is_up_to_date"])
        .status()
        .map_err(|e| format!("cargo: {e}"))?;
    status
        .success()
        .then_some(())
        .ok_or_else(|| format!("writing the plugin pages failed ({status})"))
}

fn main() -> ExitCode {
    let result: Result<(), String> = match Cli::parse().command {
        Command::Ci => ci::run(),
        Command::Services => services::run_all(),
        Command::Demo => demo::run(),
        Command::Dist(args) => dist::run(&args),
        Command::Fuzz(args) => fuzz::run(&args),
        Command::Gen(args) => gen_cmd::run(&args).map_err(|e| e.to_string()),
        Command::Bench(args) => bench::run(&args),
        Command::BenchRun(args) => bench::measure(&args),
        Command::BenchPipeline(args) => bench::pipeline(&args),
        Command::BenchLedger(args) => bench_ledger::run(&args),
        Command::BenchApi(args) => bench_api::run(&args),
        Command::BenchSources(args) => bench_sources::run(&args),
        Command::BenchLedgerDay2 { dir } => bench_ledger::day2(&dir),
        Command::Docs => std::fs::write(
            demo::workspace_root().join("docs/pipeline-reference.md"),
            pmhlink_config::reference_markdown(),
        )
        .and_then(|()| {
            std::fs::write(
                demo::workspace_root().join("docs/findings.md"),
                pmhlink_rules::catalogue_markdown(),
            )
        })
        .map_err(|e| e.to_string())
        .and_then(|()| monitoring_page())
        .and_then(|()| plugin_pages()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
