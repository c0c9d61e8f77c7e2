//! `cargo xtask services`: the database servers the tests talk to — PostgreSQL on
//! 127.0.0.1:5432 (user `postgres`, trust over TCP) and MariaDB on 127.0.0.1:3306 — and the
//! ODBC driver manager with the two drivers the `odbc` source's tests use (unixODBC, psqlODBC,
//! MariaDB Connector/ODBC). Each server that does not answer is installed (Debian's packages,
//! `apt-get`) when missing and started; a PostgreSQL cluster this installs is given trust
//! authentication on 127.0.0.1, which only a test machine may have, and any cluster whose `ssl`
//! is off gets it on with Debian's snakeoil certificate (Debian's `pg_createcluster` does that
//! itself when the certificate exists). The ODBC packages are installed when missing (the
//! `odbc` plugin links libodbc, so they come before anything that builds it). `cargo xtask ci`
//! runs this before the lint and the tests, so a machine without them gets them instead of
//! tests that cannot run.

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
    let clusters = Path::new("/etc/postgresql");
    let running = answers(5432);
    if running && !clusters.is_dir() {
        eprintln!(
            "==> PostgreSQL answers on 127.0.0.1:5432 (not a Debian cluster: its `ssl` is left as it is)"
        );
        return Ok(());
    }
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
    let config = clusters.join(version).join("main");
    let tls_changed = ensure_tls(&config)?;
    if running {
        if tls_changed {
            // `ssl` and its files take effect on a reload; sessions are not ended.
            run(
                "pg_ctlcluster",
                &["--skip-systemctl-redirect", version, "main", "reload"],
            )?;
        }
        eprintln!("==> PostgreSQL answers on 127.0.0.1:5432");
        return Ok(());
    }
    // The tests connect as `postgres` over TCP without a password.
    let hba = config.join("pg_hba.conf");
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

/// Debian's certificate for a machine's own services, which `pg_createcluster` gives a new
/// cluster (with `ssl = on`) when it exists and the `postgres` user may read its key.
const SNAKEOIL_CERT: &str = "/etc/ssl/certs/ssl-cert-snakeoil.pem";
const SNAKEOIL_KEY: &str = "/etc/ssl/private/ssl-cert-snakeoil.key";

/// Turns on the cluster's TLS with Debian's snakeoil certificate when its configuration leaves
/// `ssl` off (a cluster made before the certificate existed, or by hand): the postgres
/// source's TLS tests need it. Debian's packages normally do this themselves; returns whether
/// anything was changed.
fn ensure_tls(config: &Path) -> Result<bool, String> {
    if ssl_is_on(config)? {
        return Ok(false);
    }
    if !Path::new(SNAKEOIL_CERT).exists() || !Path::new(SNAKEOIL_KEY).exists() {
        if !Path::new("/usr/sbin/make-ssl-cert").exists() {
            apt_install("ssl-cert")?;
        }
        run("make-ssl-cert", &["generate-default-snakeoil"])?;
    }
    // The key is root's, readable by the group `ssl-cert`, which the server's user joins.
    run("adduser", &["postgres", "ssl-cert"])?;
    let file = config.join("conf.d/80-pmhlink-tls.conf");
    std::fs::write(
        &file,
        format!(
            "# cargo xtask services: the postgres source's TLS tests need TLS on.\nssl = on\nssl_cert_file = '{SNAKEOIL_CERT}'\nssl_key_file = '{SNAKEOIL_KEY}'\n"
        ),
    )
    .map_err(|e| format!("{}: {e}", file.display()))?;
    eprintln!("==> PostgreSQL: ssl turned on ({})", file.display());
    Ok(true)
}

/// Whether the last `ssl` setting of `postgresql.conf` and then of `conf.d/*.conf` (in name
/// order, as the server reads them) turns TLS on.
fn ssl_is_on(config: &Path) -> Result<bool, String> {
    let mut files = vec![config.join("postgresql.conf")];
    if let Ok(dir) = std::fs::read_dir(config.join("conf.d")) {
        let mut extra: Vec<_> = dir
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "conf"))
            .collect();
        extra.sort();
        files.extend(extra);
    }
    let mut on = false;
    for file in files {
        let text =
            std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("");
            let Some((key, value)) = line.split_once('=').or_else(|| line.trim().split_once(' '))
            else {
                continue;
            };
            if key.trim() == "ssl" {
                let value = value.trim().trim_matches('\'').to_ascii_lowercase();
                on = matches!(value.as_str(), "on" | "true" | "yes" | "1");
            }
        }
    }
    Ok(on)
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

#[cfg(test)]
mod tests {
    use super::ssl_is_on;

    /// The last `ssl` line wins, `conf.d` after `postgresql.conf`, in name order; comments
    /// and the sample's commented-out default do not count.
    #[test]
    fn ssl_is_read_as_the_server_reads_it() {
        let dir = std::env::temp_dir().join(format!("pmhlink-xtask-ssl-{}", std::process::id()));
        let conf_d = dir.join("conf.d");
        std::fs::create_dir_all(&conf_d).unwrap();
        type Files<'a> = &'a [(&'a str, &'a str)];
        let cases: [(&str, Files<'_>, bool); 5] = [
            ("#ssl = off\n", &[], false),
            ("ssl = on  # Debian's\n", &[], true),
            ("ssl = on\n", &[("90-ci.conf", "ssl = 'off'\n")], false),
            (
                "ssl = off\n",
                &[("20-a.conf", "ssl = true\n"), ("10-b.conf", "ssl = off\n")],
                true,
            ),
            ("ssl on\n", &[("note.txt", "ssl = off\n")], true),
        ];
        for (main, extra, on) in cases {
            for entry in std::fs::read_dir(&conf_d).unwrap() {
                std::fs::remove_file(entry.unwrap().path()).unwrap();
            }
            std::fs::write(dir.join("postgresql.conf"), main).unwrap();
            for (name, text) in extra {
                std::fs::write(conf_d.join(name), text).unwrap();
            }
            assert_eq!(ssl_is_on(&dir).unwrap(), on, "{main:?} {extra:?}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
