//! `cargo xtask bench`: validation and payload writing over a generated municipality at city
//! scale, then `pmhlink lint` end to end on whole-file payloads. Figures, not assertions: the
//! machines are shared, so the numbers go into notes, never into tests.
//!
//! Two processes: the release xtask generates and measures the in-process phases and writes
//! the lint inputs; this (small) process then runs lint, so that the peak memory the kernel
//! reports for a lint child is lint's own and not inherited from a large parent.

use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::Args;
use pmhlink_model::Record;
use pmhlink_profile::check::{check_record, check_shape};
use pmhlink_profile::write::{PayloadWriter, csv_row, record_to_csv_cells, record_to_json};
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

impl BenchArgs {
    fn dir(&self) -> PathBuf {
        self.dir
            .clone()
            .unwrap_or_else(|| target_dir().join("bench"))
    }
}

const MUNICIPALITY: &str = "139998";

/// Records generated and then measured together: small enough to stay in cache, as a record does
/// in lint or a run, where it is checked right after it is read.
const CHUNK: usize = 256;

/// Builds release binaries, measures in the release xtask, then lints its files.
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
    let release = target_dir().join("release");
    let status = Command::new(release.join("xtask"))
        .args([
            "bench-run",
            "--certificates",
            &args.certificates.to_string(),
        ])
        .args(["--seed", &args.seed.to_string(), "--dir"])
        .arg(args.dir())
        .status()
        .map_err(|e| e.to_string())?;
    if !status.success() {
        return Err(format!("bench-run failed ({status})"));
    }
    let today = SynthConfig::default().as_of.to_string();
    for (api, file) in [("E06", "bench-E06.json"), ("E05", "bench-E05.csv")] {
        lint_end_to_end(
            &release.join("pmhlink"),
            api,
            &args.dir().join(file),
            &today,
        )?;
    }
    Ok(())
}

#[allow(unsafe_code)] // getrusage / wait4 have no safe wrappers in std.
pub mod rusage {
    /// Peak resident set of this process, KiB.
    pub fn self_peak_kib() -> i64 {
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
        usage.ru_maxrss
    }

    /// A process's own peak resident set (VmHWM starts afresh at exec, unlike the rusage of a
    /// child, which inherits its parent's peak), KiB; `"self"` for this process.
    pub fn vm_hwm_kib(pid: &str) -> u64 {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            })
            .unwrap_or(0)
    }

    /// What a child cost: its exit code, its peak resident set (KiB) and its CPU time.
    pub struct Usage {
        pub code: i32,
        pub peak_kib: i64,
        pub cpu: std::time::Duration,
    }

    /// Waits for a child and returns (exit code, its peak resident set in KiB). Linux counts a
    /// child's peak from its parent's at the fork, so the parent must hold nothing large.
    pub fn wait(child: &std::process::Child) -> (i32, i64) {
        let usage = wait_usage(child);
        (usage.code, usage.peak_kib)
    }

    /// [`wait`], with the child's CPU time (user + system).
    pub fn wait_usage(child: &std::process::Child) -> Usage {
        let pid = child.id() as libc::pid_t;
        let mut status = 0;
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        let code = if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            -1
        };
        let time = |t: libc::timeval| {
            std::time::Duration::from_secs(t.tv_sec as u64)
                + std::time::Duration::from_micros(t.tv_usec as u64)
        };
        Usage {
            code,
            peak_kib: usage.ru_maxrss,
            cpu: time(usage.ru_utime) + time(usage.ru_stime),
        }
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

fn line(label: &str, time: Duration, records: u64, extra: &str) {
    println!(
        "  {label:<48} {:>7.2} s {}  {extra}",
        time.as_secs_f64(),
        rate(records, time)
    );
}

/// Whole-file payloads (no per-call limits) for lint to read, streamed to disk.
struct LintInputs {
    json: BufWriter<fs::File>,
    csv: BufWriter<fs::File>,
    first: bool,
    scratch: Vec<u8>,
}

impl LintInputs {
    fn create(dir: &Path, csv_layout: &Layout) -> std::io::Result<Self> {
        fs::create_dir_all(dir)?;
        let mut json =
            BufWriter::with_capacity(1 << 20, fs::File::create(dir.join("bench-E06.json"))?);
        let mut csv =
            BufWriter::with_capacity(1 << 20, fs::File::create(dir.join("bench-E05.csv"))?);
        json.write_all(b"[")?;
        let headers: Vec<&str> = csv_layout
            .columns
            .iter()
            .map(|c| c.header.as_str())
            .collect();
        let mut header = Vec::new();
        csv_row(&headers, csv_layout.csv.line_ending, &mut header);
        csv.write_all(&header)?;
        Ok(LintInputs {
            json,
            csv,
            first: true,
            scratch: Vec::new(),
        })
    }

    fn push(
        &mut self,
        json_layout: &Layout,
        csv_layout: &Layout,
        r: &Record,
    ) -> Result<(), String> {
        self.scratch.clear();
        if !self.first {
            self.scratch.push(b',');
        }
        self.first = false;
        record_to_json(json_layout, r, &mut self.scratch);
        self.json
            .write_all(&self.scratch)
            .map_err(|e| e.to_string())?;
        self.scratch.clear();
        let cells = record_to_csv_cells(csv_layout, r).map_err(|n| format!("{n} face items"))?;
        csv_row(&cells, csv_layout.csv.line_ending, &mut self.scratch);
        self.csv.write_all(&self.scratch).map_err(|e| e.to_string())
    }

    fn finish(mut self) -> std::io::Result<()> {
        self.json.write_all(b"]")?;
        self.json.flush()?;
        self.csv.flush()
    }
}

/// The in-process measurement (runs in the release xtask).
pub fn measure(args: &BenchArgs) -> Result<(), String> {
    let config = SynthConfig {
        seed: args.seed,
        certificates: args.certificates,
        ..SynthConfig::default()
    };
    let synth = Synth::new(config);
    let profile = Profile::builtin();
    let e06 = Layout::new(&profile, ApiId::E06).map_err(|e| e.to_string())?;
    let e05 = Layout::new(&profile, ApiId::E05).map_err(|e| e.to_string())?;
    let site = synth.municipality().site_tables();
    let ctx = RuleContext {
        today: synth.config().as_of,
        site: &site,
        municipality_code: Some(MUNICIPALITY),
        policy: Policy::default(),
    };
    let mut inputs = LintInputs::create(&args.dir(), &e05).map_err(|e| e.to_string())?;

    let (mut validate, mut shape, mut domain) =
        (Phase::default(), Phase::default(), Phase::default());
    let (mut json, mut csv) = (Phase::default(), Phase::default());
    let (mut json_w, mut csv_w) = (PayloadWriter::new(&e06), PayloadWriter::new(&e05));
    let (mut records, mut errors) = (0u64, 0u64);
    let mut chunk: Vec<Record> = Vec::with_capacity(CHUNK);
    let mut findings = Vec::new();
    let mut people = synth.people().peekable();
    let started = Instant::now();
    while people.peek().is_some() {
        chunk.clear();
        while chunk.len() < CHUNK {
            let Some(p) = people.next() else { break };
            chunk.extend(expected_rows(&p).map(|row| row.record));
        }
        records += chunk.len() as u64;

        // The production path first (both rule sets in one visit of a record), then each rule
        // set alone to show where the time goes.
        let t = Instant::now();
        for r in &chunk {
            findings.clear();
            check_record(&e06, r, &ctx, &mut findings);
            errors += findings
                .iter()
                .filter(|f| f.severity == Severity::Error)
                .count() as u64;
        }
        validate.time += t.elapsed();
        let t = Instant::now();
        for r in &chunk {
            findings.clear();
            check_shape(&e06, r, &mut findings);
        }
        shape.time += t.elapsed();
        let t = Instant::now();
        for r in &chunk {
            findings.clear();
            pmhlink_rules::check_record(r, &ctx, &mut findings);
        }
        domain.time += t.elapsed();

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
            inputs.push(&e06, &e05, r)?;
        }
    }
    for (writer, phase) in [(json_w, &mut json), (csv_w, &mut csv)] {
        if let Some(b) = writer.finish() {
            phase.bytes += b.bytes.len() as u64;
            phase.batches += 1;
        }
    }
    inputs.finish().map_err(|e| e.to_string())?;

    println!(
        "bench: seed {}, {} certificates → {records} history rows ({:.1} s in all, incl. generation and writing lint inputs)",
        args.seed,
        args.certificates,
        started.elapsed().as_secs_f64()
    );
    line(
        "validate: profile shape + domain rules (1 core)",
        validate.time,
        records,
        &format!("{errors} error findings"),
    );
    line("  profile shape rules", shape.time, records, "");
    line("  domain rules", domain.time, records, "");
    for (label, p) in [
        ("write E06 JSON batches", &json),
        ("write E05 CSV batches", &csv),
    ] {
        line(
            label,
            p.time,
            records,
            &format!("{} calls, {} MB", p.batches, p.bytes / 1_000_000),
        );
    }
    println!(
        "  peak RSS of this process (generator + phases, streamed): {} MiB",
        rusage::self_peak_kib() / 1024
    );
    Ok(())
}

fn lint_end_to_end(bin: &Path, api: &str, file: &Path, today: &str) -> Result<(), String> {
    let size = fs::metadata(file)
        .map_err(|e| format!("{}: {e}", file.display()))?
        .len();
    let t = Instant::now();
    let mut child = Command::new(bin)
        .args([
            "lint",
            "--api",
            api,
            "--today",
            today,
            "--municipality",
            MUNICIPALITY,
            "--max-listed",
            "0",
        ])
        .arg(file)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    let (code, peak) = rusage::wait(&child);
    let wall = t.elapsed();
    let mut report = String::new();
    if let Some(mut out) = child.stdout.take() {
        std::io::Read::read_to_string(&mut out, &mut report).map_err(|e| e.to_string())?;
    }
    std::mem::forget(child);
    let records: u64 = report
        .lines()
        .find_map(|l| l.trim().strip_prefix("レコード数:"))
        .and_then(|n| n.trim().parse().ok())
        .ok_or("lint printed no record count")?;
    let label = format!("pmhlink lint --api {api} ({} MB file)", size / 1_000_000);
    line(
        &label,
        wall,
        records,
        &format!("peak RSS {} MiB, exit {code}", peak / 1024),
    );
    Ok(())
}

impl PipelineBenchArgs {
    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn certificates(&self) -> u64 {
        self.certificates
    }
}

#[derive(Args, Debug, Clone)]
pub struct PipelineBenchArgs {
    /// Certificates in the generated municipality.
    #[arg(long, default_value_t = 1_000_000)]
    certificates: u64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Working directory (default: target/bench-pipeline); the generated exports are kept
    /// there and reused while seed and size are the same.
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// The generated city's exports in `dir/data`, generated once per seed and size.
pub fn generated(dir: &Path, seed: u64, certificates: u64, who: &str) -> Result<PathBuf, String> {
    let data = dir.join("data");
    let marker = data.join(".generated");
    let wanted = format!("seed {seed} certificates {certificates}");
    if fs::read_to_string(&marker).ok().as_deref() != Some(wanted.as_str()) {
        let _ = fs::remove_dir_all(&data);
        let t = Instant::now();
        let synth = Synth::new(SynthConfig {
            seed,
            certificates,
            ..SynthConfig::default()
        });
        pmhlink_synth::files::write_dir(&synth, &data, &mut []).map_err(|e| e.to_string())?;
        fs::write(&marker, &wanted).map_err(|e| e.to_string())?;
        println!(
            "{who}: generated {wanted} in {:.1} s",
            t.elapsed().as_secs_f64()
        );
    }
    Ok(data)
}

/// `cargo xtask bench-pipeline`: the demo pipeline over a generated city of CP932 exports,
/// through the release binary and plugins: sources, join, mapping, rules, file sink.
pub fn pipeline(args: &PipelineBenchArgs) -> Result<(), String> {
    let bin = crate::demo::build(true)?;
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| target_dir().join("bench-pipeline"));
    let data = generated(&dir, args.seed, args.certificates, "bench-pipeline")?;
    let pipeline = crate::demo::workspace_root().join("examples/sakurano/pipeline.toml");
    fs::copy(&pipeline, dir.join("pipeline.toml")).map_err(|e| e.to_string())?;
    for old in ["outbox", "reports", "state"] {
        let _ = fs::remove_dir_all(dir.join(old));
    }
    let sizes: u64 = ["subsidy.csv", "residents.dat", "shien.csv"]
        .iter()
        .filter_map(|f| fs::metadata(data.join(f)).ok())
        .map(|m| m.len())
        .sum();
    let t = Instant::now();
    let child = Command::new(&bin)
        .arg("run")
        .arg(dir.join("pipeline.toml"))
        .args([
            "--date",
            &SynthConfig::default().as_of.to_string(),
            "--quiet",
        ])
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    let (code, peak) = rusage::wait(&child);
    let wall = t.elapsed();
    std::mem::forget(child);
    let report = fs::read_dir(dir.join("reports"))
        .map_err(|e| e.to_string())?
        .flatten()
        .next()
        .map(|d| d.path().join("report.json"))
        .ok_or("the run wrote no report")?;
    let report: serde_json::Value =
        serde_json::from_slice(&fs::read(report).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    let r = &report["records"];
    println!(
        "bench-pipeline: {} certificates, {} MB of CP932 exports → {} rows, {} sent, {} quarantined, {} payload files",
        args.certificates,
        sizes / 1_000_000,
        r["rows"],
        report["diff"]["sent"],
        r["quarantined"],
        report["batches"].as_array().map_or(0, Vec::len)
    );
    println!(
        "  pmhlink run (release, 2 cores): {:.2} s wall, peak RSS {} MiB, exit {code} ({})",
        wall.as_secs_f64(),
        peak / 1024,
        report["outcome"]
    );
    Ok(())
}
