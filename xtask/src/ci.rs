//! `cargo xtask ci`: the README's test command, and what `.ci/run` runs: format, the database
//! servers and ODBC drivers the tests need (`cargo xtask services`), lint, every test. The
//! services come before the lint: clippy `--all-targets` builds the `odbc` plugin, which links
//! unixODBC's `libodbc`.

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
    // The database sources' tests talk to real servers through real drivers; the odbc plugin
    // needs unixODBC to link at all.
    crate::services::run_all()?;
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
