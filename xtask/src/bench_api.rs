//! `cargo xtask bench-api`: a city's first upload (every row registered) and a day with 1 % of
//! the rows changed, through the API sink to the emulator on loopback, with the release build:
//! wall time, registration calls, peak memory of pmhlink and of the emulator.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::bench::{PipelineBenchArgs, rusage};
use crate::demo_days::{MONTHLY_CAP, TOKEN, api_pipeline, read_rows, start_hub, write_rows};

fn day(bin: &Path, pipeline: &Path, date: &str, label: &str) -> Result<(), String> {
    let t = Instant::now();
    let child = Command::new(bin)
        .arg("run")
        .arg(pipeline)
        .args(["--date", date, "--quiet", "--wait-results", "900"])
        .env("PMH_TOKEN", TOKEN)
        .spawn()
        .map_err(|e| e.to_string())?;
    let (code, peak) = rusage::wait(&child);
    std::mem::forget(child);
    let wall = t.elapsed();
    let dir = pipeline.parent().ok_or("no folder")?;
    let run_id = format!(
        "139998-{}-{}",
        date.replace('-', ""),
        pipeline.file_stem().ok_or("no name")?.to_string_lossy()
    );
    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join(format!("reports/{run_id}/report.json")))
            .map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    println!(
        "  {label}: {:.2} s wall, exit {code}, pmhlink peak RSS {} MiB; {} rows sent in {} registration calls; results: {} accepted, {} rejected, {} pending",
        wall.as_secs_f64(),
        peak / 1024,
        report["diff"]["sent"],
        report["batches"].as_array().map_or(0, Vec::len),
        report["results"]["accepted"],
        report["results"]["rejected"],
        report["results"]["pending"],
    );
    Ok(())
}

pub fn run(args: &PipelineBenchArgs) -> Result<(), String> {
    let bin = crate::demo::build(true)?;
    let dir = crate::demo::target_dir().join("bench-api");
    let data = crate::bench::generated(&dir, args.seed(), args.certificates(), "bench-api")?;
    std::fs::copy(
        crate::demo::workspace_root().join("examples/sakurano/pipeline.toml"),
        dir.join("pipeline.toml"),
    )
    .map_err(|e| e.to_string())?;
    for old in ["outbox", "reports", "state"] {
        let _ = std::fs::remove_dir_all(dir.join(old));
    }
    // No export is held in this process while pmhlink runs: a child's peak memory as wait4
    // reports it starts from its parent's at the fork.
    let subsidy = data.join("subsidy.csv");
    let kept = dir.join("subsidy.orig.csv");
    std::fs::copy(&subsidy, &kept).map_err(|e| e.to_string())?;
    let (hub, addr) = start_hub(&bin, None, true)?;
    let pipeline = api_pipeline(&dir, &addr)?;
    println!(
        "bench-api: {} certificates, emulator on {}",
        args.certificates(),
        addr
    );
    day(&bin, &pipeline, "2025-06-01", "first upload")?;
    {
        let mut rows = read_rows(&subsidy)?;
        for r in rows.iter_mut().skip(1).step_by(100) {
            r[MONTHLY_CAP] = "12345".into();
        }
        write_rows(&subsidy, &rows)?;
    }
    day(&bin, &pipeline, "2025-06-02", "1 % changed")?;
    std::fs::rename(&kept, &subsidy).map_err(|e| e.to_string())?;
    println!(
        "  emulator peak RSS {} MiB",
        rusage::vm_hwm_kib(&hub.0.id().to_string()) / 1024
    );
    Ok(())
}
