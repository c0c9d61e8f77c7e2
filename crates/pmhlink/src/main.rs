//! `pmhlink`: the command municipal staff and integrators run.

mod clock;
mod exit;
mod fleet;
mod ledger_cmd;
mod lint;
mod mock_cmd;
mod out;
mod pipeline_cmd;
mod profile_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use pmhlink_profile::ApiId;

#[derive(Parser)]
#[command(
    name = "pmhlink",
    version,
    about = "Connects municipal systems to PMH (医療費助成)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check a PMH upload file (JSON or CSV) against the interface profile and the domain rules.
    ///
    /// Exit status: 0 no error findings (warnings allowed), 1 at least one error finding,
    /// 2 the file, the profile or the arguments cannot be read.
    Lint(lint::LintArgs),
    /// Run a pipeline: read the sources, join, map, check, deliver to the sinks, report.
    ///
    /// Exit status: 0 all sent, 2 configuration or usage error, 3 finished with quarantined
    /// records, 4 aborted (nothing of this run delivered).
    Run(pipeline_cmd::RunArgs),
    /// Everything `run` does except delivery: prints what would be sent, writes a plan report.
    Plan(pipeline_cmd::RunArgs),
    /// Check a pipeline without reading data: the file, the profile, plugins, sources
    /// readable, sinks healthy, every mapped column present.
    Check(pipeline_cmd::CheckArgs),
    /// Print the effective pipeline as TOML: the file merged over every template it `extends`,
    /// defaults filled in, environment overrides applied, secrets shown as ***, each value
    /// commented with the file (or environment variable) it came from.
    ///
    /// Exit status: 0 printed, 2 the pipeline file or a file it extends is wrong.
    Config(pipeline_cmd::ConfigArgs),
    /// List the plugins pmhlink can see.
    Plugins(pipeline_cmd::PluginsArgs),
    /// Write a commented starter pipeline file.
    Init(pipeline_cmd::InitArgs),
    /// Print the pipeline file's JSON Schema.
    Schema,
    /// Print the built-in interface profile as it is stored (to correct a copy when the agency
    /// publishes a new version); with `--pipeline FILE`, which profile that pipeline uses and
    /// its batch limits.
    ///
    /// Exit status: 0 printed, 2 the pipeline file, its profile or its `[batch]` is wrong.
    Profile(profile_cmd::ProfileArgs),
    /// Send the whole current set through the reset API (E11/E12) as PMH's new baseline, after
    /// showing the plan and asking for confirmation. For switching from full to diff sync, or
    /// after a vendor change renumbered history keys.
    ///
    /// Exit status: as `run`.
    Reset(pipeline_cmd::ResetArgs),
    /// What the pipeline's ledger holds: last runs, rows accepted / pending / quarantined,
    /// batches awaiting results, the oldest quarantined row.
    Status(ledger_cmd::StatusArgs),
    /// Run the PMH emulator (every registration and result API of a profile, bearer
    /// authentication, fault injection, `GET /_mock/records` and `/_mock/submissions`).
    MockHub(mock_cmd::MockHubArgs),
    /// Results from PMH for delivered batches: `results PIPELINE` asks the sinks (the API
    /// route), `results import PIPELINE FILE…` reads result files (the manual route).
    ///
    /// Exit status: 0 settled (or nothing due), 3 some records rejected, 2 unusable file or
    /// arguments, 4 the ledger failed.
    Results(ledger_cmd::ResultsArgs),
    /// Many municipalities at once: `fleet run DIR…` runs every pipeline found (each in a
    /// process of its own, at most --jobs at a time, each within --time-limit) and prints one
    /// table; `fleet status DIR…` (with --metrics: OpenMetrics text) and `fleet check DIR…`.
    ///
    /// Exit status: the worst member's: 4 any aborted, timed out or crashed, else 2 any could
    /// not be loaded or checked, else 3 any quarantined records, else 0; 2 when the paths
    /// hold no pipeline file.
    Fleet(fleet::FleetArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Lint(args) => lint::main(args),
        Command::Run(args) => pipeline_cmd::run(args, pmhlink_runner::Mode::Run),
        Command::Plan(args) => pipeline_cmd::run(args, pmhlink_runner::Mode::DryRun),
        Command::Check(args) => pipeline_cmd::check(args),
        Command::Config(args) => pipeline_cmd::config(args),
        Command::Plugins(args) => pipeline_cmd::plugins(args),
        Command::Init(args) => pipeline_cmd::init(args),
        Command::Schema => pipeline_cmd::schema(),
        Command::Profile(args) => profile_cmd::main(args),
        Command::Reset(args) => pipeline_cmd::reset(args),
        Command::Status(args) => ledger_cmd::status(args),
        Command::Results(args) => ledger_cmd::results(args),
        Command::MockHub(args) => mock_cmd::main(args),
        Command::Fleet(args) => fleet::main(args),
    }
}

/// Shared by subcommands that take a registration API.
pub(crate) fn parse_register_api(s: &str) -> Result<ApiId, String> {
    let api: ApiId = s
        .parse()
        .map_err(|e: pmhlink_profile::api::UnknownApi| e.to_string())?;
    match api {
        ApiId::E01 | ApiId::E02 | ApiId::E05 | ApiId::E06 | ApiId::E11 | ApiId::E12 => Ok(api),
        _ => Err(format!(
            "{api} is a result API; lint takes E01, E02, E05, E06, E11 or E12"
        )),
    }
}
