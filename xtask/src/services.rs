//! `cargo xtask services`: the database servers the tests talk to — PostgreSQL on
//! 127.0.0.1:5432 (user `postgres`, trust over TCP) and MariaDB on 127.0.0.1:3306 — and the
//! ODBC driver manager with the two drivers the `odbc` source's tests use (unixODBC, psqlODBC,
//! MariaDB Connector/ODBC). Each server that does not answer is installed (Debian's packages,
//! `apt-get`) when missing and started; a PostgreSQL cluster this installs is given trust
//! authentication on 127.0.0.1, which only a test machine may have. The ODBC packages are
//! installed when missing (the `odbc` plugin links libodbc, so they come before anything that
//! builds it). `cargo xtask ci` runs this before the lint and the tests, so a machine without
//! them gets them instead of tests that cannot run.

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
    apt_install_all(&[package])
}

fn apt_install_all(packages: &[&str]) -> Result<(), String> {
    run("apt-get", &["update", "-q"])?;
    let mut args = vec!["install", "-y", "-q"];
    args.extend_from_slice(packages);
    run("apt-get", &args)
}

/// Whether Debian's package `name` is installed (`dpkg-query` says `install ok installed`).
fn installed(name: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", name])
        .output()
        .map(|o| o.status.success() && o.stdout.ends_with(b" installed"))
        .unwrap_or(false)
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

/// The ODBC packages: unixODBC (the driver manager and its headers: the `odbc` plugin links
/// `libodbc`), psqlODBC (`psqlodbcw.so`) and MariaDB Connector/ODBC (`libmaodbc.so`). The
/// tests name the driver files in their connection strings, so nothing is registered in
/// odbcinst.ini here.
const ODBC_PACKAGES: [&str; 4] = [
    "unixodbc",
    "unixodbc-dev",
    "odbc-postgresql",
    "odbc-mariadb",
];

fn odbc() -> Result<(), String> {
    let missing: Vec<&str> = ODBC_PACKAGES
        .into_iter()
        .filter(|p| !installed(p))
        .collect();
    if missing.is_empty() {
        eprintln!("==> ODBC: {} installed", ODBC_PACKAGES.join(", "));
        return Ok(());
    }
    apt_install_all(&missing)
}

pub fn run_all() -> Result<(), String> {
    odbc()?;
    postgres()?;
    mariadb()
}
