//! `pmhlink lint`: every record of a payload file through the profile's shape rules and the
//! domain rules, streamed, so a file of any size is checked in constant memory.

mod report;

use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use pmhlink_profile::check::check_record;
use pmhlink_profile::read::{Decoded, PayloadError, read_payload};
use pmhlink_profile::{ApiId, Layout, Profile};
use pmhlink_rules::{CivilDate, Code, FieldRef, Finding, Policy, RuleContext, SiteTables};

use crate::exit;
use crate::out::{errln, out};
pub use report::{JsonSink, Summary, TextSink};

#[derive(Args, Debug)]
pub struct LintArgs {
    /// The registration API the file is for: E01, E02, E05, E06, E11 or E12 (SO0G- prefix optional).
    #[arg(long, value_parser = crate::parse_register_api)]
    api: ApiId,
    /// Judge the file as this pipeline's runs would: its profile, site tables (local
    /// programmes, 外字), 団体コード (unless `--municipality` gives another) and rule settings.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["profile", "site"])]
    pipeline: Option<PathBuf>,
    /// An interface profile file to use instead of the built-in one.
    #[arg(long, value_name = "FILE")]
    profile: Option<PathBuf>,
    /// Site tables (local programmes, 外字 mapping) as TOML.
    #[arg(long, value_name = "FILE")]
    site: Option<PathBuf>,
    /// The sending municipality's 団体コード, for the prefecture cross-check.
    #[arg(long, value_name = "CODE")]
    municipality: Option<String>,
    /// The date to judge "in the future" against (YYYY-MM-DD); default today in Japan.
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    today: Option<CivilDate>,
    /// Print the findings as a JSON array instead of the report.
    #[arg(long)]
    json: bool,
    /// How many findings the report lists one by one (all are counted).
    #[arg(long, default_value_t = 100, value_name = "N")]
    max_listed: usize,
    /// The payload file.
    file: PathBuf,
}

pub(crate) fn parse_date(s: &str) -> Result<CivilDate, String> {
    CivilDate::parse_iso(s).map_err(|_| format!("`{s}` is not a YYYY-MM-DD date"))
}

/// One finding located in the file.
#[derive(Debug)]
pub struct Located<'a> {
    pub record: u64,
    pub line: Option<u64>,
    /// The key path or column the finding is about, `None` for the record as a whole.
    pub field: Option<&'a str>,
    pub finding: &'a Finding,
}

/// Where findings go as they are found.
pub trait Sink {
    fn finding(&mut self, located: Located<'_>);
}

fn unreadable(file: &Path, what: impl std::fmt::Display) -> ExitCode {
    errln!("pmhlink lint: {}: {what}", file.display());
    exit::code(exit::UNREADABLE)
}

/// What the records are judged by: from a pipeline file, or from the separate options.
struct Judge {
    profile: Profile,
    site: SiteTables,
    municipality: Option<String>,
    policy: Policy,
}

/// The judge from `--pipeline`, or from `--profile`, `--site` and `--municipality`; an error is
/// printed and becomes the exit status.
fn judge(args: &LintArgs) -> Result<Judge, ExitCode> {
    if let Some(path) = &args.pipeline {
        let failed = |e: &dyn std::fmt::Display| {
            errln!("pmhlink lint: {e}");
            exit::code(exit::UNREADABLE)
        };
        let pipeline = pmhlink_config::Pipeline::load(path).map_err(|e| failed(&e))?;
        return Ok(Judge {
            profile: pmhlink_runner::load_profile(&pipeline).map_err(|e| failed(&e))?,
            site: pipeline.site_tables().map_err(|e| failed(&e))?,
            municipality: args
                .municipality
                .clone()
                .or_else(|| Some(pipeline.municipality.code.clone())),
            policy: pipeline.rules.policy(),
        });
    }
    let profile = match &args.profile {
        Some(path) => Profile::load(path).map_err(|e| {
            errln!("pmhlink lint: {e}");
            exit::code(exit::UNREADABLE)
        })?,
        None => Profile::builtin(),
    };
    let site = match &args.site {
        Some(path) => load_site(path).map_err(|e| unreadable(path, e))?,
        None => SiteTables::default(),
    };
    Ok(Judge {
        profile,
        site,
        municipality: args.municipality.clone(),
        policy: Policy::default(),
    })
}

pub fn main(args: LintArgs) -> ExitCode {
    let Judge {
        profile,
        site,
        municipality,
        policy,
    } = match judge(&args) {
        Ok(j) => j,
        Err(code) => return code,
    };
    let layout = match Layout::new(&profile, args.api) {
        Ok(l) => l,
        Err(e) => {
            errln!("pmhlink lint: {e}");
            return exit::code(exit::UNREADABLE);
        }
    };
    let ctx = RuleContext {
        today: args.today.unwrap_or_else(crate::clock::today_in_japan),
        site: &site,
        municipality_code: municipality.as_deref(),
        policy,
    };
    let file = match File::open(&args.file) {
        Ok(f) => f,
        Err(e) => return unreadable(&args.file, e),
    };
    let outcome = if args.json {
        let mut sink = JsonSink::new(crate::out::Stdout);
        let r = lint_stream(&layout, &ctx, file, &mut sink);
        sink.close();
        r
    } else {
        let mut sink = TextSink::new(args.max_listed);
        let r = lint_stream(&layout, &ctx, file, &mut sink);
        if let Ok(summary) = &r {
            out!(
                "{}",
                sink.render(&args.file.display().to_string(), &layout, summary)
            );
        }
        r
    };
    match outcome {
        Ok(summary) if summary.errors > 0 => exit::code(exit::FINDINGS),
        Ok(_) => exit::code(exit::OK),
        Err(e) => unreadable(&args.file, e),
    }
}

fn load_site(path: &Path) -> Result<SiteTables, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    toml::from_str(&text).map_err(|e| format!("not a valid site file: {e}"))
}

/// Lints a whole payload, handing each finding to `sink`; returns the counts.
pub fn lint_stream(
    layout: &Layout,
    ctx: &RuleContext<'_>,
    reader: impl std::io::Read,
    sink: &mut dyn Sink,
) -> Result<Summary, PayloadError> {
    let mut summary = Summary::default();
    let mut seen = HashSet::new();
    let mut findings = Vec::new();
    let total = read_payload(layout, reader, |index, decoded: Decoded| {
        findings.clear();
        findings.extend(decoded.findings);
        if let Some(record) = &decoded.record {
            check_record(layout, record, ctx, &mut findings);
            if !seen.insert(record.identity_digest()) {
                findings.push(Finding::on(Code::DuplicateRecord, FieldRef::Record));
            }
        }
        summary.add_record(&findings);
        for f in &findings {
            let field = match &f.field {
                FieldRef::Field(id) => Some(layout.key_of(*id).unwrap_or(id.name())),
                FieldRef::Key(k) => Some(k.as_str()),
                FieldRef::Record => None,
            };
            sink.finding(Located {
                record: index,
                line: decoded.line,
                field,
                finding: f,
            });
        }
    })?;
    summary.records = total;
    debug_assert_eq!(
        summary.errors + summary.warnings,
        summary.by_code.values().sum::<u64>()
    );
    Ok(summary)
}
