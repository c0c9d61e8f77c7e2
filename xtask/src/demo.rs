//! `cargo xtask demo`: the quick start. A synthetic municipality's upload files, linted by the
//! real binary, then a hand-edited copy with the mistakes staff make in a spreadsheet.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use pmhlink_synth::SynthConfig;
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

fn lint(bin: &Path, dir: &Path, api: &str, file: &str, today: &str) -> Result<i32, String> {
    println!(
        "\n$ pmhlink lint --api {api} --site site.toml --municipality 139998 --today {today} {file}"
    );
    let status = Command::new(bin)
        .current_dir(dir)
        .args([
            "lint",
            "--api",
            api,
            "--site",
            "site.toml",
            "--municipality",
            "139998",
            "--today",
            today,
        ])
        .arg(file)
        .args(["--max-listed", "10"])
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

pub fn run() -> Result<(), String> {
    cargo(&["build", "--quiet", "-p", "pmhlink"])?;
    let bin = target_dir().join("debug").join("pmhlink");
    let dir = target_dir().join("demo");
    let _ = fs::remove_dir_all(&dir);
    let today = SynthConfig::default().as_of.to_string();
    gen_cmd::run(&GenArgs::new(7, 2000, dir.clone())).map_err(|e| e.to_string())?;

    let clean_json = lint(&bin, &dir, "E06", "payload/E06-0000.json", &today)?;
    let clean_csv = lint(&bin, &dir, "E05", "payload/E05-0000.csv", &today)?;
    hand_edit(
        &dir.join("payload/E06-0000.json"),
        &dir.join("hand-edited.json"),
    )?;
    let edited = lint(&bin, &dir, "E06", "hand-edited.json", &today)?;

    println!(
        "\nThe generated files pass (exit {clean_json}, {clean_csv}); the hand-edited copy does not (exit {edited})."
    );
    println!("Everything is in {}.", dir.display());
    if (clean_json, clean_csv, edited) == (0, 0, 1) {
        Ok(())
    } else {
        Err("the demo did not come out as expected".into())
    }
}
