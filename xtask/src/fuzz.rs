//! `cargo xtask fuzz [TARGET] [--secs N]`: runs the libFuzzer targets under `fuzz/` with
//! `cargo +nightly fuzz` (the project itself stays on stable), one after another, and prints
//! each target's executions, coverage and corpus. New corpus entries go to `fuzz/corpus/`
//! (not committed); the committed seeds (`fuzz/seeds/`, written by `--seeds`) and past crash
//! inputs (`fuzz/regressions/`) are read as extra corpora. A crash input lands in
//! `fuzz/artifacts/<target>/`; once fixed, it moves to `fuzz/regressions/<target>/`, where
//! `xtask/tests/fuzz_replay*.rs` replays it on stable in every CI run.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use clap::Args;

use crate::demo::workspace_root;

#[derive(Args, Debug)]
pub struct FuzzArgs {
    /// One target (default: every target in `fuzz/fuzz_targets/`, in turn).
    target: Option<String>,
    /// Seconds per target.
    #[arg(long, default_value_t = 60)]
    secs: u64,
    /// Stop a target after this many executions, if that comes before `--secs`.
    #[arg(long)]
    runs: Option<u64>,
    /// Build with AddressSanitizer (slower; the default finds panics, which is what safe
    /// Rust's bugs look like).
    #[arg(long)]
    asan: bool,
    /// List the targets and exit.
    #[arg(long)]
    list: bool,
    /// Rewrite the committed seed corpora (`fuzz/seeds/`) from the tests' fixtures and a small
    /// generated municipality, and exit.
    #[arg(long)]
    seeds: bool,
}

/// What one target's run reported.
struct Summary {
    target: String,
    executions: Option<u64>,
    coverage: Option<String>,
    crashed: bool,
    log: PathBuf,
}

pub fn run(args: &FuzzArgs) -> Result<(), String> {
    let fuzz = workspace_root().join("fuzz");
    if args.seeds {
        return crate::fuzz_seeds::write(&fuzz.join("seeds"));
    }
    let targets = select(targets(&fuzz)?, args.target.as_deref())?;
    if args.list {
        targets.iter().for_each(|t| println!("{t}"));
        return Ok(());
    }
    require_cargo_fuzz()?;
    let summaries: Vec<Summary> = targets
        .iter()
        .map(|t| fuzz_one(&fuzz, t, args))
        .collect::<Result<_, _>>()?;
    report(&summaries)
}

/// The targets: one file each under `fuzz/fuzz_targets/`.
pub fn targets(fuzz: &Path) -> Result<Vec<String>, String> {
    let dir = fuzz.join("fuzz_targets");
    let entries = fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let path = e.path();
            (path.extension()? == "rs").then(|| path.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect();
    names.sort();
    Ok(names)
}

fn select(all: Vec<String>, wanted: Option<&str>) -> Result<Vec<String>, String> {
    match wanted {
        None => Ok(all),
        Some(t) if all.iter().any(|a| a == t) => Ok(vec![t.to_owned()]),
        Some(t) => Err(format!(
            "no fuzz target `{t}`; the targets are: {}",
            all.join(", ")
        )),
    }
}

/// A `cargo` for the nightly toolchain, cleared of what the outer stable `cargo xtask` set
/// for its children (its target dir would mix nightly and stable artefacts).
fn nightly_cargo() -> Command {
    let mut cmd = Command::new("cargo");
    cmd.arg("+nightly");
    for var in [
        "CARGO",
        "RUSTC",
        "RUSTDOC",
        "RUSTUP_TOOLCHAIN",
        "CARGO_TARGET_DIR",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

fn require_cargo_fuzz() -> Result<(), String> {
    let found = nightly_cargo()
        .args(["fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if found {
        Ok(())
    } else {
        Err("fuzzing needs the nightly toolchain and cargo-fuzz: \
             `rustup toolchain install nightly` and `cargo install cargo-fuzz`"
            .into())
    }
}

fn fuzz_one(fuzz: &Path, target: &str, args: &FuzzArgs) -> Result<Summary, String> {
    let corpus = fuzz.join("corpus").join(target);
    let artifacts = fuzz.join("artifacts").join(target);
    let logs = fuzz.join("logs");
    for dir in [&corpus, &artifacts, &logs] {
        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let log = logs.join(format!("{target}.log"));
    let log_file = fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
    let mut cmd = nightly_cargo();
    cmd.current_dir(workspace_root())
        .args(["fuzz", "run", target, "--debug-assertions", "--sanitizer"])
        .arg(if args.asan { "address" } else { "none" })
        .arg(&corpus);
    for extra in ["seeds", "regressions"] {
        let dir = fuzz.join(extra).join(target);
        if dir.is_dir() {
            cmd.arg(dir);
        }
    }
    cmd.arg("--")
        .arg(format!("-max_total_time={}", args.secs))
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .arg("-print_final_stats=1");
    if let Some(runs) = args.runs {
        cmd.arg(format!("-runs={runs}"));
    }
    println!("fuzz {target}: {} s (log: {})", args.secs, log.display());
    let status = cmd
        .stdout(Stdio::null())
        .stderr(log_file)
        .status()
        .map_err(|e| format!("cargo fuzz: {e}"))?;
    let text = fs::read_to_string(&log).unwrap_or_default();
    Ok(Summary {
        target: target.to_owned(),
        executions: stat(&text, "stat::number_of_executed_units:"),
        coverage: last_coverage(&text),
        crashed: !status.success(),
        log,
    })
}

/// A `stat::…: N` line of libFuzzer's final statistics.
fn stat(log: &str, name: &str) -> Option<u64> {
    log.lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.trim().parse().ok())
}

/// `cov: … ft: … corp: …` from the last status line libFuzzer printed.
fn last_coverage(log: &str) -> Option<String> {
    log.lines().rev().find_map(|l| {
        let at = l.find("cov: ")?;
        let rest = &l[at..];
        let end = rest
            .find(" lim:")
            .or_else(|| rest.find(" exec/s"))
            .unwrap_or(rest.len());
        Some(rest[..end].trim().to_owned())
    })
}

fn report(summaries: &[Summary]) -> Result<(), String> {
    println!("{:<14} {:>12}  coverage", "target", "executions");
    for s in summaries {
        let executions = s.executions.map_or("?".to_owned(), |n| n.to_string());
        let outcome = if s.crashed { "  CRASH" } else { "" };
        println!(
            "{:<14} {executions:>12}  {}{outcome}",
            s.target,
            s.coverage.as_deref().unwrap_or("?")
        );
    }
    let crashed: Vec<String> = summaries
        .iter()
        .filter(|s| s.crashed)
        .map(|s| format!("{} (see {})", s.target, s.log.display()))
        .collect();
    if crashed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "fuzzing found crashes: {}; the inputs are in fuzz/artifacts/",
            crashed.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_final_statistics_are_read_from_libfuzzers_log() {
        let log = "#1024\tpulse  cov: 812 ft: 2301 corp: 140/9Kb lim: 4096 exec/s: 512 rss: 40Mb\n\
                   #2048\tNEW    cov: 815 ft: 2310 corp: 141/9Kb lim: 4096 exec/s: 600 rss: 41Mb L: 7/64\n\
                   Done 2048 runs in 3 second(s)\n\
                   stat::number_of_executed_units: 2048\n\
                   stat::peak_rss_mb:              41\n";
        assert_eq!(stat(log, "stat::number_of_executed_units:"), Some(2048));
        assert_eq!(stat(log, "stat::missing:"), None);
        assert_eq!(
            last_coverage(log).as_deref(),
            Some("cov: 815 ft: 2310 corp: 141/9Kb")
        );
    }

    #[test]
    fn every_target_has_a_body_and_an_unknown_one_is_named() {
        let fuzz = workspace_root().join("fuzz");
        let all = targets(&fuzz).unwrap();
        assert!(all.contains(&"payload_json".to_owned()), "{all:?}");
        let err = select(all, Some("nope")).unwrap_err();
        assert!(err.contains("no fuzz target `nope`") && err.contains("payload_json"));
    }
}
