//! `pmhlink check` on a database source: an identifier the mapping reads (受給者番号, a join's
//! 宛名番号, …) that the database holds as a number has lost its leading zeros, and check says
//! so, naming the source, the column and the key that reads it — and nothing of the data.

mod common;

use common::town::Town;

/// The town's subsidy export in a SQLite table whose columns `declared` types, read by the
/// `sqlite` plugin instead of the CSV file.
fn town_on_sqlite(declared: impl Fn(&str) -> &'static str) -> Town {
    let town = Town::new(20, 43, 100);
    common::sqlite::load_table(
        &town.subsidy(),
        &town.path("data/subsidy.db"),
        false,
        declared,
    );
    town.edit_pipeline(
        "plugin = \"csv\"\nprimary = true",
        "plugin = \"sqlite\"\nprimary = true",
    );
    town.edit_pipeline(
        "path = \"data/subsidy.csv\"\nencoding = \"cp932\"         # \"cp932\" | \"utf-8\"\nheader = true",
        "url = \"data/subsidy.db\"\nquery = \"SELECT * FROM subsidy ORDER BY rowid\"\n#",
    );
    town
}

fn check(town: &Town) -> common::Run {
    common::run(
        common::pmhlink()
            .arg("check")
            .arg(town.path("pipeline.toml")),
    )
}

#[test]
fn identifiers_held_as_numbers_are_warned_of_by_check() {
    let town = town_on_sqlite(|column| match column {
        "受給者番号" => "INTEGER",
        "宛名番号" => "BIGINT",
        "公費負担者番号" => "NUMERIC(8)",
        // Numbers that are amounts, not identifiers: no warning.
        "月額上限額" => "INTEGER",
        _ => "TEXT",
    });
    let out = check(&town);
    assert_eq!(
        out.status, 0,
        "a warning, not a failure: {}{}",
        out.stdout, out.stderr
    );
    let warnings: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("warn "))
        .collect();
    let expected = [
        ("受給者番号", "mapping.recipient_number", "integer"),
        ("公費負担者番号", "mapping.insurer_number", "decimal"),
        ("宛名番号", "joins[0].left", "integer"),
        ("宛名番号", "joins[1].left", "integer"),
    ];
    for (column, key, ty) in expected {
        let said = format!("source subsidy column `{column}` ({key}) is held as a number ({ty})");
        assert!(
            warnings.iter().any(|w| w.contains(&said)),
            "{said}\nin:\n{}",
            out.stdout
        );
    }
    assert_eq!(warnings.len(), expected.len(), "{}", out.stdout);
    assert!(warnings.iter().all(|w| w.contains("leading zeros")));
    // Only names: no cell of the table.
    let subsidy = town.subsidy();
    for row in &subsidy[1..] {
        for cell in row.iter().filter(|c| c.len() >= 4) {
            assert!(
                !out.stdout.contains(cell.as_str()),
                "a value in check's output"
            );
        }
    }
}

#[test]
fn text_columns_and_file_sources_give_no_warning() {
    let on_text = town_on_sqlite(|_| "TEXT");
    let from_file = Town::new(20, 43, 100);
    for town in [&on_text, &from_file] {
        let out = check(town);
        assert_eq!(out.status, 0, "{}{}", out.stdout, out.stderr);
        assert!(out.stdout.contains("ok  mapping"), "{}", out.stdout);
        assert!(!out.stdout.contains("warn "), "{}", out.stdout);
    }
}
