//! `cargo xtask ci`: the README's test command, and what `.ci/run` runs.

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
    step("test", &["test", "--workspace"])?;
    Ok(())
}
