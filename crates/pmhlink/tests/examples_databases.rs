//! The quick start's database variants through the real binary and the real plugins: on a
//! generated town (with defects), `examples/sakurano/pipeline-sqlite.toml` (the resident
//! registry from the SQLite database the generator writes) and
//! `examples/sakurano/pipeline-postgres.toml` (the subsidy rows from a PostgreSQL table loaded
//! by the code `cargo xtask gen --postgres` runs) pass `check` and deliver exactly the payload
//! files of the file pipeline; and they differ from it only where they read and write.

mod common;

use std::path::Path;

use common::databases::{PgDb, payload_bytes, pg_admin, unique_name};
use common::town::{Town, payloads};
use common::{Run, pmhlink, run};
use pmhlink_synth::files::{RESIDENTS_SQLITE, write_dir};
use pmhlink_synth::{ResidentsSqlite, Synth, SynthConfig};

const FILE_EXAMPLE: &str = include_str!("../../../examples/sakurano/pipeline.toml");
const SQLITE_EXAMPLE: &str = include_str!("../../../examples/sakurano/pipeline-sqlite.toml");
const POSTGRES_EXAMPLE: &str = include_str!("../../../examples/sakurano/pipeline-postgres.toml");

const CERTIFICATES: u64 = 300;
const SEED: u64 = 43;
const BATCH: usize = 100;
const DIRTY: f64 = 0.05;
const DATE: &str = "2025-06-02";

/// The configuration `Town::with_defects` generates its town from.
fn synth() -> Synth {
    Synth::new(SynthConfig {
        seed: SEED,
        certificates: CERTIFICATES,
        dirty: DIRTY,
        ..SynthConfig::default()
    })
}

/// A town with its resident registry as `data/residents.sqlite`, written as `cargo xtask gen`
/// writes it (an extra sink of the same stream); the exports of that stream are the town's own,
/// byte for byte, so the registry holds the town's residents.
fn town() -> Town {
    let town = Town::with_defects(CERTIFICATES, SEED, BATCH, DIRTY);
    let again = tempfile::tempdir().unwrap();
    let mut registry = ResidentsSqlite::create(&again.path().join(RESIDENTS_SQLITE)).unwrap();
    write_dir(&synth(), again.path(), &mut [&mut registry]).unwrap();
    for name in ["subsidy.csv", "residents.dat"] {
        assert_eq!(
            std::fs::read(again.path().join(name)).unwrap(),
            std::fs::read(town.path("data").join(name)).unwrap(),
            "{name}: the same town"
        );
    }
    let dat = std::fs::read(town.path("data/residents.dat")).unwrap();
    let records = dat
        .split(|&b| b == b'\n')
        .filter(|l| l.first() == Some(&b'D'));
    assert_eq!(registry.count(), records.count() as u64, "row for row");
    std::fs::copy(
        again.path().join(RESIDENTS_SQLITE),
        town.path("data").join(RESIDENTS_SQLITE),
    )
    .unwrap();
    town
}

/// The example pipeline `text` as the town's file `name`, with the town's small profile (so a
/// run has several payload files) and the text edits `edits` (from, to).
fn install(town: &Town, name: &str, text: &str, edits: &[(&str, &str)]) {
    let mut text = text.replacen(
        "# path = \"profiles/pmh.toml\"",
        "path = \"small.toml\" #",
        1,
    );
    for (from, to) in edits {
        assert!(text.contains(from), "{name} has no `{from}`");
        text = text.replacen(from, to, 1);
    }
    assert!(
        text.contains("path = \"small.toml\""),
        "{name} names its profile"
    );
    std::fs::write(town.path(name), text).unwrap();
}

fn pmhlink_in(town: &Town, args: &[&str], pipeline: &str, env: &[(&str, Option<&str>)]) -> Run {
    let mut cmd = pmhlink();
    cmd.arg(args[0]).arg(town.path(pipeline)).args(&args[1..]);
    for (k, v) in env {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    run(&mut cmd)
}

/// The payload files the one run in `outbox` delivered, by name (the manifest aside: it names
/// the run, and the run id names the pipeline file).
fn delivered(outbox: &Path) -> Vec<(String, Vec<u8>)> {
    let runs: Vec<_> = std::fs::read_dir(outbox)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(runs.len(), 1, "one run, no partial folder: {runs:?}");
    payloads(&runs[0])
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect()
}

/// The file pipeline's run of the town: its exit status and payload files.
fn file_run(town: &Town) -> (i32, Vec<(String, Vec<u8>)>) {
    let first = town.run(DATE, &[]);
    assert_eq!(
        first.status, 3,
        "defects quarantined: {}{}",
        first.stdout, first.stderr
    );
    let files = payload_bytes(town);
    assert!(files.len() >= 2, "several payload files");
    (first.status, files)
}

/// `check`, then the day's run, of the variant `pipeline`: its status and payload files.
fn variant_run(
    town: &Town,
    pipeline: &str,
    outbox: &str,
    env: &[(&str, Option<&str>)],
) -> (i32, Vec<(String, Vec<u8>)>) {
    let check = pmhlink_in(town, &["check"], pipeline, env);
    assert_eq!(
        check.status, 0,
        "{pipeline}: {}{}",
        check.stdout, check.stderr
    );
    let ran = pmhlink_in(town, &["run", "--date", DATE, "--quiet"], pipeline, env);
    assert!(
        ran.status == 0 || ran.status == 3,
        "{pipeline}: {}{}",
        ran.stdout,
        ran.stderr
    );
    (ran.status, delivered(&town.path(outbox)))
}

#[test]
fn the_sqlite_example_delivers_the_payloads_of_the_file_example() {
    let town = town();
    let expected = file_run(&town);
    install(&town, "pipeline-sqlite.toml", SQLITE_EXAMPLE, &[]);
    let got = variant_run(&town, "pipeline-sqlite.toml", "outbox-sqlite", &[]);
    assert_eq!(got.0, expected.0, "the same exit status");
    assert!(got.1 == expected.1, "the same payload files, byte for byte");
}

/// A UTF-8 database of the test's own on the server at 127.0.0.1:5432.
fn own_database() -> PgDb {
    let name = unique_name("example");
    pg_admin("postgres")
        .batch_execute(&format!(
            "CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'"
        ))
        .unwrap();
    PgDb { name }
}

#[test]
fn the_postgres_example_delivers_the_payloads_of_the_file_example() {
    let town = town();
    let expected = file_run(&town);
    let db = own_database();
    let mut client = pg_admin(&db.name);
    let csv_rows = town.subsidy().len() as u64 - 1;
    // Twice, as a second `cargo xtask gen --postgres` would: the table is replaced, not added to.
    for _ in 0..2 {
        let loaded = pmhlink_synth::postgres::load_subsidy(&mut client, &synth()).unwrap();
        assert_eq!(loaded, csv_rows, "the rows of subsidy.csv");
    }
    let count: i64 = client
        .query_one("SELECT count(*) FROM 助成履歴", &[])
        .unwrap()
        .get(0);
    assert_eq!(count as u64, csv_rows, "loading again replaced the table");
    drop(client);

    install(
        &town,
        "pipeline-postgres.toml",
        POSTGRES_EXAMPLE,
        &[(
            "url = \"postgres://postgres@127.0.0.1:5432/sakurano\"",
            &format!("url = \"postgres://postgres@127.0.0.1:5432/{}\"", db.name),
        )],
    );
    // The server trusts local connections: the variable must be set, its value is not asked for.
    let password = [("PGPASSWORD", Some("generated-not-a-secret"))];
    let got = variant_run(
        &town,
        "pipeline-postgres.toml",
        "outbox-postgres",
        &password,
    );
    assert_eq!(got.0, expected.0, "the same exit status");
    assert!(got.1 == expected.1, "the same payload files, byte for byte");

    // Without the variable the file is refused before anything is read, naming key and variable.
    let unset = pmhlink_in(
        &town,
        &["check"],
        "pipeline-postgres.toml",
        &[("PGPASSWORD", None)],
    );
    assert_eq!(unset.status, 2, "{}{}", unset.stdout, unset.stderr);
    let out = format!("{}{}", unset.stdout, unset.stderr);
    assert!(
        out.contains("PGPASSWORD") && out.contains("sources.subsidy.config.password"),
        "names the variable and the key: {out}"
    );
}

fn parse(text: &str) -> toml::Table {
    toml::from_str(text).unwrap()
}

fn at<'t>(table: &'t toml::Table, path: &[&str]) -> &'t toml::Value {
    path[1..].iter().fold(&table[path[0]], |v, k| &v[*k])
}

/// An example without what a variant may change: its sources, the drop folder, the reports
/// folder and the ledger's files.
fn rest(example: &toml::Table) -> toml::Table {
    let mut t = example.clone();
    t.remove("sources");
    t.remove("report");
    for sink in t["sinks"].as_array_mut().unwrap() {
        sink["config"].as_table_mut().unwrap().remove("dir");
    }
    let ledger = t["ledger"].as_table_mut().unwrap();
    ledger.remove("path");
    ledger.remove("key_file");
    t
}

#[test]
fn the_database_examples_differ_from_the_file_example_only_where_they_read_and_write() {
    let file = parse(FILE_EXAMPLE);
    let sqlite = parse(SQLITE_EXAMPLE);
    let postgres = parse(POSTGRES_EXAMPLE);
    for path in [
        &["sinks"][..],
        &["report", "dir"],
        &["ledger", "path"],
        &["ledger", "key_file"],
    ] {
        let values = [at(&file, path), at(&sqlite, path), at(&postgres, path)];
        assert!(
            values[0] != values[1] && values[0] != values[2] && values[1] != values[2],
            "{path:?}: each variant has its own, so they never share a ledger"
        );
    }
    assert!(
        rest(&sqlite) == rest(&file),
        "pipeline-sqlite.toml: the same mapping, rules, …"
    );
    assert!(
        rest(&postgres) == rest(&file),
        "pipeline-postgres.toml: the same mapping, rules, …"
    );

    let source = |t: &toml::Table, name: &str| at(t, &["sources", name]).clone();
    let names = |t: &toml::Table| {
        at(t, &["sources"])
            .as_table()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&sqlite), names(&file));
    assert_eq!(names(&postgres), names(&file));
    assert_eq!(source(&sqlite, "subsidy"), source(&file, "subsidy"));
    assert_eq!(source(&sqlite, "shien"), source(&file, "shien"));
    assert_eq!(source(&postgres, "shien"), source(&file, "shien"));
    assert_eq!(source(&postgres, "residents"), source(&sqlite, "residents"));
    assert_eq!(
        at(&sqlite, &["sources", "residents", "plugin"]).as_str(),
        Some("sqlite")
    );
    let subsidy = at(&postgres, &["sources", "subsidy"]);
    assert_eq!(subsidy["plugin"].as_str(), Some("postgres"));
    assert_eq!(subsidy["primary"].as_bool(), Some(true));
    assert_eq!(
        subsidy["config"]["password"].as_str(),
        Some("${PGPASSWORD}")
    );
    let words = |q: &str| q.split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(
        words(subsidy["config"]["query"].as_str().unwrap()),
        pmhlink_synth::postgres::select_in_order(),
        "the query reads the table the loader fills, in the export's order"
    );
}
