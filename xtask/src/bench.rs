//! `cargo xtask bench`: validation and payload writing over a generated municipality at city
//! scale, and `pmhlink lint` end to end on the files. Figures, not assertions: the machines are
//! shared, so the numbers go into notes, never into tests.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use clap::Args;
use pmhlink_model::Record;
use pmhlink_profile::check::check_record;
use pmhlink_profile::write::PayloadWriter;
use pmhlink_profile::{ApiId, Layout, Profile};
use pmhlink_rules::{Policy, RuleContext, Severity};
use pmhlink_synth::{Synth, SynthConfig, expected_rows};

use crate::demo::{cargo, target_dir};

#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Certificates to generate (each has one to three history rows).
    #[arg(long, default_value_t = 1_000_000)]
    certificates: u64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Where the lint input files go (default: target/bench).
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// Builds release binaries and runs the measurement in the release xtask.
pub fn run(args: &BenchArgs) -> Result<(), String> {
    cargo(&[
        "build",
        "--release",
        "--quiet",
        "-p",
        "pmhlink",
        "-p",
        "xtask",
    ])?;
    let xtask = target_dir().join("release").join("xtask");
    let mut cmd = Command::new(xtask);
    cmd.args([
        "bench-run",
        "--certificates",
        &args.certificates.to_string(),
        "--seed",
        &args.seed.to_string(),
    ]);
    if let Some(dir) = &args.dir {
        cmd.arg("--dir").arg(dir);
    }
    let status = cmd.status().map_err(|e| e.to_string())?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("bench-run failed ({status})"))
    }
}

#[allow(unsafe_code)] // getrusage / wait4 have no safe wrappers in std.
mod rusage {
    /// Peak resident set of this process, KiB.
    pub fn self_peak_kib() -> i64 {
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
        usage.ru_maxrss
    }

    /// Waits for a child and returns (exit code, its peak resident set in KiB).
    pub fn wait(child: std::process::Child) -> (i32, i64) {
        let pid = child.id() as libc::pid_t;
        let mut status = 0;
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        let code = if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            -1
        };
        std::mem::forget(child);
        (code, usage.ru_maxrss)
    }
}

#[derive(Default)]
struct Phase {
    time: Duration,
    bytes: u64,
    batches: u64,
}

fn rate(records: u64, d: Duration) -> String {
    format!("{:>10.0} records/s", records as f64 / d.as_secs_f64())
}

/// The measurement itself (runs in the release xtask).
pub fn measure(args: &BenchArgs) -> Result<(), String> {
    let synth = Synth::new(SynthConfig {
        seed: args.seed,
        certificates: args.certificates,
        ..SynthConfig::default()
    });
    let profile = Profile::builtin();
    let e06 = Layout::new(&profile, ApiId::E06).map_err(|e| e.to_string())?;
    let e05 = Layout::new(&profile, ApiId::E05).map_err(|e| e.to_string())?;
    let site = synth.municipality().site_tables();
    let ctx = RuleContext {
        today: synth.config().as_of,
        site: &site,
        municipality_code: Some(synth.municipality().code),
        policy: Policy::default(),
    };
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| target_dir().join("bench"));
    fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let unlimited = |layout: &Layout| {
        let mut l = layout.clone();
        l.limits.max_records = usize::MAX;
        l.limits.max_bytes = usize::MAX;
        l
    };
    let (big_json_layout, big_csv_layout) = (unlimited(&e06), unlimited(&e05));
    let mut big_json = PayloadWriter::new(&big_json_layout);
    let mut big_csv = PayloadWriter::new(&big_csv_layout);

    let (mut check, mut json, mut csv) = (Phase::default(), Phase::default(), Phase::default());
    let (mut json_w, mut csv_w) = (PayloadWriter::new(&e06), PayloadWriter::new(&e05));
    let mut records: u64 = 0;
    let mut errors: u64 = 0;
    let mut chunk: Vec<Record> = Vec::with_capacity(8192);
    let mut findings = Vec::new();
    let mut people = synth.people().peekable();
    let started = Instant::now();
    while people.peek().is_some() {
        chunk.clear();
        while chunk.len() < 8192 {
            let Some(p) = people.next() else { break };
            chunk.extend(expected_rows(&p).map(|row| row.record));
        }
        records += chunk.len() as u64;

        let t = Instant::now();
        for r in &chunk {
            findings.clear();
            check_record(&e06, r, &ctx, &mut findings);
            errors += findings
                .iter()
                .filter(|f| f.severity == Severity::Error)
                .count() as u64;
        }
        check.time += t.elapsed();

        for (writer, phase) in [(&mut json_w, &mut json), (&mut csv_w, &mut csv)] {
            let t = Instant::now();
            for r in &chunk {
                if let Some(b) = writer.push(r).map_err(|e| e.to_string())? {
                    phase.bytes += b.bytes.len() as u64;
                    phase.batches += 1;
                }
            }
            phase.time += t.elapsed();
        }
        for r in &chunk {
            big_json.push(r).map_err(|e| e.to_string())?;
            big_csv.push(r).map_err(|e| e.to_string())?;
        }
    }
    for (writer, phase) in [(json_w, &mut json), (csv_w, &mut csv)] {
        if let Some(b) = writer.finish() {
            phase.bytes += b.bytes.len() as u64;
            phase.batches += 1;
        }
    }
    let in_process_peak = rusage::self_peak_kib();
    let json_file = dir.join("bench-E06.json");
    let csv_file = dir.join("bench-E05.csv");
    for (w, path) in [(big_json, &json_file), (big_csv, &csv_file)] {
        let bytes = w.finish().map(|b| b.bytes).unwrap_or_default();
        let mut f = BufWriter::new(fs::File::create(path).map_err(|e| e.to_string())?);
        f.write_all(&bytes)
            .and_then(|()| f.flush())
            .map_err(|e: io::Error| e.to_string())?;
    }
    let total = started.elapsed();

    println!(
        "bench: seed {}, {} certificates → {records} history rows ({:.1} s incl. generation)",
        args.seed,
        args.certificates,
        total.as_secs_f64()
    );
    println!(
        "  validate (profile shape + domain rules, one core)  {:>7.2} s  {}  ({errors} error findings)",
        check.time.as_secs_f64(),
        rate(records, check.time)
    );
    println!(
        "  write E06 JSON batches                             {:>7.2} s  {}  {} calls, {} MB",
        json.time.as_secs_f64(),
        rate(records, json.time),
        json.batches,
        json.bytes / 1_000_000
    );
    println!(
        "  write E05 CSV batches                              {:>7.2} s  {}  {} calls, {} MB",
        csv.time.as_secs_f64(),
        rate(records, csv.time),
        csv.batches,
        csv.bytes / 1_000_000
    );
    println!(
        "  peak RSS of the in-process phases (incl. two whole-file payloads held for lint input): {} MiB",
        in_process_peak / 1024
    );

    let bin = target_dir().join("release").join("pmhlink");
    for (api, file) in [("E06", &json_file), ("E05", &csv_file)] {
        lint_end_to_end(&bin, api, file, &ctx.today.to_string(), records)?;
    }
    Ok(())
}

fn lint_end_to_end(
    bin: &Path,
    api: &str,
    file: &Path,
    today: &str,
    records: u64,
) -> Result<(), String> {
    let size = fs::metadata(file).map_err(|e| e.to_string())?.len();
    let t = Instant::now();
    let child = Command::new(bin)
        .args([
            "lint",
            "--api",
            api,
            "--today",
            today,
            "--municipality",
            "139998",
            "--max-listed",
            "0",
        ])
        .arg(file)
        .stdout(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    let (code, peak) = rusage::wait(child);
    let wall = t.elapsed();
    println!(
        "  pmhlink lint --api {api} ({} MB file)                {:>7.2} s  {}  peak RSS {} MiB, exit {code}",
        size / 1_000_000,
        wall.as_secs_f64(),
        rate(records, wall),
        peak / 1024
    );
    Ok(())
}
