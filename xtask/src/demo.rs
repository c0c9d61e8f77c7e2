//! `cargo xtask demo`: the quick start. The demo municipality さくら野市 is generated (CP932
//! subsidy CSV, CP932 fixed-width resident export, 支援措置 list), checked and run through its
//! pipeline file with the real plugins; then the delivered payload is linted, and a hand-edited
//! copy shows what lint catches.

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
pub const PACKAGES: [&str; 5] = [
    "pmhlink",
    "pmhlink-source-csv",
    "pmhlink-source-fixed",
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

pub fn run() -> Result<(), String> {
    let bin = build(false)?;
    let example = workspace_root().join("examples/sakurano");
    for stale in ["data", "outbox", "reports", "state", "results"] {
        let _ = fs::remove_dir_all(example.join(stale));
    }
    let mut args = GenArgs::new(7, 300, example.join("data"));
    args.dirty = 0.05;
    gen_cmd::run(&args).map_err(|e| e.to_string())?;

    let pipeline = "examples/sakurano/pipeline.toml";
    let checked = pmhlink(&bin, &["check", pipeline])?;
    let ran = pmhlink(&bin, &["run", pipeline, "--date", DATE])?;
    // The same day again: the ledger knows it was delivered.
    let again = pmhlink(&bin, &["run", pipeline, "--date", DATE, "--quiet"])?;
    let status = pmhlink(&bin, &["status", pipeline])?;
    let run_dir = fs::read_dir(example.join("outbox"))
        .map_err(|e| e.to_string())?
        .flatten()
        .next()
        .ok_or("the run delivered nothing")?
        .path();
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
        "\ncheck {checked}, run {ran} (3: sent, with the generator's defective records quarantined), \
         the same day again {again} (a no-op that reports the day as it was), status {status}, \
         lint of the delivered file {linted}, lint of a hand-edited copy {edited_lint}."
    );
    println!(
        "Delivered files, manifest, reports and the ledger (state/) are under {}.",
        example.display()
    );
    crate::demo_days::run(&bin, &example)?;
    if (checked, ran, again, status, linted, edited_lint) == (0, 3, 3, 0, 0, 1) {
        Ok(())
    } else {
        Err("the demo did not come out as expected".into())
    }
}
