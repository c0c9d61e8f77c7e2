//! `pmhlink profile`: the built-in interface profile exactly as it is stored (a vendor saves
//! it, corrects it from the agency's design documents and names the copy in `profile.path`),
//! or, with `--pipeline`, which profile a pipeline speaks and the batch limits in force.
//!
//! Exit statuses (documented in the README): 0 printed; 2 the pipeline file, its profile or
//! its `[batch]` settings are wrong (the message names the key).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use pmhlink_config::Pipeline;
use pmhlink_profile::spec::Limits;
use pmhlink_profile::{Layout, Profile};
use pmhlink_runner::exit;

use crate::out::{out, outln};
use crate::pipeline_cmd::fail;

#[derive(Args, Debug)]
pub struct ProfileArgs {
    /// Instead of printing the built-in profile, say which profile this pipeline file uses
    /// (the built-in one or the file its `profile.path` names) and its batch limits.
    #[arg(long, value_name = "FILE")]
    pipeline: Option<PathBuf>,
}

pub fn main(args: ProfileArgs) -> ExitCode {
    let Some(path) = args.pipeline else {
        out!("{}", pmhlink_profile::spec::DEFAULT_PROFILE_TOML);
        return ExitCode::from(exit::OK);
    };
    match describe(&path) {
        Ok(lines) => {
            for l in lines {
                outln!("{l}");
            }
            ExitCode::from(exit::OK)
        }
        Err(e) => fail("profile", &e, exit::CONFIG),
    }
}

/// What `--pipeline` prints, line by line.
fn describe(path: &std::path::Path) -> Result<Vec<String>, String> {
    let pipeline = Pipeline::load(path).map_err(|e| e.to_string())?;
    let stored = pmhlink_runner::stored_profile(&pipeline).map_err(|e| e.to_string())?;
    let limits = pipeline.batch_limits(&stored).map_err(|e| e.to_string())?;
    let layout = Layout::new(&stored, pipeline.api()).map_err(|e| e.to_string())?;
    let which = match &pipeline.profile.path {
        Some(p) => format!("{} (`profile.path`)", pipeline.resolve(p).display()),
        None => "built-in (`pmhlink profile` prints it; correct a copy and name it in \
                 `profile.path`)"
            .to_owned(),
    };
    Ok(vec![
        format!(
            "pipeline {}: {} ({})",
            path.display(),
            pipeline.municipality.name,
            pipeline.municipality.code
        ),
        format!("profile {} {}: {which}", stored.name, stored.version),
        format!("API {} {}", layout.api.full_name(), layout.spec.label),
        batch_line(&stored, &limits, Unit::Records),
        batch_line(&stored, &limits, Unit::Bytes),
    ])
}

#[derive(Clone, Copy)]
enum Unit {
    Records,
    Bytes,
}

/// "batch: at most 500 records per payload (`batch.max_records`; the profile's limit is 1000,
/// assumed)".
fn batch_line(profile: &Profile, effective: &Limits, unit: Unit) -> String {
    let (key, word, value, limit) = match unit {
        Unit::Records => (
            "max_records",
            "records",
            effective.max_records,
            profile.limits.max_records,
        ),
        Unit::Bytes => (
            "max_bytes",
            "bytes",
            effective.max_bytes,
            profile.limits.max_bytes,
        ),
    };
    let assumed = if profile.limits.assumed {
        ", assumed"
    } else {
        ""
    };
    let whose = if value == limit {
        format!("the profile's limit{assumed}")
    } else {
        format!("`batch.{key}`; the profile's limit is {limit}{assumed}")
    };
    format!("batch: at most {value} {word} per payload ({whose})")
}
