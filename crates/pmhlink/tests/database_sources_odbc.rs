//! The `odbc` source through the real binary, the real plugin library and real drivers: the
//! same generated municipality read from its CSV export and through ODBC from a database
//! holding the same rows gives byte-identical payloads: PostgreSQL through psqlODBC's Unicode
//! driver, by a connection string and by a DSN from an odbc.ini of the test's own, and MariaDB
//! through Connector/ODBC. UTF-8 only: the CP932 paths (psqlODBC's ANSI driver on a
//! `SQL_ASCII` database, a MariaDB `latin1` connection) hand the statement to the driver in a
//! narrow encoding, and the town's Japanese column names in the query do not survive that
//! through the binary (unixODBC converts the statement for an ANSI driver by the process's
//! locale; MariaDB's `latin1` connection turns them to `?`). The plugin's own tests read CP932
//! bytes through both, with the names the conversion keeps.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::databases::{
    check, load_into_postgres, payload_bytes, same_payloads_as_csv_in, unique_name,
};
use common::town::Town;

/// A driver's library file: Debian puts them in /usr/lib/<multiarch>/odbc.
fn driver_file(name: &str) -> PathBuf {
    std::fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("odbc").join(name))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("no ODBC driver {name}: run `cargo xtask services`"))
}

/// psqlODBC's attributes for a town's database: the Unicode driver, fetching through a cursor
/// (`UseDeclareFetch=1`) 7 rows at a time.
fn psqlodbc(database: &str) -> String {
    format!(
        "Driver={{{}}};Server=127.0.0.1;Port=5432;Database={database};UID=postgres;UseDeclareFetch=1;Fetch=7",
        driver_file("psqlodbcw.so").display()
    )
}

#[test]
fn an_odbc_source_on_postgres_gives_the_payloads_its_csv_export_gives() {
    let databases = std::cell::RefCell::new(Vec::new());
    same_payloads_as_csv_in("odbc", &[false], |town, cp932| {
        let (db, query) = load_into_postgres(&town.subsidy(), cp932);
        let connection_string = psqlodbc(&db.name);
        databases.borrow_mut().push(db);
        format!("connection_string = '{connection_string}'\nquery = '{query}'\nfetch_size = 7")
    });
}

#[test]
fn an_odbc_source_by_dsn_gives_the_payloads_its_csv_export_gives() {
    let from_csv = Town::new(120, 43, 50);
    let first = from_csv.run("2025-06-02", &[]);
    assert_eq!(first.status, 0, "{}{}", first.stdout, first.stderr);
    let expected = payload_bytes(&from_csv);
    let from_db = from_csv.fresh_copy();
    let (db, query) = load_into_postgres(&from_db.subsidy(), false);
    // The data source lives in an odbc.ini of the town's own, named by ODBCINI.
    let ini = from_db.path("odbc.ini");
    std::fs::write(
        &ini,
        format!(
            "[PMHLINK_TOWN]\nDriver = {}\nServername = 127.0.0.1\nPort = 5432\nDatabase = {}\nUsername = postgres\nUseDeclareFetch = 1\n",
            driver_file("psqlodbcw.so").display(),
            db.name
        ),
    )
    .unwrap();
    from_db.edit_pipeline(
        "plugin = \"csv\"\nprimary = true",
        "plugin = \"odbc\"\nprimary = true",
    );
    from_db.edit_pipeline(
        "path = \"data/subsidy.csv\"\nencoding = \"cp932\"         # \"cp932\" | \"utf-8\"\nheader = true",
        &format!("dsn = \"PMHLINK_TOWN\"\nquery = '{query}'\n#"),
    );
    let mut check = common::pmhlink();
    check.arg("check").arg(from_db.path("pipeline.toml"));
    let check = common::run(check.env("ODBCINI", &ini));
    assert_eq!(check.status, 0, "{}{}", check.stdout, check.stderr);
    let mut run = from_db.command("run", "2025-06-02", &[]);
    let run = common::run(run.env("ODBCINI", &ini));
    assert_eq!(run.status, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(payload_bytes(&from_db), expected, "the same bytes");
    // Without the odbc.ini the data source is unknown: a configuration error at `dsn`.
    let check = check_without_ini(&from_db);
    assert_eq!(check.status, 2, "{}{}", check.stdout, check.stderr);
    let out = format!("{}{}", check.stdout, check.stderr);
    assert!(out.contains("dsn"), "{out}");
    assert!(
        !out.contains("PMHLINK_TOWN"),
        "the DSN is not repeated: {out}"
    );
    drop(db);
}

fn check_without_ini(town: &Town) -> common::Run {
    let mut cmd = common::pmhlink();
    cmd.arg("check")
        .arg(town.path("pipeline.toml"))
        .env("ODBCINI", town.path("no-such-odbc.ini"));
    common::run(&mut cmd)
}

/// A MariaDB database of the test's own on the server at 127.0.0.1:3306, made and dropped with
/// the server's own client (`mariadb`, installed with the server).
struct MariaDb {
    name: String,
}

fn mariadb(sql: &str) {
    let mut child = Command::new("mariadb")
        .args(["-h", "127.0.0.1", "-P", "3306", "-u", "root", "--batch"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("the mariadb client (installed with the server: `cargo xtask services`)");
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(sql.as_bytes())
        .unwrap();
    assert!(
        child.wait().unwrap().success(),
        "mariadb ran the statements"
    );
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        let _ =
            std::panic::catch_unwind(move || mariadb(&format!("DROP DATABASE IF EXISTS {name};")));
    }
}

/// The subsidy export's rows as a table `subsidy` of text columns named by its header (and an
/// ordinal `pmhlink_ord`) in a new utf8mb4 MariaDB database; the query that reads them.
fn load_into_mariadb(rows: &[Vec<String>]) -> (MariaDb, String) {
    let db = MariaDb {
        name: unique_name("maria"),
    };
    let header = &rows[0];
    let quoted: Vec<String> = header.iter().map(|h| format!("`{h}`")).collect();
    let columns: Vec<String> = quoted.iter().map(|q| format!("{q} text")).collect();
    let hex = |s: &str| -> String {
        let h: String = s.bytes().map(|b| format!("{b:02X}")).collect();
        if h.is_empty() {
            "''".to_owned()
        } else {
            format!("CONVERT(X'{h}' USING utf8mb4)")
        }
    };
    let mut sql = format!(
        "SET NAMES utf8mb4;\nCREATE DATABASE {0} CHARACTER SET utf8mb4;\nUSE {0};\nCREATE TABLE subsidy (pmhlink_ord int, {1});\n",
        db.name,
        columns.join(", ")
    );
    for (i, row) in rows[1..].iter().enumerate() {
        let cells: Vec<String> = row.iter().map(|c| hex(c)).collect();
        sql.push_str(&format!(
            "INSERT INTO subsidy VALUES ({i}, {});\n",
            cells.join(", ")
        ));
    }
    mariadb(&sql);
    let query = format!(
        "SELECT {} FROM subsidy ORDER BY pmhlink_ord",
        quoted.join(", ")
    );
    (db, query)
}

#[test]
fn an_odbc_source_on_mariadb_gives_the_payloads_its_csv_export_gives() {
    let databases = std::cell::RefCell::new(Vec::new());
    same_payloads_as_csv_in("odbc", &[false], |town, _| {
        let (db, query) = load_into_mariadb(&town.subsidy());
        let connection_string = format!(
            "Driver={{{}}};Server=127.0.0.1;Port=3306;Database={};UID=root;NO_CACHE=1",
            driver_file("libmaodbc.so").display(),
            db.name
        );
        databases.borrow_mut().push(db);
        format!("connection_string = '{connection_string}'\nquery = '{query}'\nfetch_size = 7")
    });
}

#[test]
fn check_names_the_odbc_failure_by_its_key() {
    let town = Town::new(20, 44, 100);
    town.edit_pipeline(
        "plugin = \"csv\"\nprimary = true",
        "plugin = \"odbc\"\nprimary = true",
    );
    town.edit_pipeline(
        "path = \"data/subsidy.csv\"\nencoding = \"cp932\"         # \"cp932\" | \"utf-8\"\nheader = true",
        &format!(
            "connection_string = '{}'\nquery = \"SELECT 1 AS a\"\npassword = \"secret-pw\"\n#",
            psqlodbc("pmhlink_no_such_db")
        ),
    );
    let check = check(&town);
    let out = format!("{}{}", check.stdout, check.stderr);
    assert_ne!(check.status, 0, "{out}");
    assert!(out.contains("connection_string"), "{out}");
    for secret in ["secret-pw", "pmhlink_no_such_db", "127.0.0.1", "psqlodbcw"] {
        assert!(!out.contains(secret), "{secret} repeated: {out}");
    }
}
