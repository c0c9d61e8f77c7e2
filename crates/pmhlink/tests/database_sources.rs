//! Database sources through the real binary and the real plugin libraries: the same generated
//! municipality read from its CSV export and from a database holding the same rows gives
//! byte-identical payloads: SQLite (a file) and PostgreSQL (the server on 127.0.0.1:5432).

mod common;

use common::databases::{check, load_into_postgres, same_payloads_as_csv};
use common::sqlite::load_table;
use common::town::Town;

#[test]
fn a_sqlite_source_gives_the_payloads_its_csv_export_gives() {
    same_payloads_as_csv("sqlite", |town, cp932| {
        load_table(&town.subsidy(), &town.path("data/subsidy.db"), cp932, |_| "TEXT");
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
    load_table(&town.subsidy(), &town.path("data/subsidy.db"), false, |_| "TEXT");
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
