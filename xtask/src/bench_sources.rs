//! `cargo xtask bench-sources`: the same generated city read by the same pipeline from its
//! CSV export and from the same rows in PostgreSQL and in MariaDB (the `postgres` and `mysql`
//! source plugins), through the release binary: wall time, CPU time and peak memory of each
//! `pmhlink run`, and each one's ratio to the CSV run measured in the same invocation (the
//! machines are shared, so ratios are what a note reports). The payloads of every database
//! run must be byte-identical to the CSV run's, or the bench fails.
//!
//! The rows are loaded once per seed and size with the servers' own bulk loaders (`psql
//! \copy`, `LOAD DATA LOCAL INFILE` through the `mariadb` client) from a UTF-8 copy of the
//! export, each with an ordinal that the source's query orders by. The CPU time is pmhlink's
//! alone: the server's work is on its own processes.

use std::fs;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::Args;
use pmhlink_synth::SynthConfig;

use crate::bench::{generated, rusage};
use crate::demo::{cargo, target_dir, workspace_root};

#[derive(Args, Debug, Clone)]
pub struct SourcesBenchArgs {
    /// Certificates in the generated municipality.
    #[arg(long, default_value_t = 1_000_000)]
    certificates: u64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Runs of each variant (interleaved, each from an empty ledger); the table shows the
    /// fastest and the slowest.
    #[arg(long, default_value_t = 2)]
    repeat: u32,
    /// Working directory (default: target/bench-sources); the generated exports and the loaded
    /// tables are kept and reused while seed and size are the same.
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// The database the rows go into, on both servers.
const DATABASE: &str = "pmhlink_bench_sources";

/// The packages the runs need, built in release.
const PACKAGES: [&str; 6] = [
    "pmhlink",
    "pmhlink-source-csv",
    "pmhlink-source-fixed",
    "pmhlink-source-postgres",
    "pmhlink-source-mysql",
    "pmhlink-sink-file",
];

/// How one variant reads the subsidy rows: the pipeline's source lines.
struct Variant {
    name: &'static str,
    plugin: &'static str,
    settings: String,
}

/// What one run cost.
struct Cost {
    wall: Duration,
    cpu: Duration,
    peak_kib: i64,
}

pub fn run(args: &SourcesBenchArgs) -> Result<(), String> {
    let mut build = vec!["build", "--release", "--quiet"];
    PACKAGES.iter().for_each(|p| build.extend(["-p", p]));
    cargo(&build)?;
    let bin = target_dir().join("release/pmhlink");
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| target_dir().join("bench-sources"));
    let data = generated(&dir, args.seed, args.certificates, "bench-sources")?;
    let columns = load_once(&dir, &data, args)?;
    let variants = variants(&columns);
    for v in &variants {
        prepare(&dir, v)?;
    }
    let mut costs: Vec<Vec<Cost>> = variants.iter().map(|_| Vec::new()).collect();
    for _ in 0..args.repeat.max(1) {
        for (v, costs) in variants.iter().zip(costs.iter_mut()) {
            costs.push(run_once(&bin, &dir.join(v.name))?);
        }
    }
    let rows = same_payloads(&dir, &variants)?;
    print_table(args, rows, &variants, &costs);
    Ok(())
}

/// Loads the export's rows into both servers unless a previous run loaded these; returns the
/// export's column names.
fn load_once(dir: &Path, data: &Path, args: &SourcesBenchArgs) -> Result<Vec<String>, String> {
    let utf8 = dir.join("subsidy-utf8.csv");
    let columns = to_utf8(&data.join("subsidy.csv"), &utf8)?;
    let marker = dir.join(".loaded");
    let wanted = format!("seed {} certificates {}", args.seed, args.certificates);
    if fs::read_to_string(&marker).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(columns);
    }
    let t = Instant::now();
    load_postgres(&columns, &utf8)?;
    println!(
        "bench-sources: loaded PostgreSQL in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    load_mariadb(&columns, &utf8)?;
    println!(
        "bench-sources: loaded MariaDB in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    fs::write(&marker, wanted).map_err(|e| e.to_string())?;
    Ok(columns)
}

/// The CP932 export as UTF-8, line by line (this process stays small: a child's peak memory
/// counts from its parent's); returns the header's names.
fn to_utf8(cp932: &Path, utf8: &Path) -> Result<Vec<String>, String> {
    let mut input =
        BufReader::new(fs::File::open(cp932).map_err(|e| format!("{}: {e}", cp932.display()))?);
    let mut out =
        BufWriter::new(fs::File::create(utf8).map_err(|e| format!("{}: {e}", utf8.display()))?);
    let mut line = Vec::new();
    let mut header = None;
    let mut number = 0;
    while input
        .read_until(b'\n', &mut line)
        .map_err(|e| e.to_string())?
        > 0
    {
        number += 1;
        let text = encoding_rs::SHIFT_JIS
            .decode_without_bom_handling_and_without_replacement(&line)
            .ok_or_else(|| format!("{} line {number}: not CP932", cp932.display()))?;
        if header.is_none() {
            header = Some(
                text.trim_end()
                    .split(',')
                    .map(str::to_owned)
                    .collect::<Vec<_>>(),
            );
        }
        out.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
        line.clear();
    }
    out.flush().map_err(|e| e.to_string())?;
    header.ok_or_else(|| format!("{}: empty", cp932.display()))
}

fn sh(program: &str, args: &[&str], input: Option<&str>) -> Result<(), String> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .spawn()
        .map_err(|e| format!("{program}: {e}"))?;
    if let Some(text) = input {
        child
            .stdin
            .take()
            .expect("piped")
            .write_all(text.as_bytes())
            .map_err(|e| format!("{program}: {e}"))?;
    }
    let status = child.wait().map_err(|e| format!("{program}: {e}"))?;
    status.success().then_some(()).ok_or_else(|| {
        format!("{program} failed ({status}); are the servers up? `cargo xtask services`")
    })
}

fn load_postgres(columns: &[String], utf8: &Path) -> Result<(), String> {
    let admin = [
        "-h",
        "127.0.0.1",
        "-U",
        "postgres",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
    ];
    let recreate = format!(
        "DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE);\nCREATE DATABASE {DATABASE} TEMPLATE template0 ENCODING 'UTF8';\n"
    );
    sh(
        "psql",
        &[&admin[..], &["-d", "postgres"]].concat(),
        Some(&recreate),
    )?;
    let quoted: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
    let typed: Vec<String> = quoted.iter().map(|q| format!("{q} text")).collect();
    let script = format!(
        "CREATE TABLE subsidy (pmhlink_ord bigserial PRIMARY KEY, {});\n\\copy subsidy ({}) FROM '{}' WITH (FORMAT csv, HEADER true)\nVACUUM ANALYZE subsidy;\n",
        typed.join(", "),
        quoted.join(", "),
        utf8.display()
    );
    sh(
        "psql",
        &[&admin[..], &["-d", DATABASE]].concat(),
        Some(&script),
    )
}

fn load_mariadb(columns: &[String], utf8: &Path) -> Result<(), String> {
    let quoted: Vec<String> = columns.iter().map(|c| format!("`{c}`")).collect();
    let typed: Vec<String> = quoted.iter().map(|q| format!("{q} TEXT")).collect();
    let script = format!(
        "DROP DATABASE IF EXISTS {DATABASE};\nCREATE DATABASE {DATABASE} CHARACTER SET utf8mb4;\nUSE {DATABASE};\n\
         CREATE TABLE subsidy (pmhlink_ord BIGINT AUTO_INCREMENT PRIMARY KEY, {}) CHARACTER SET utf8mb4;\n\
         LOAD DATA LOCAL INFILE '{}' INTO TABLE subsidy CHARACTER SET utf8mb4 FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '' LINES TERMINATED BY '\\r\\n' IGNORE 1 LINES ({});\n",
        typed.join(", "),
        utf8.display(),
        quoted.join(", ")
    );
    sh(
        "mariadb",
        &["-h", "127.0.0.1", "-u", "root", "--local-infile=1"],
        Some(&script),
    )
}

fn variants(columns: &[String]) -> Vec<Variant> {
    let query = |q: char| {
        let listed: Vec<String> = columns.iter().map(|c| format!("{q}{c}{q}")).collect();
        format!(
            "SELECT {} FROM subsidy ORDER BY pmhlink_ord",
            listed.join(", ")
        )
    };
    vec![
        Variant {
            name: "csv",
            plugin: "csv",
            settings: "path = \"data/subsidy.csv\"\nencoding = \"cp932\"\nheader = true".into(),
        },
        Variant {
            name: "postgres",
            plugin: "postgres",
            settings: format!(
                "url = \"postgres://postgres@127.0.0.1:5432/{DATABASE}\"\nquery = '{}'\nencoding = \"utf-8\"",
                query('"')
            ),
        },
        Variant {
            name: "mariadb",
            plugin: "mysql",
            settings: format!(
                "url = \"mysql://root@127.0.0.1:3306/{DATABASE}\"\nquery = '{}'\nencoding = \"utf-8\"",
                query('`')
            ),
        },
    ]
}

/// The variant's folder: the demo pipeline with the subsidy source replaced, beside the data.
fn prepare(dir: &Path, v: &Variant) -> Result<(), String> {
    let folder = dir.join(v.name);
    fs::create_dir_all(&folder).map_err(|e| e.to_string())?;
    let link = folder.join("data");
    if fs::symlink_metadata(&link).is_err() {
        std::os::unix::fs::symlink("../data", &link).map_err(|e| e.to_string())?;
    }
    let text = fs::read_to_string(workspace_root().join("examples/sakurano/pipeline.toml"))
        .map_err(|e| e.to_string())?;
    let source = "[sources.subsidy]\nplugin = \"csv\"\nprimary = true             # 主ソースは1つだけ / exactly one primary source\n[sources.subsidy.config]\npath = \"data/subsidy.csv\"\nencoding = \"cp932\"         # \"cp932\" | \"utf-8\"\nheader = true              # 1行目は見出し / the first line names the columns\n";
    if !text.contains(source) {
        return Err("examples/sakurano/pipeline.toml: the subsidy source is not where bench-sources expects it".into());
    }
    let replaced = format!(
        "[sources.subsidy]\nplugin = \"{}\"\nprimary = true\n[sources.subsidy.config]\n{}\n",
        v.plugin, v.settings
    );
    fs::write(
        folder.join("pipeline.toml"),
        text.replacen(source, &replaced, 1),
    )
    .map_err(|e| e.to_string())
}

/// One `pmhlink run` of a variant from an empty ledger.
fn run_once(bin: &Path, folder: &Path) -> Result<Cost, String> {
    for old in ["outbox", "reports", "state"] {
        let _ = fs::remove_dir_all(folder.join(old));
    }
    let t = Instant::now();
    let child = Command::new(bin)
        .arg("run")
        .arg(folder.join("pipeline.toml"))
        .args([
            "--date",
            &SynthConfig::default().as_of.to_string(),
            "--quiet",
        ])
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    let usage = rusage::wait_usage(&child);
    let wall = t.elapsed();
    std::mem::forget(child);
    if usage.code != 0 {
        return Err(format!(
            "{}: pmhlink run exited {}",
            folder.display(),
            usage.code
        ));
    }
    Ok(Cost {
        wall,
        cpu: usage.cpu,
        peak_kib: usage.peak_kib,
    })
}

/// Every variant's last run delivered the same payload bytes as the CSV run's; returns the
/// rows read.
fn same_payloads(dir: &Path, variants: &[Variant]) -> Result<u64, String> {
    let payloads = |name: &str| -> Result<Vec<(String, Vec<u8>)>, String> {
        let outbox = dir.join(name).join("outbox");
        let mut files = Vec::new();
        for run in fs::read_dir(&outbox).map_err(|e| format!("{}: {e}", outbox.display()))? {
            let run = run.map_err(|e| e.to_string())?.path();
            for f in fs::read_dir(&run).map_err(|e| e.to_string())? {
                let f = f.map_err(|e| e.to_string())?.path();
                let ext = f.extension().and_then(|e| e.to_str()).unwrap_or("");
                if ext == "json" || ext == "csv" {
                    let name = f
                        .file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .into_owned();
                    files.push((name, fs::read(&f).map_err(|e| e.to_string())?));
                }
            }
        }
        files.sort();
        Ok(files)
    };
    let expected = payloads("csv")?;
    for v in &variants[1..] {
        if payloads(v.name)? != expected {
            return Err(format!(
                "{}: the payloads differ from the CSV run's",
                v.name
            ));
        }
    }
    let report = fs::read_dir(dir.join("csv/reports"))
        .map_err(|e| e.to_string())?
        .flatten()
        .next()
        .map(|d| d.path().join("report.json"))
        .ok_or("the CSV run wrote no report")?;
    let report: serde_json::Value =
        serde_json::from_slice(&fs::read(report).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    report["records"]["rows"]
        .as_u64()
        .ok_or_else(|| "the report has no row count".into())
}

fn print_table(args: &SourcesBenchArgs, rows: u64, variants: &[Variant], costs: &[Vec<Cost>]) {
    println!(
        "bench-sources: {} certificates, {rows} subsidy rows; `pmhlink run` from an empty ledger (release, file sink), {} runs each; payloads byte-identical",
        args.certificates,
        costs[0].len()
    );
    println!(
        "  {:<9} {:>17} {:>10} {:>13} {:>15} {:>14}",
        "source", "wall s (min–max)", "× csv", "rows/s", "cpu s (min)", "peak MiB (max)"
    );
    let best = |c: &[Cost]| c.iter().map(|c| c.wall).min().unwrap_or_default();
    let floor = best(&costs[0]).as_secs_f64();
    for (v, c) in variants.iter().zip(costs) {
        let min = best(c).as_secs_f64();
        let max = c
            .iter()
            .map(|c| c.wall)
            .max()
            .unwrap_or_default()
            .as_secs_f64();
        let cpu = c
            .iter()
            .map(|c| c.cpu)
            .min()
            .unwrap_or_default()
            .as_secs_f64();
        let peak = c.iter().map(|c| c.peak_kib).max().unwrap_or(0) / 1024;
        println!(
            "  {:<9} {:>8.2}–{:<8.2} {:>10.2} {:>13.0} {:>15.2} {:>14}",
            v.name,
            min,
            max,
            min / floor,
            rows as f64 / min,
            cpu,
            peak
        );
    }
}
