//! `cargo xtask services`: the database servers the tests talk to — PostgreSQL on
//! 127.0.0.1:5432 (user `postgres`, trust over TCP) and MariaDB on 127.0.0.1:3306. Each
//! that does not answer is installed (Debian's packages, `apt-get`) when missing and started;
//! a PostgreSQL cluster this installs is given trust authentication on 127.0.0.1, which only a
//! test machine may have. `cargo xtask ci` runs this before the tests, so a machine without
//! the servers gets them instead of tests that cannot run.

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Whether something accepts connections on 127.0.0.1:`port`.
fn answers(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok()
}

fn run(program: &str, args: &[&str]) -> Result<(), String> {
    eprintln!("==> {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .map_err(|e| format!("{program}: {e}"))?;
    status
        .success()
        .then_some(())
        .ok_or_else(|| format!("{program} {} failed ({status})", args.join(" ")))
}

fn apt_install(package: &str) -> Result<(), String> {
    run("apt-get", &["update", "-q"])?;
    run("apt-get", &["install", "-y", "-q", package])
}

/// Waits up to a minute for a started server to answer.
fn wait_for(name: &str, port: u16) -> Result<(), String> {
    let started = Instant::now();
    while !answers(port) {
        if started.elapsed() > Duration::from_secs(60) {
            return Err(format!("{name} did not answer on 127.0.0.1:{port}"));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    eprintln!("==> {name} answers on 127.0.0.1:{port}");
    Ok(())
}

fn postgres() -> Result<(), String> {
    if answers(5432) {
        eprintln!("==> PostgreSQL answers on 127.0.0.1:5432");
        return Ok(());
    }
    let clusters = Path::new("/etc/postgresql");
    if !clusters.is_dir() {
        apt_install("postgresql")?;
    }
    let versions = std::fs::read_dir(clusters)
        .map_err(|e| format!("{}: {e}", clusters.display()))?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Vec<_>>();
    let version = versions
        .iter()
        .max()
        .ok_or("no PostgreSQL cluster under /etc/postgresql")?;
    // The tests connect as `postgres` over TCP without a password.
    let hba = clusters.join(version).join("main/pg_hba.conf");
    let rules = std::fs::read_to_string(&hba).map_err(|e| format!("{}: {e}", hba.display()))?;
    let trust = "host all all 127.0.0.1/32 trust\n";
    if !rules.starts_with(trust) {
        std::fs::write(&hba, format!("{trust}{rules}"))
            .map_err(|e| format!("{}: {e}", hba.display()))?;
    }
    run(
        "pg_ctlcluster",
        &["--skip-systemctl-redirect", version, "main", "start"],
    )?;
    wait_for("PostgreSQL", 5432)
}

fn mariadb() -> Result<(), String> {
    if answers(3306) {
        eprintln!("==> MariaDB answers on 127.0.0.1:3306");
        return Ok(());
    }
    if !Path::new("/etc/init.d/mariadb").exists() {
        apt_install("mariadb-server")?;
    }
    run("service", &["mariadb", "start"])?;
    wait_for("MariaDB", 3306)
}

pub fn run_all() -> Result<(), String> {
    postgres()?;
    mariadb()
}
