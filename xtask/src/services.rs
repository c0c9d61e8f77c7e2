//! `cargo xtask services`: the database servers the tests talk to — PostgreSQL on
//! 127.0.0.1:5432 (user `postgres`, trust over TCP) and MariaDB on 127.0.0.1:3306 — and the
//! ODBC driver manager with the two drivers the `odbc` source's tests use (unixODBC, psqlODBC,
//! MariaDB Connector/ODBC). Each server that does not answer is installed (Debian's packages,
//! `apt-get`) when missing and started; a PostgreSQL cluster this installs is given trust
//! authentication on 127.0.0.1, which only a test machine may have, and any cluster whose `ssl`
//! is off gets it on with Debian's snakeoil certificate (Debian's `pg_createcluster` does that
//! itself when the certificate exists). A Debian MariaDB whose TLS is off gets it on with the
//! same certificate (an option file of its own, the server restarted once). The ODBC packages
//! are installed when missing (the
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

/// The option file that turns on MariaDB's TLS, in the directory Debian's `my.cnf` includes.
const MARIADB_CONF_D: &str = "/etc/mysql/conf.d";
const MARIADB_TLS_FILE: &str = "/etc/mysql/conf.d/80-pmhlink-tls.cnf";
const MY_CNF: &str = "/etc/mysql/my.cnf";

/// MariaDB on 127.0.0.1:3306 with TLS on: installed when missing, started when it does not
/// answer, and (a Debian server, whose option files are under `/etc/mysql`) given TLS with the
/// snakeoil certificate when it has none, restarted once for it. The mysql source's
/// connections default to `tls = "require"`, so its tests need TLS on. Run again, nothing
/// changes and nothing restarts.
fn mariadb() -> Result<(), String> {
    if !answers(3306) && !Path::new("/etc/init.d/mariadb").exists() {
        apt_install("mariadb-server")?;
    }
    let running = answers(3306);
    if !Path::new(MY_CNF).exists() {
        if running {
            eprintln!(
                "==> MariaDB answers on 127.0.0.1:3306 (not Debian's: its TLS is left as it is)"
            );
            return Ok(());
        }
        return Err(format!("MariaDB is installed but {MY_CNF} is missing"));
    }
    if running {
        match mariadb_have_ssl().as_deref() {
            Some("YES") => {
                eprintln!("==> MariaDB answers on 127.0.0.1:3306 (TLS on)");
                return Ok(());
            }
            Some(_) => {}
            None => {
                eprintln!(
                    "==> MariaDB answers on 127.0.0.1:3306 (whether its TLS is on could not be asked: `mariadb -uroot` failed)"
                );
                return Ok(());
            }
        }
    }
    ensure_mariadb_tls()?;
    if running {
        stop_mariadb()?;
    }
    start_mariadb()?;
    match mariadb_have_ssl().as_deref() {
        Some("YES") => {
            eprintln!("==> MariaDB: TLS on");
            Ok(())
        }
        other => Err(format!(
            "MariaDB's have_ssl is {} with {MARIADB_TLS_FILE}: see /var/log/mysql/error.log (can the user mysql read {SNAKEOIL_KEY}?)",
            other.unwrap_or("unknown (`mariadb -uroot` failed)")
        )),
    }
}

/// Makes the server's option files give it a certificate and key when they do not (as
/// `mariadbd --print-defaults` reads them: every file and included directory), and lets the
/// server's user read the key.
fn ensure_mariadb_tls() -> Result<(), String> {
    if gives_tls(&mariadbd_defaults()?) {
        // Given, and yet off: the server has not read them, or cannot read the key.
        return run("adduser", &["mysql", "ssl-cert"]);
    }
    if !Path::new(SNAKEOIL_CERT).exists() || !Path::new(SNAKEOIL_KEY).exists() {
        if !Path::new("/usr/sbin/make-ssl-cert").exists() {
            apt_install("ssl-cert")?;
        }
        run("make-ssl-cert", &["generate-default-snakeoil"])?;
    }
    // The key is root's, readable by the group `ssl-cert`, which the server's user joins.
    run("adduser", &["mysql", "ssl-cert"])?;
    std::fs::create_dir_all(MARIADB_CONF_D).map_err(|e| format!("{MARIADB_CONF_D}: {e}"))?;
    std::fs::write(
        MARIADB_TLS_FILE,
        format!(
            "# cargo xtask services: the mysql source's TLS tests need TLS on.
[mysqld]
ssl_cert = {SNAKEOIL_CERT}
ssl_key = {SNAKEOIL_KEY}
"
        ),
    )
    .map_err(|e| format!("{MARIADB_TLS_FILE}: {e}"))?;
    if !gives_tls(&mariadbd_defaults()?) {
        // A my.cnf written by hand, without Debian's `!includedir`.
        let text = std::fs::read_to_string(MY_CNF).map_err(|e| format!("{MY_CNF}: {e}"))?;
        if includes_conf_d(&text) {
            return Err(format!(
                "{MY_CNF} includes {MARIADB_CONF_D}, yet the server does not read {MARIADB_TLS_FILE}"
            ));
        }
        let sep = if text.ends_with('\n') || text.is_empty() {
            ""
        } else {
            "\n"
        };
        std::fs::write(
            MY_CNF,
            format!("{text}{sep}!includedir {MARIADB_CONF_D}/\n"),
        )
        .map_err(|e| format!("{MY_CNF}: {e}"))?;
        if !gives_tls(&mariadbd_defaults()?) {
            return Err(format!(
                "the server does not read {MARIADB_TLS_FILE}, even with {MY_CNF} including {MARIADB_CONF_D}"
            ));
        }
    }
    eprintln!("==> MariaDB: TLS configured ({MARIADB_TLS_FILE})");
    Ok(())
}

/// The options the server would start with, as `mariadbd --print-defaults` prints them.
fn mariadbd_defaults() -> Result<String, String> {
    let out = Command::new("/usr/sbin/mariadbd")
        .arg("--print-defaults")
        .output()
        .map_err(|e| format!("/usr/sbin/mariadbd --print-defaults: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "/usr/sbin/mariadbd --print-defaults failed ({})",
            out.status
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether the server's options (`--print-defaults`) give it a certificate and a key.
fn gives_tls(defaults: &str) -> bool {
    let given = |option: &str| {
        defaults.split_whitespace().any(|a| {
            a.strip_prefix("--")
                .and_then(|a| a.split_once('='))
                .is_some_and(|(k, v)| k.replace('-', "_") == option && !v.is_empty())
        })
    };
    given("ssl_cert") && given("ssl_key")
}

/// Whether an option file's text includes Debian's `conf.d` directory.
fn includes_conf_d(text: &str) -> bool {
    text.lines().any(|l| {
        l.trim()
            .strip_prefix("!includedir")
            .is_some_and(|dir| dir.trim().trim_end_matches('/') == MARIADB_CONF_D)
    })
}

/// The server's `have_ssl` (`YES`, `DISABLED`, `NO`), asked as root over its socket (root is
/// the socket's own user on Debian), or `None` when it cannot be asked.
fn mariadb_have_ssl() -> Option<String> {
    let out = Command::new("mariadb")
        .args(["-uroot", "-N", "-B", "-e", "SELECT @@have_ssl"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Whether systemd runs this machine's services (else nothing does: a container).
fn systemd() -> bool {
    Path::new("/run/systemd/system").is_dir()
}

/// Stops the server and waits until it has (`mariadb-admin shutdown` waits for its pid file
/// to go). Sessions of tests running against it end: this happens once, when TLS is turned on.
fn stop_mariadb() -> Result<(), String> {
    if systemd() {
        run("systemctl", &["stop", "mariadb"])?;
    } else {
        run("mariadb-admin", &["-uroot", "shutdown"])?;
    }
    let started = Instant::now();
    while answers(3306) {
        if started.elapsed() > Duration::from_secs(60) {
            return Err("MariaDB did not stop within a minute".into());
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    Ok(())
}

/// Starts the server: through systemd where it runs, else `mysqld_safe` in a session of its
/// own, as Debian's init script starts it (that script also asks `debian.cnf`'s account, which
/// a server set up by hand may not have, and then reports a running server as failed).
fn start_mariadb() -> Result<(), String> {
    if systemd() {
        run("systemctl", &["start", "mariadb"])?;
    } else {
        use std::os::unix::process::CommandExt;
        use std::process::Stdio;
        let run_dir = Path::new("/run/mysqld");
        if !run_dir.is_dir() {
            run(
                "install",
                &[
                    "-m",
                    "755",
                    "-o",
                    "mysql",
                    "-g",
                    "root",
                    "-d",
                    "/run/mysqld",
                ],
            )?;
        }
        eprintln!("==> mysqld_safe (in the background)");
        Command::new("mysqld_safe")
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|e| format!("mysqld_safe: {e}"))?;
    }
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
    use super::{gives_tls, includes_conf_d, ssl_is_on};

    /// The server's options as `--print-defaults` prints them: a certificate and a key, in
    /// either spelling, both given.
    #[test]
    fn mariadb_tls_is_read_from_the_servers_options() {
        let head = "/usr/sbin/mariadbd would have been started with the following arguments:\n";
        for (options, tls) in [
            ("--user=mysql --port=3306", false),
            (
                "--user=mysql --ssl_cert=/etc/ssl/certs/a.pem --ssl_key=/etc/ssl/private/a.key",
                true,
            ),
            ("--ssl-cert=/c.pem --ssl-key=/k.key --port=3306", true),
            ("--ssl_cert=/c.pem", false),
            ("--ssl_cert= --ssl_key=/k.key", false),
            ("--skip-ssl --ssl-ca=/ca.pem", false),
        ] {
            assert_eq!(gives_tls(&format!("{head}{options} \n")), tls, "{options}");
        }
    }

    #[test]
    fn debians_conf_d_include_is_recognised() {
        for (text, included) in [
            ("[mysqld]\nport = 3306\n", false),
            ("!includedir /etc/mysql/conf.d/\n", true),
            ("[client-server]\n  !includedir /etc/mysql/conf.d\n", true),
            ("!includedir /etc/mysql/mariadb.conf.d/\n", false),
            ("# !includedir /etc/mysql/conf.d/\n", false),
        ] {
            assert_eq!(includes_conf_d(text), included, "{text:?}");
        }
    }

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
