//! The `sqlite` source on real SQLite files: typed values as cells, row errors by row and
//! column, and every failure with the key it names and its error kind. Cases are data: the
//! statements that make a database, a config, what must come out.

use std::path::Path;
use std::time::{Duration, Instant};

use pmhlink_pdk::SourcePlugin;
use pmhlink_pdk::api::RErrorKind;
use pmhlink_pdk::testing::read_to_end;
use pmhlink_source_sqlite::{Config, SqliteSource, open};
use serde_json::{Value, json};

/// A database file made by `sql`, in `dir`.
fn database(dir: &Path, name: &str, sql: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(sql).unwrap();
    path
}

fn source(config: Value) -> Result<SqliteSource, pmhlink_pdk::PluginError> {
    let config: Config = serde_json::from_value(config).unwrap();
    open(config)
}

const JUKYU: &str = "
    CREATE TABLE jukyu (bango TEXT, futan INTEGER, ritsu REAL, kingaku NUMERIC, kana CHAR(10), memo TEXT);
    INSERT INTO jukyu VALUES ('0012345', 81136015, 0.1, 20000, 'ﾔﾏﾀﾞ      ', NULL);
    INSERT INTO jukyu VALUES ('0067890', 54130018, 0.2, 0, 'ｽｽﾞｷ', '備考');
";

#[test]
fn typed_values_become_the_cells_a_csv_export_would_hold() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path(), "jukyu.db", JUKYU);
    let cases = [
        (
            json!({"url": db, "query": "SELECT bango, futan, ritsu, kingaku, kana, memo FROM jukyu ORDER BY bango"}),
            vec!["bango", "futan", "ritsu", "kingaku", "kana", "memo"],
            vec![
                vec!["0012345", "81136015", "0.1", "20000", "ﾔﾏﾀﾞ      ", ""],
                vec!["0067890", "54130018", "0.2", "0", "ｽｽﾞｷ", "備考"],
            ],
        ),
        (
            json!({"url": format!("sqlite://{}", db.display()), "table": "jukyu", "columns": ["memo", "bango"]}),
            vec!["memo", "bango"],
            vec![vec!["", "0012345"], vec!["備考", "0067890"]],
        ),
    ];
    for (config, columns, rows) in cases {
        let s = source(config.clone()).unwrap();
        s.check().unwrap();
        assert_eq!(s.discover().unwrap(), columns, "{config}");
        for max_rows in [1, 2, 100] {
            let mut s = source(config.clone()).unwrap();
            let read = read_to_end(&mut s, max_rows).unwrap();
            assert_eq!(read.cells(), rows, "{config} (max_rows {max_rows})");
            assert_eq!(
                read.lines(),
                [1, 2],
                "rows are numbered by their place in the result"
            );
        }
    }
}

#[test]
fn fetch_size_bounds_every_batch() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(
        dir.path(),
        "many.db",
        "CREATE TABLE t (n INTEGER);
         WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 25)
         INSERT INTO t SELECT x FROM c;",
    );
    let mut s = source(json!({"url": db, "query": "SELECT n FROM t ORDER BY n", "fetch_size": 10}))
        .unwrap();
    let read = read_to_end(&mut s, 1000).unwrap();
    assert_eq!(read.batches, [10, 10, 5]);
    assert_eq!(read.rows.len(), 25);
}

#[test]
fn a_value_that_cannot_be_a_cell_is_a_row_error_naming_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    // CP932 bytes stored as text, as old systems do; one row's bytes are not CP932.
    let db = database(
        dir.path(),
        "legacy.db",
        "CREATE TABLE k (id INTEGER, shimei TEXT, photo BLOB);
         INSERT INTO k VALUES (1, CAST(X'8E5293638E52' AS TEXT), NULL);
         INSERT INTO k VALUES (2, CAST(X'8E5283' AS TEXT), NULL);
         INSERT INTO k VALUES (3, 'ok', X'FFD8FF');",
    );
    let mut s = source(json!({"url": db, "query": "SELECT id, shimei, photo FROM k ORDER BY id", "encoding": "cp932"})).unwrap();
    let read = read_to_end(&mut s, 10).unwrap();
    assert_eq!(read.cells()[0], ["1", "山田山", ""]);
    assert_eq!(
        read.errors(),
        [
            (
                2,
                "row 2, column `shimei`: malformed CP932 byte at offset 2"
            ),
            (
                3,
                "row 3, column `photo`: a binary value cannot be a text cell (select it as text, or leave it out)"
            ),
        ]
    );
    assert!(
        read.rows[1].cells.is_empty() && read.rows[2].cells.is_empty(),
        "no cell of a bad row is kept"
    );
}

/// (database statements or `None` for no file, config beyond `url`, the key named, the kind,
/// words of the message)
#[test]
fn every_failure_names_its_key_and_kind() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path(), "j.db", JUKYU);
    let not_a_db = dir.path().join("export.csv");
    std::fs::write(&not_a_db, "bango,futan\n0012345,81136015\n".repeat(200)).unwrap();
    let missing = dir.path().join("missing.db");
    let cases: Vec<(Value, &str, RErrorKind, &str)> = vec![
        (
            json!({"url": missing, "query": "SELECT 1"}),
            "url",
            RErrorKind::Io,
            "cannot open",
        ),
        (
            json!({"url": dir.path(), "query": "SELECT 1"}),
            "url",
            RErrorKind::Io,
            "not a regular file",
        ),
        (
            json!({"url": not_a_db, "query": "SELECT 1 FROM t"}),
            "url",
            RErrorKind::Data,
            "not a SQLite database",
        ),
        (
            json!({"url": db, "query": "SELEC bango FROM jukyu"}),
            "query",
            RErrorKind::Config,
            "syntax error",
        ),
        (
            json!({"url": db, "query": "SELECT bango FROM kojin"}),
            "query",
            RErrorKind::Config,
            "no such table: kojin",
        ),
        (
            json!({"url": db, "table": "jukyu", "columns": ["bango", "shimei"]}),
            "table",
            RErrorKind::Config,
            "no such column: \"shimei\"",
        ),
        (
            json!({"url": db, "query": "DELETE FROM jukyu"}),
            "query",
            RErrorKind::Config,
            "must only read",
        ),
        (
            json!({"url": db, "query": "SELECT bango, bango FROM jukyu"}),
            "query",
            RErrorKind::Config,
            "column `bango` twice",
        ),
        (
            json!({"url": db, "query": "SELECT 1; SELECT 2"}),
            "query",
            RErrorKind::Config,
            "does not run",
        ),
    ];
    for (config, key, kind, words) in cases {
        let s = source(config.clone()).unwrap();
        let Err(err) = s.check() else {
            panic!("{config}: check passed");
        };
        assert_eq!(err.location.as_deref(), Some(key), "{config}: {err}");
        assert_eq!(err.kind, kind, "{config}: {err}");
        assert!(err.message.contains(words), "{config}: {err}");
        assert!(
            !err.message.contains("FROM"),
            "the statement is not repeated: {err}"
        );
        // Reading fails the same way, and nothing of the file is quoted.
        let mut s = source(config.clone()).unwrap();
        let read = s.next_batch(10).unwrap_err();
        assert_eq!(
            (read.kind, read.location.as_deref()),
            (kind, Some(key)),
            "{config}: {read}"
        );
        assert!(
            !read.message.contains("0012345") && !read.message.contains("81136015"),
            "{read}"
        );
    }
    // The file is never created or changed by a read.
    assert!(!missing.exists());
}

#[test]
fn a_query_that_runs_too_long_stops_within_its_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path(), "j.db", JUKYU);
    // Counts forever and never yields a row.
    let endless = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c WHERE x < 0";
    let mut s = source(json!({"url": db, "query": endless, "timeout_secs": 1})).unwrap();
    let started = Instant::now();
    let err = s.next_batch(10).unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "bounded, not a hang"
    );
    assert_eq!(err.kind, RErrorKind::Io);
    assert_eq!(err.location.as_deref(), Some("timeout_secs"), "{err}");
    assert!(err.message.contains("reading stopped at row 1"), "{err}");
    // A failed read stays failed: the next call is the end, not a restart.
    assert!(s.next_batch(10).unwrap().is_none());
}

#[test]
fn the_read_is_one_snapshot_while_the_vendor_system_writes() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(
        dir.path(),
        "live.db",
        "PRAGMA journal_mode = WAL;
         CREATE TABLE t (n INTEGER);
         WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10)
         INSERT INTO t SELECT x FROM c;",
    );
    let mut s = source(json!({"url": db, "query": "SELECT n FROM t ORDER BY n"})).unwrap();
    let first = read_first(&mut s);
    // The vendor system adds rows after the first batch was read.
    let writer = rusqlite::Connection::open(&db).unwrap();
    writer
        .execute_batch("INSERT INTO t VALUES (11), (12);")
        .unwrap();
    let mut rows = first;
    while let Some(batch) = s.next_batch(3).unwrap() {
        rows += batch.rows();
    }
    assert_eq!(rows, 10, "rows written during the read are not in it");
}

fn read_first(s: &mut SqliteSource) -> usize {
    s.next_batch(3).unwrap().expect("a first batch").rows()
}

#[test]
fn the_settings_page_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/plugins/sqlite.md");
    if let Err(stale) = pmhlink_pdk::docs::guided_page_is_current(
        &pmhlink_source_sqlite::spec(),
        include_str!("../GUIDE.md"),
        &path,
    ) {
        panic!("{stale}");
    }
}

#[test]
fn check_learns_declared_column_types_without_reading_a_row() {
    use pmhlink_pdk::ColumnType as T;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jukyu.db");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(
            "CREATE TABLE jukyu (bango INTEGER, shimei VARCHAR(20), kingaku NUMERIC(12,2), ritsu REAL, kaishi DATE, photo BLOB);",
        )
        .unwrap();
    let source = source(json!({
        "url": path.to_str().unwrap(),
        "query": "SELECT bango, shimei, kingaku, ritsu, kaishi, photo, 1 AS computed FROM jukyu"
    }))
    .unwrap();
    assert_eq!(
        source.column_types().unwrap(),
        [
            T::Integer,
            T::Text,
            T::Decimal,
            T::Float,
            T::Date,
            T::Binary,
            T::Other
        ]
    );
}
