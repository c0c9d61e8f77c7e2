//! `pmhlink`: the command municipal staff and integrators run.

mod clock;
mod exit;
mod lint;

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Lint(args) => lint::main(args),
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
