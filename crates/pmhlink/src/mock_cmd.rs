//! `pmhlink mock-hub`: the PMH emulator, for vendors developing against PMH without LGWAN access
//! and for the tests and the demo.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use pmhlink_hub_mock::{Faults, MockConfig};
use pmhlink_profile::Profile;

use crate::out::errln;

#[derive(Args, Debug)]
pub struct MockHubArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8787", value_name = "ADDR")]
    listen: String,
    /// The interface profile to speak (default: the built-in one).
    #[arg(long, value_name = "FILE")]
    profile: Option<PathBuf>,
    /// Require `Authorization: Bearer T` on the PMH endpoints (the inspection endpoints under
    /// `/_mock/` need none). Prefer --token-env: a command line is visible to other users.
    #[arg(long, value_name = "T", conflicts_with = "token_env")]
    token: Option<String>,
    /// Read the required bearer token from this environment variable.
    #[arg(long, value_name = "VAR")]
    token_env: Option<String>,
    /// Keep the hub's state in this file, so that a demo survives a restart.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// Fault injection rules (TOML): failing statuses, Retry-After, slow or dropped answers,
    /// results that stay processing, per-record rejections.
    #[arg(long, value_name = "FILE")]
    faults: Option<PathBuf>,
    /// How many result polls a task answers "processing" before it is ready.
    #[arg(long, default_value_t = 1, value_name = "N")]
    ready_after_polls: u32,
}

pub fn main(args: MockHubArgs) -> ExitCode {
    let fail = |e: &dyn std::fmt::Display| {
        errln!("pmhlink mock-hub: {e}");
        ExitCode::from(crate::exit::UNREADABLE)
    };
    let profile = match &args.profile {
        Some(p) => match Profile::load(p) {
            Ok(p) => p,
            Err(e) => return fail(&e),
        },
        None => Profile::builtin(),
    };
    let token = match (&args.token, &args.token_env) {
        (Some(t), _) => Some(t.clone()),
        (None, Some(var)) => match std::env::var(var) {
            Ok(t) => Some(t),
            Err(_) => return fail(&format!("{var} is not set")),
        },
        (None, None) => None,
    };
    let faults = match &args.faults {
        Some(f) => match Faults::load(f) {
            Ok(f) => f,
            Err(e) => return fail(&e),
        },
        None => Faults::default(),
    };
    let config = MockConfig {
        profile,
        token,
        state: args.state,
        faults,
        ready_after_polls: args.ready_after_polls,
    };
    match pmhlink_hub_mock::run_blocking(config, &args.listen) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}
