//! `cargo xtask demo`: the quick start. The demo municipality さくら野市 is generated (CP932
//! subsidy CSV, CP932 fixed-width resident export, 支援措置 list), checked and run through its
//! pipeline file with the real plugins; the same town is run again with its resident registry
//! read from the SQLite database the generator writes beside the export
//! (`examples/sakurano/pipeline-sqlite.toml`), which must deliver the same payload files byte
//! for byte; then the delivered payload is linted, and a hand-edited copy shows what lint
//! catches.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::gen_cmd::{self, GenArgs};

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace")
        .to_owned()
}

pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace_root().join("target"), PathBuf::from)
}

pub fn cargo(args: &[&str]) -> Result<(), String> {
    let status = Command::new(env!("CARGO"))
        .args(args)
        .current_dir(workspace_root())
        .status()
        .map_err(|e| format!("cargo {}: {e}", args.join(" ")))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cargo {} failed ({status})", args.join(" ")))
    }
}

/// The binary and the first-party plugins it loads from beside itself.
pub const PACKAGES: [&str; 6] = [
    "pmhlink",
    "pmhlink-source-csv",
    "pmhlink-source-fixed",
    "pmhlink-source-sqlite",
    "pmhlink-sink-file",
    "pmhlink-sink-api",
];

pub fn build(release: bool) -> Result<PathBuf, String> {
    let mut args = vec!["build", "--quiet"];
    if release {
        args.push("--release");
    }
    for p in PACKAGES {
        args.extend(["-p", p]);
    }
    cargo(&args)?;
    Ok(target_dir()
        .join(if release { "release" } else { "debug" })
        .join("pmhlink"))
}

fn pmhlink(bin: &Path, args: &[&str]) -> Result<i32, String> {
    println!("\n$ pmhlink {}", args.join(" "));
    let status = Command::new(bin)
        .args(args)
        .current_dir(workspace_root())
        .status()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    let code = status.code().unwrap_or(-1);
    println!("(exit status {code})");
    Ok(code)
}

/// The mistakes of a file edited by hand: half-width kana, a slashed date, a mistyped My Number.
fn hand_edit(clean: &Path, edited: &Path) -> Result<(), String> {
    let text = fs::read(clean).map_err(|e| e.to_string())?;
    let mut records: Vec<Value> = serde_json::from_slice(&text).map_err(|e| e.to_string())?;
    records[0]["basicFiveInfo"]["nameKana"] = "ﾔﾏﾀﾞ ﾀﾛｳ".into();
    records[1]["validFrom"] = "2025/04/01".into();
    let mn = records[2]["myNumber"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let last = mn
        .bytes()
        .last()
        .map_or(b'0', |b| if b == b'9' { b'0' } else { b + 1 });
    records[2]["myNumber"] =
        format!("{}{}", &mn[..mn.len().saturating_sub(1)], last as char).into();
    fs::write(
        edited,
        serde_json::to_vec(&records).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())
}

const DATE: &str = "2025-06-01";

/// The one run folder a drop folder holds after a first run.
fn run_folder(outbox: &Path) -> Result<PathBuf, String> {
    let mut runs = fs::read_dir(outbox)
        .map_err(|e| format!("{}: {e}", outbox.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir());
    let run = runs
        .next()
        .ok_or_else(|| format!("nothing delivered into {}", outbox.display()))?;
    match runs.next() {
        None => Ok(run),
        Some(_) => Err(format!("more than one run in {}", outbox.display())),
    }
}

/// A run folder's payload files (the manifest aside: it names the run), by name.
fn payload_files(run: &Path) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut files = Vec::new();
    for entry in fs::read_dir(run).map_err(|e| e.to_string())?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name != "manifest.json" {
            let bytes = fs::read(entry.path()).map_err(|e| format!("{name}: {e}"))?;
            files.push((name, bytes));
        }
    }
    files.sort();
    Ok(files)
}

/// The same town with its resident registry read from `data/residents.sqlite`: it must deliver
/// exactly the payload files `run_dir` holds. Its output is shown only when it fails.
fn sqlite_variant(bin: &Path, example: &Path, run_dir: &Path) -> Result<(), String> {
    let pipeline = "examples/sakurano/pipeline-sqlite.toml";
    for args in [
        vec!["check", pipeline],
        vec!["run", pipeline, "--date", DATE, "--quiet"],
    ] {
        let out = Command::new(bin)
            .args(&args)
            .current_dir(workspace_root())
            .output()
            .map_err(|e| format!("{}: {e}", bin.display()))?;
        // 3: sent, the generator's defective records quarantined, as in the file run.
        let want = if args[0] == "check" { 0 } else { 3 };
        if out.status.code() != Some(want) {
            return Err(format!(
                "pmhlink {} ended with {} (expected {want}):\n{}{}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    let from_files = payload_files(run_dir)?;
    let from_sqlite = payload_files(&run_folder(&example.join("outbox-sqlite"))?)?;
    if from_files.is_empty() || from_sqlite != from_files {
        let names = |f: &[(String, Vec<u8>)]| {
            f.iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        };
        return Err(format!(
            "{pipeline} did not deliver the payload files of the file run: [{}] vs [{}]{}",
            names(&from_sqlite),
            names(&from_files),
            if names(&from_sqlite) == names(&from_files) {
                " (the same names, different bytes)"
            } else {
                ""
            }
        ));
    }
    println!(
        "\nThe SQLite variant ({pipeline}, residents from data/residents.sqlite) matched: the same {} payload file{} as the file run, byte for byte.",
        from_files.len(),
        if from_files.len() == 1 { "" } else { "s" }
    );
    Ok(())
}

/// The share of people on the demo's 支援措置 list (`cargo xtask gen --support-measures`).
pub const SUPPORT_MEASURES: f64 = 0.03;

/// Records sent with `isNotDisclosed: true` in a run folder's payload files, and how many of
/// the generator's expected records (those not quarantined) carry the 不開示フラグ.
fn withheld(run_dir: &Path, expected: &Path) -> Result<(usize, usize), String> {
    let mut sent = 0;
    for entry in fs::read_dir(run_dir).map_err(|e| e.to_string())?.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("E06-") && name.ends_with(".json") {
            let records: Vec<Value> = serde_json::from_slice(
                &fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?,
            )
            .map_err(|e| format!("{}: {e}", path.display()))?;
            sent += records
                .iter()
                .filter(|r| r["isNotDisclosed"] == true)
                .count();
        }
    }
    let text = fs::read_to_string(expected).map_err(|e| format!("{}: {e}", expected.display()))?;
    let mut want = 0;
    for line in text.lines() {
        let row: Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
        want += usize::from(
            row["quarantine"].is_null() && row["record"]["person"]["is_not_disclosed"] == true,
        );
    }
    Ok((sent, want))
}

pub fn run() -> Result<(), String> {
    let bin = build(false)?;
    let example = workspace_root().join("examples/sakurano");
    for stale in [
        "data",
        "outbox",
        "reports",
        "state",
        "results",
        "outbox-sqlite",
        "reports-sqlite",
        "state-sqlite",
        "outbox-postgres",
        "reports-postgres",
        "state-postgres",
    ] {
        let _ = fs::remove_dir_all(example.join(stale));
    }
    let mut args = GenArgs::new(7, 300, example.join("data"));
    args.dirty = 0.05;
    // Enough 支援措置 entries that some people in the quick start are withheld.
    args.support_measures = SUPPORT_MEASURES;
    gen_cmd::run(&args).map_err(|e| e.to_string())?;

    let pipeline = "examples/sakurano/pipeline.toml";
    let checked = pmhlink(&bin, &["check", pipeline])?;
    // Which interface profile the pipeline speaks, and the batch limits in force.
    let profiled = pmhlink(&bin, &["profile", "--pipeline", pipeline])?;
    let ran = pmhlink(&bin, &["run", pipeline, "--date", DATE])?;
    // The same day again: the ledger knows it was delivered.
    let again = pmhlink(&bin, &["run", pipeline, "--date", DATE, "--quiet"])?;
    let status = pmhlink(&bin, &["status", pipeline])?;
    let run_dir = run_folder(&example.join("outbox"))?;
    // Before the API days below change the subsidy export.
    sqlite_variant(&bin, &example, &run_dir)?;
    let quarantine = fs::read_dir(example.join("reports"))
        .map_err(|e| e.to_string())?
        .flatten()
        .map(|d| d.path().join("quarantine.csv"))
        .next()
        .ok_or("no report")?;
    println!(
        "\nFirst lines of the quarantine list ({}):",
        quarantine.display()
    );
    let text = fs::read_to_string(&quarantine).map_err(|e| e.to_string())?;
    for line in text.lines().take(6) {
        println!("  {line}");
    }

    let (sent_withheld, want_withheld) = withheld(&run_dir, &example.join("data/expected.jsonl"))?;
    println!(
        "\n{sent_withheld} records were sent with isNotDisclosed: true (支援措置 in force on {DATE}); \
         the generator expects {want_withheld}."
    );

    let payload = run_dir.join("E06-0000.json");
    let site = example.join("data/site.toml");
    let (payload, site) = (payload.display().to_string(), site.display().to_string());
    let linted = pmhlink(
        &bin,
        &[
            "lint",
            "--api",
            "E06",
            "--site",
            &site,
            "--municipality",
            "139998",
            "--today",
            DATE,
            "--max-listed",
            "3",
            &payload,
        ],
    )?;
    let edited = example.join("outbox/hand-edited.json");
    hand_edit(Path::new(&payload), &edited)?;
    let edited_lint = pmhlink(
        &bin,
        &[
            "lint",
            "--api",
            "E06",
            "--site",
            &site,
            "--today",
            DATE,
            "--max-listed",
            "5",
            &edited.display().to_string(),
        ],
    )?;

    println!(
        "\ncheck {checked}, profile {profiled}, run {ran} (3: sent, with the generator's defective records quarantined), \
         the same day again {again} (a no-op that reports the day as it was), status {status}, \
         lint of the delivered file {linted}, lint of a hand-edited copy {edited_lint}."
    );
    println!(
        "Delivered files, manifest, reports and the ledger (state/) are under {}.",
        example.display()
    );
    crate::demo_days::run(&bin, &example)?;
    if (checked, profiled, ran, again, status, linted, edited_lint) != (0, 0, 3, 3, 0, 0, 1) {
        return Err("the demo did not come out as expected".into());
    }
    if sent_withheld == 0 || sent_withheld != want_withheld {
        return Err(format!(
            "the demo sent {sent_withheld} records with isNotDisclosed: true; expected {want_withheld}, at least one"
        ));
    }
    Ok(())
}
