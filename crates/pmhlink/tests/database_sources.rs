//! Database sources through the real binary and the real plugin libraries: the same generated
//! municipality read from its CSV export and from a database holding the same rows gives
//! byte-identical payloads: SQLite (a file) and PostgreSQL (the server on 127.0.0.1:5432).

mod common;

use std::path::Path;

use common::town::{Town, payloads};

/// A cell's bytes as a database holds them: UTF-8, or CP932 as old systems store it.
fn stored(cell: &str, cp932: bool) -> Vec<u8> {
    if cp932 {
        encoding_rs::SHIFT_JIS.encode(cell).0.into_owned()
    } else {
        cell.as_bytes().to_vec()
    }
}

/// The subsidy export's rows as a table `subsidy` of TEXT columns named by its header, in a
/// SQLite file, the text stored as UTF-8 or (as old systems do) as CP932 bytes.
fn load_into_sqlite(rows: &[Vec<String>], db: &Path, cp932: bool) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let header = &rows[0];
    let columns: Vec<String> = header.iter().map(|h| format!("\"{h}\" TEXT")).collect();
    conn.execute_batch(&format!("CREATE TABLE subsidy ({})", columns.join(", ")))
        .unwrap();
    let slots: Vec<String> = (1..=header.len())
        .map(|i| format!("CAST(?{i} AS TEXT)"))
        .collect();
    let insert = format!("INSERT INTO subsidy VALUES ({})", slots.join(", "));
    let tx = conn.unchecked_transaction().unwrap();
    {
        let mut stmt = tx.prepare(&insert).unwrap();
        for row in &rows[1..] {
            let cells: Vec<Vec<u8>> = row.iter().map(|c| stored(c, cp932)).collect();
            stmt.execute(rusqlite::params_from_iter(cells.iter()))
                .unwrap();
        }
    }
    tx.commit().unwrap();
}

fn check(town: &Town) -> common::Run {
    common::run(
        common::pmhlink()
            .arg("check")
            .arg(town.path("pipeline.toml")),
    )
}

fn payload_bytes(town: &Town) -> Vec<(String, Vec<u8>)> {
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

/// A PostgreSQL database of the test's own on the server at 127.0.0.1:5432 (`cargo xtask
/// services` installs and starts one where it is missing), dropped when it goes out of scope.
struct PgDb {
    name: String,
}

fn pg_admin(database: &str) -> postgres::Client {
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
fn load_into_postgres(rows: &[Vec<String>], cp932: bool) -> (PgDb, String) {
    let name = format!(
        "pmhlink_e2e_{}_{}",
        std::process::id(),
        if cp932 { "cp932" } else { "utf8" }
    );
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
fn same_payloads_as_csv(plugin: &str, load: impl Fn(&Town, bool) -> String) {
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

#[test]
fn a_sqlite_source_gives_the_payloads_its_csv_export_gives() {
    same_payloads_as_csv("sqlite", |town, cp932| {
        load_into_sqlite(&town.subsidy(), &town.path("data/subsidy.db"), cp932);
        "url = \"data/subsidy.db\"\nquery = \"SELECT * FROM subsidy ORDER BY rowid\"".to_owned()
    });
}

#[test]
fn a_postgres_source_gives_the_payloads_its_csv_export_gives() {
    let databases = std::cell::RefCell::new(Vec::new());
    same_payloads_as_csv("postgres", |town, cp932| {
        let (db, query) = load_into_postgres(&town.subsidy(), cp932);
        let url = format!("postgres://postgres@127.0.0.1:5432/{}", db.name);
        databases.borrow_mut().push(db);
        format!("url = \"{url}\"\nquery = '{query}'\nfetch_size = 7")
    });
}

#[test]
fn a_column_the_mapping_names_that_the_query_does_not_return_is_caught_by_check() {
    let town = Town::new(20, 42, 100);
    load_into_sqlite(&town.subsidy(), &town.path("data/subsidy.db"), false);
    town.edit_pipeline(
        "plugin = \"csv\"\nprimary = true",
        "plugin = \"sqlite\"\nprimary = true",
    );
    town.edit_pipeline(
        "path = \"data/subsidy.csv\"\nencoding = \"cp932\"         # \"cp932\" | \"utf-8\"\nheader = true",
        "url = \"data/subsidy.db\"\nquery = \"SELECT 宛名番号, 制度コード FROM subsidy\"\n#",
    );
    let check = check(&town);
    assert_eq!(check.status, 2, "{}{}", check.stdout, check.stderr);
    let out = format!("{}{}", check.stdout, check.stderr);
    assert!(
        out.contains("source `subsidy` has no column `公費負担者番号`"),
        "names the source and the column: {out}"
    );
    let run = town.run("2025-06-02", &[]);
    assert_eq!(run.status, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        !town.path("outbox").exists() || town.run_folders().0.is_empty(),
        "nothing sent"
    );
}
