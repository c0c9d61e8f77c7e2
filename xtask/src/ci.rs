//! `cargo xtask ci`: the README's test command, and what `.ci/run` runs: format, lint, the
//! database servers the tests need (`cargo xtask services`), every test.

use std::process::Command;

fn step(name: &str, args: &[&str]) -> Result<(), String> {
    eprintln!("==> {name}: cargo {}", args.join(" "));
    let status = Command::new(env!("CARGO"))
        .args(args)
        .status()
        .map_err(|e| format!("{name}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{name} failed ({status})"))
    }
}

pub fn run() -> Result<(), String> {
    step("format", &["fmt", "--all", "--", "--check"])?;
    step(
        "lint",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    // The database sources' tests talk to real servers.
    crate::services::run_all()?;
    step("test", &["test", "--workspace"])?;
    Ok(())
}
