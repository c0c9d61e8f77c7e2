//! Database sources through the real binary and the real plugin libraries: the same generated
//! municipality read from its CSV export and from a database holding the same rows gives
//! byte-identical payloads. Today the sqlite source; a server database joins with its plugin.

mod common;

use std::path::Path;

use common::town::{Town, payloads};

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
            let cells: Vec<Vec<u8>> = row
                .iter()
                .map(|c| {
                    if cp932 {
                        encoding_rs::SHIFT_JIS.encode(c).0.into_owned()
                    } else {
                        c.as_bytes().to_vec()
                    }
                })
                .collect();
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

#[test]
fn a_sqlite_source_gives_the_payloads_its_csv_export_gives() {
    let from_csv = Town::new(300, 41, 100);
    let first = from_csv.run("2025-06-02", &[]);
    assert_eq!(first.status, 0, "{}{}", first.stdout, first.stderr);
    let expected = payload_bytes(&from_csv);
    assert!(expected.len() >= 2, "several payload files");
    for cp932 in [false, true] {
        let from_db = from_csv.fresh_copy();
        load_into_sqlite(&from_csv.subsidy(), &from_db.path("data/subsidy.db"), cp932);
        let encoding = if cp932 { "cp932" } else { "utf-8" };
        from_db.edit_pipeline(
            "plugin = \"csv\"\nprimary = true",
            "plugin = \"sqlite\"\nprimary = true",
        );
        from_db.edit_pipeline(
            "path = \"data/subsidy.csv\"\nencoding = \"cp932\"         # \"cp932\" | \"utf-8\"\nheader = true",
            &format!(
                "url = \"data/subsidy.db\"\nencoding = \"{encoding}\"\nquery = \"SELECT * FROM subsidy ORDER BY rowid\"\n#"
            ),
        );
        let check = check(&from_db);
        assert_eq!(check.status, 0, "{}{}", check.stdout, check.stderr);
        let run = from_db.run("2025-06-02", &[]);
        assert_eq!(run.status, 0, "{encoding}: {}{}", run.stdout, run.stderr);
        assert_eq!(
            payload_bytes(&from_db),
            expected,
            "{encoding}: the same bytes"
        );
    }
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
