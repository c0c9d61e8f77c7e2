//! Running the real `pmhlink` binary from tests.

#![allow(dead_code)]

pub mod databases;
pub mod mariadb;
pub mod sqlite;
pub mod town;

use std::path::Path;
use std::process::{Command, Output};

pub fn pmhlink() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pmhlink"))
}

pub struct Run {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(cmd: &mut Command) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("pmhlink runs");
    Run {
        status: status.code().expect("exited, not killed"),
        stdout: String::from_utf8(stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(stderr).expect("stderr is UTF-8"),
    }
}

/// `pmhlink lint` with the fixed date and municipality the fixtures are written for.
pub fn lint(api: &str, file: &Path, extra: &[&str]) -> Run {
    run(pmhlink()
        .args([
            "lint",
            "--api",
            api,
            "--today",
            "2026-11-21",
            "--municipality",
            "011002",
        ])
        .args(extra)
        .arg(file))
}

/// The plugins the binary's tests load: the first-party ones, and the echo source. The odbc
/// source is no default member (it links unixODBC's `libodbc`, which `cargo xtask services`
/// installs), so it is built here by name.
const PLUGINS: [&str; 9] = [
    "pmhlink-source-csv",
    "pmhlink-source-fixed",
    "pmhlink-source-sqlite",
    "pmhlink-source-postgres",
    "pmhlink-source-mysql",
    "pmhlink-source-odbc",
    "pmhlink-sink-file",
    "pmhlink-sink-api",
    "pmhlink-source-echo",
];

/// Builds the plugin libraries once per test binary: `cargo test` builds a cdylib only when
/// something links it, and the binary finds plugins beside itself.
pub fn ensure_plugins() {
    static BUILT: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--quiet"])
            .args(PLUGINS.iter().flat_map(|p| ["-p", p]))
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the plugins failed");
    });
}
