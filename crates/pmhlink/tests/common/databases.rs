//! What every database source's end-to-end test shares: a town's `check` and payload bytes,
//! a PostgreSQL database of the test's own, and the comparison of a database source's
//! payloads with those its CSV export gives.

use super::sqlite::stored;
use super::town::{Town, payloads};

pub fn check(town: &Town) -> super::Run {
    super::run(
        super::pmhlink()
            .arg("check")
            .arg(town.path("pipeline.toml")),
    )
}

pub fn payload_bytes(town: &Town) -> Vec<(String, Vec<u8>)> {
    let (runs, partial) = town.run_folders();
    assert!(!partial);
    assert_eq!(runs.len(), 1, "{runs:?}");
    let run = town.path("outbox").join(runs.first().unwrap());
    payloads(&run)
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect()
}

/// A database name no other test (of this or another process) uses at the same time.
pub fn unique_name(tag: &str) -> String {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("pmhlink_e2e_{}_{n}_{tag}", std::process::id())
}

/// A PostgreSQL database of the test's own on the server at 127.0.0.1:5432 (`cargo xtask
/// services` installs and starts one where it is missing), dropped when it goes out of scope.
pub struct PgDb {
    pub name: String,
}

pub fn pg_admin(database: &str) -> postgres::Client {
    postgres::Client::connect(
        &format!("host=127.0.0.1 port=5432 user=postgres dbname={database} connect_timeout=10"),
        postgres::NoTls,
    )
    .unwrap_or_else(|e| {
        panic!("no PostgreSQL server on 127.0.0.1:5432 ({e}): run `cargo xtask services`")
    })
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let _ = pg_admin("postgres").batch_execute(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}

/// The subsidy export's rows as a table `subsidy` of text columns named by its header (and an
/// ordinal `pmhlink_ord`) in a new PostgreSQL database: UTF-8, or (as old systems do) CP932
/// bytes in a `SQL_ASCII` database. Returns the database and the query that reads the rows.
pub fn load_into_postgres(rows: &[Vec<String>], cp932: bool) -> (PgDb, String) {
    let name = unique_name(if cp932 { "cp932" } else { "utf8" });
    let (encoding, stored_as) = if cp932 {
        ("SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C", "SQL_ASCII")
    } else {
        ("UTF8", "UTF8")
    };
    let mut admin = pg_admin("postgres");
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .unwrap();
    admin
        .batch_execute(&format!(
            "CREATE DATABASE {name} TEMPLATE template0 ENCODING '{encoding}'"
        ))
        .unwrap();
    let db = PgDb { name };
    let mut client = pg_admin(&db.name);
    let header = &rows[0];
    let quoted: Vec<String> = header.iter().map(|h| format!("\"{h}\"")).collect();
    let columns: Vec<String> = quoted.iter().map(|q| format!("{q} text")).collect();
    client
        .batch_execute(&format!(
            "CREATE TABLE subsidy (pmhlink_ord int, {})",
            columns.join(", ")
        ))
        .unwrap();
    // Each cell as bytes, stored as text without conversion (a SQL_ASCII database keeps them).
    let slots: Vec<String> = (2..=header.len() + 1)
        .map(|i| format!("convert_from(${i}, '{stored_as}')"))
        .collect();
    let mut tx = client.transaction().unwrap();
    let insert = tx
        .prepare(&format!(
            "INSERT INTO subsidy VALUES ($1, {})",
            slots.join(", ")
        ))
        .unwrap();
    for (i, row) in rows[1..].iter().enumerate() {
        let ord = i32::try_from(i).unwrap();
        let cells: Vec<Vec<u8>> = row.iter().map(|c| stored(c, cp932)).collect();
        let mut params: Vec<&(dyn postgres::types::ToSql + Sync)> = vec![&ord];
        params.extend(
            cells
                .iter()
                .map(|c| c as &(dyn postgres::types::ToSql + Sync)),
        );
        tx.execute(&insert, &params).unwrap();
    }
    tx.commit().unwrap();
    let query = format!(
        "SELECT {} FROM subsidy ORDER BY pmhlink_ord",
        quoted.join(", ")
    );
    (db, query)
}

/// The town read from its CSV export, then from each database `load` fills (returning the
/// source's settings lines for the pipeline file), gives the same payload bytes.
pub fn same_payloads_as_csv(plugin: &str, load: impl Fn(&Town, bool) -> String) {
    let from_csv = Town::new(300, 41, 100);
    let first = from_csv.run("2025-06-02", &[]);
    assert_eq!(first.status, 0, "{}{}", first.stdout, first.stderr);
    let expected = payload_bytes(&from_csv);
    assert!(expected.len() >= 2, "several payload files");
    for cp932 in [false, true] {
        let from_db = from_csv.fresh_copy();
        let settings = load(&from_db, cp932);
        let encoding = if cp932 { "cp932" } else { "utf-8" };
        from_db.edit_pipeline(
            "plugin = \"csv\"\nprimary = true",
            &format!("plugin = \"{plugin}\"\nprimary = true"),
        );
        from_db.edit_pipeline(
            "path = \"data/subsidy.csv\"\nencoding = \"cp932\"         # \"cp932\" | \"utf-8\"\nheader = true",
            &format!("{settings}\nencoding = \"{encoding}\"\n#"),
        );
        let check = check(&from_db);
        assert_eq!(check.status, 0, "{}{}", check.stdout, check.stderr);
        let run = from_db.run("2025-06-02", &[]);
        assert_eq!(run.status, 0, "{encoding}: {}{}", run.stdout, run.stderr);
        assert_eq!(
            payload_bytes(&from_db),
            expected,
            "{plugin}, {encoding}: the same bytes"
        );
    }
}

