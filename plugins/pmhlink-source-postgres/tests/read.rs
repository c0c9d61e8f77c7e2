//! The `postgres` source on a real PostgreSQL server: typed values as cells, row errors by
//! row and column, the read as one snapshot streamed in fetches, and every failure with the
//! key it names and its error kind. Cases are data: the statements that make a database, a
//! config, what must come out.

mod common;

use std::time::{Duration, Instant};

use common::Db;
use pmhlink_pdk::SourcePlugin;
use pmhlink_pdk::api::RErrorKind;
use pmhlink_pdk::testing::read_to_end;
use pmhlink_source_postgres::{Config, PostgresSource, open};
use serde_json::{Value, json};

fn source(config: Value) -> Result<PostgresSource, pmhlink_pdk::PluginError> {
    let config: Config = serde_json::from_value(config).unwrap();
    open(config)
}

const JUKYU: &str = "
    CREATE TABLE jukyu (bango text, futan integer, kana char(10), memo varchar(20), ritsu real, kingaku numeric(12,2));
    INSERT INTO jukyu VALUES ('0012345', 81136015, 'ﾔﾏﾀﾞ', NULL, 0.1, 20000);
    INSERT INTO jukyu VALUES ('0067890', 54130018, 'ｽｽﾞｷ', '備考', 0.2, 0.5);
";

/// One value of each type the source reads, as SQL, and the cell it must become.
const TYPED: [(&str, &str); 22] = [
    ("'0012345'::text", "0012345"),
    ("'山田 '::varchar(10)", "山田 "),
    ("'ﾔﾏﾀﾞ'::char(6)", "ﾔﾏﾀﾞ  "),
    ("'a'::\"char\"", "a"),
    ("(-32768)::int2", "-32768"),
    ("2147483647::int4", "2147483647"),
    ("(-9223372036854775808)::int8", "-9223372036854775808"),
    ("4294967295::oid", "4294967295"),
    ("0.1::float4", "0.1"),
    ("0.1::float8", "0.1"),
    ("20000::float8", "20000"),
    ("20000.00::numeric(12,2)", "20000.00"),
    ("(-0.000001234)::numeric", "-0.000001234"),
    (
        "123456789012345678901234567890.123456789::numeric",
        "123456789012345678901234567890.123456789",
    ),
    ("true", "1"),
    ("false", "0"),
    ("'2025-04-01'::date", "2025-04-01"),
    ("'1899-12-31'::date", "1899-12-31"),
    ("'2025-04-01 09:05:00'::timestamp", "2025-04-01T09:05:00"),
    (
        "'2025-04-01 23:59:59.12'::timestamp",
        "2025-04-01T23:59:59.12",
    ),
    (
        "'2025-04-01 09:00:00.000001+09'::timestamptz",
        "2025-04-01T00:00:00.000001",
    ),
    ("NULL::text", ""),
];

#[test]
fn each_type_becomes_the_cell_a_csv_export_would_hold() {
    let db = Db::new(
        "CREATE DOMAIN bango AS varchar(7); CREATE TYPE kubun AS ENUM ('kokuho', 'shaho');",
    );
    let select: Vec<String> = TYPED
        .iter()
        .enumerate()
        .map(|(i, (sql, _))| format!("{sql} AS c{i}"))
        .chain([
            "'0012345'::bango AS d".to_owned(),
            "'shaho'::kubun AS e".to_owned(),
        ])
        .collect();
    let mut expected: Vec<&str> = TYPED.iter().map(|(_, cell)| *cell).collect();
    expected.extend(["0012345", "shaho"]);
    let config = json!({"url": db.url(), "query": format!("SELECT {}", select.join(", "))});
    let mut s = source(config).unwrap();
    assert_eq!(s.discover().unwrap().len(), expected.len());
    let read = read_to_end(&mut s, 10).unwrap();
    assert_eq!(read.errors(), [] as [(u64, &str); 0]);
    assert_eq!(read.cells(), [expected]);
}

#[test]
fn a_query_or_a_table_reads_the_same_rows_whatever_the_batch_size() {
    let db = Db::new(JUKYU);
    let cases = [
        (
            json!({"url": db.url(), "query": "SELECT bango, futan, kana, memo, ritsu, kingaku FROM jukyu ORDER BY bango;"}),
            vec!["bango", "futan", "kana", "memo", "ritsu", "kingaku"],
            vec![
                vec!["0012345", "81136015", "ﾔﾏﾀﾞ      ", "", "0.1", "20000.00"],
                vec!["0067890", "54130018", "ｽｽﾞｷ      ", "備考", "0.2", "0.50"],
            ],
        ),
        (
            json!({"host": "127.0.0.1", "database": db.name, "user": "postgres", "table": "public.jukyu", "columns": ["memo", "bango"]}),
            vec!["memo", "bango"],
            vec![vec!["", "0012345"], vec!["備考", "0067890"]],
        ),
    ];
    for (config, columns, rows) in cases {
        let s = source(config.clone()).unwrap();
        s.check().unwrap();
        assert_eq!(s.discover().unwrap(), columns, "{config}");
        for (max_rows, fetch_size) in [(1, 1000), (2, 1), (100, 1), (100, 2)] {
            let mut config = config.clone();
            config["fetch_size"] = json!(fetch_size);
            let mut s = source(config.clone()).unwrap();
            let read = read_to_end(&mut s, max_rows).unwrap();
            assert_eq!(read.cells(), rows, "{config} (max_rows {max_rows})");
        }
    }
}

#[test]
fn fetch_size_bounds_every_batch() {
    let db = Db::new("CREATE TABLE t AS SELECT generate_series(1, 25) AS n;");
    let mut s =
        source(json!({"url": db.url(), "query": "SELECT n FROM t ORDER BY n", "fetch_size": 10}))
            .unwrap();
    let read = read_to_end(&mut s, 1000).unwrap();
    assert_eq!(read.batches, [10, 10, 5]);
    assert_eq!(read.lines(), (1..=25).collect::<Vec<u64>>());
    assert_eq!(read.cells()[24], ["25"]);
}

#[test]
fn cp932_bytes_in_a_sql_ascii_database_and_bytea_are_read_or_refused_by_row_and_column() {
    // 山田 in CP932; then a lead byte with no trail byte; then a bytea value.
    let db = Db::sql_ascii(
        "CREATE TABLE k (id int, shimei text, kana char(6), photo bytea);
         INSERT INTO k VALUES (1, E'\\x8e\\x52\\x93\\x63', E'\\xd4\\xcf', NULL);
         INSERT INTO k VALUES (2, E'\\x8e\\x52\\x83', 'x', NULL);
         INSERT INTO k VALUES (3, 'ok', 'y', '\\xffd8ff');",
    );
    let mut s = source(json!({"url": db.url(), "query": "SELECT id, shimei, kana, photo FROM k ORDER BY id", "encoding": "cp932"})).unwrap();
    let read = read_to_end(&mut s, 10).unwrap();
    assert_eq!(read.cells()[0], ["1", "山田", "ﾔﾏ    ", ""]);
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

#[test]
fn nan_and_infinity_are_row_errors() {
    let db = Db::new("");
    for sql in [
        "'NaN'::numeric",
        "'infinity'::date",
        "'-infinity'::timestamp",
        "'NaN'::float8",
    ] {
        let mut s =
            source(json!({"url": db.url(), "query": format!("SELECT {sql} AS v")})).unwrap();
        let read = read_to_end(&mut s, 10).unwrap();
        assert_eq!(
            read.errors(),
            [(
                1,
                "row 1, column `v`: a value that is not a finite number or date (NaN or infinity)"
            )],
            "{sql}"
        );
    }
}

/// (config, the key named, the kind, words of the message), each failing `check` and the
/// first `next_batch` alike.
#[test]
fn every_failure_names_its_key_and_kind() {
    let db = Db::new(&format!("{JUKYU} CREATE TABLE ids (id uuid);"));
    // A role is the server's, not the database's: named after the test's database, dropped
    // at the end.
    let role = format!("{}_nologin", db.name);
    db.client()
        .batch_execute(&format!("CREATE ROLE {role} NOLOGIN PASSWORD 'secret-pw'"))
        .unwrap();
    let url = db.url();
    let nologin = format!("postgres://{role}@127.0.0.1:5432/{}", db.name);
    let cases: Vec<(Value, &str, RErrorKind, &str)> = vec![
        (
            json!({"url": nologin, "password": "secret-pw", "query": "SELECT 1 AS a"}),
            "password",
            RErrorKind::Config,
            "the server refused the login (SQLSTATE 28000)",
        ),
        (
            json!({"host": "127.0.0.1", "database": "pmhlink_no_such_db", "user": "postgres", "query": "SELECT 1 AS a"}),
            "database",
            RErrorKind::Config,
            "no database of the name",
        ),
        (
            json!({"host": "no-such-host.invalid", "database": "d", "user": "u", "query": "SELECT 1 AS a", "timeout_secs": 2}),
            "host",
            RErrorKind::Io,
            "cannot connect",
        ),
        (
            json!({"url": "postgres://postgres@127.0.0.1:1/postgres", "query": "SELECT 1 AS a", "timeout_secs": 2}),
            "url",
            RErrorKind::Io,
            "Connection refused",
        ),
        (
            json!({"url": url, "query": "SELECT 1 AS a", "encoding": "cp932"}),
            "encoding",
            RErrorKind::Config,
            "the database's encoding is UTF8",
        ),
        (
            json!({"url": url, "query": "SELEC bango FROM jukyu"}),
            "query",
            RErrorKind::Config,
            "syntax error at or near \"SELEC\" (at character 1 of the statement) (SQLSTATE 42601)",
        ),
        (
            json!({"url": url, "query": "SELECT bango FROM kojin"}),
            "query",
            RErrorKind::Config,
            "relation \"kojin\" does not exist",
        ),
        (
            json!({"url": url, "table": "jukyu", "columns": ["bango", "shimei"]}),
            "table",
            RErrorKind::Config,
            "column \"shimei\" does not exist",
        ),
        (
            json!({"url": url, "query": "DELETE FROM jukyu"}),
            "query",
            RErrorKind::Config,
            "returns no columns",
        ),
        (
            json!({"url": url, "query": "SELECT bango, bango FROM jukyu"}),
            "query",
            RErrorKind::Config,
            "column `bango` twice",
        ),
        (
            json!({"url": url, "query": "SELECT 1 AS a; SELECT 2 AS b"}),
            "query",
            RErrorKind::Config,
            "does not run",
        ),
        (
            json!({"url": url, "query": "SELECT id FROM ids"}),
            "query",
            RErrorKind::Config,
            "the column `id` of type `uuid`, which this source does not read",
        ),
    ];
    for (config, key, kind, words) in cases {
        let started = Instant::now();
        let s = source(config.clone()).unwrap();
        let Err(err) = s.check() else {
            panic!("{config}: check passed");
        };
        assert_eq!(err.location.as_deref(), Some(key), "{config}: {err}");
        assert_eq!(err.kind, kind, "{config}: {err}");
        assert!(err.message.contains(words), "{config}: {err}");
        for secret in [
            "FROM",
            "secret-pw",
            "no-such-host",
            "pmhlink_no_such_db",
            "127.0.0.1",
        ] {
            assert!(!err.message.contains(secret), "no value repeated: {err}");
        }
        // Reading fails the same way.
        let mut s = source(config.clone()).unwrap();
        let read = s.next_batch(10).unwrap_err();
        assert_eq!(
            (read.kind, read.location.as_deref()),
            (kind, Some(key)),
            "{config}: {read}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{config}: bounded, not a hang"
        );
    }
    db.client()
        .batch_execute(&format!("DROP ROLE {role}"))
        .unwrap();
}

#[test]
fn what_the_settings_cannot_mean_is_refused_when_the_source_opens() {
    let cases: [(Value, &str, &str); 4] = [
        (
            json!({"url": "postgres://u@h/d?sslmode=allow", "query": "q"}),
            "url",
            "`allow`, plain first, is not supported",
        ),
        (
            json!({"url": "mysql:/ /secret-pw@h", "query": "q"}),
            "url",
            "not a PostgreSQL connection URL",
        ),
        (
            json!({"url": "postgres://h/d", "query": "q"}),
            "url",
            "names no user",
        ),
        (
            json!({"host": "h", "database": "d", "query": "q"}),
            "user",
            "needs `user`",
        ),
    ];
    for (config, key, words) in cases {
        let Err(err) = source(config.clone()) else {
            panic!("{config}: opened");
        };
        assert_eq!(err.location.as_deref(), Some(key), "{config}: {err}");
        assert_eq!(err.kind, RErrorKind::Config, "{config}: {err}");
        assert!(err.message.contains(words), "{config}: {err}");
        assert!(!err.message.contains("secret-pw"), "{err}");
    }
}

#[test]
fn a_statement_that_runs_too_long_stops_within_its_timeout() {
    let db = Db::new("");
    let mut s = source(
        json!({"url": db.url(), "query": "SELECT 1 AS z FROM pg_sleep(30)", "timeout_secs": 1}),
    )
    .unwrap();
    let started = Instant::now();
    let err = s.next_batch(10).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10), "bounded");
    assert_eq!(err.kind, RErrorKind::Io);
    assert_eq!(err.location.as_deref(), Some("timeout_secs"), "{err}");
    assert!(
        err.message.starts_with(
            "reading stopped at row 1: the statement took longer than `timeout_secs` (1 s)"
        ),
        "{err}"
    );
    // A failed read stays failed: the next call is the end, not a restart.
    assert!(s.next_batch(10).unwrap().is_none());
}

#[test]
fn a_connection_dropped_mid_read_is_an_io_error_not_an_early_end() {
    let db = Db::new("CREATE TABLE t AS SELECT generate_series(1, 100) AS n;");
    let mut s =
        source(json!({"url": db.url(), "query": "SELECT n FROM t ORDER BY n", "fetch_size": 10}))
            .unwrap();
    assert_eq!(s.next_batch(10).unwrap().expect("a first batch").rows(), 10);
    let ended: i64 = common::admin("postgres")
        .query_one(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = $1 AND application_name = 'pmhlink') AS t",
            &[&db.name],
        )
        .unwrap()
        .get(0);
    assert_eq!(ended, 1, "the source's one connection");
    let err = s.next_batch(10).unwrap_err();
    assert_eq!(err.kind, RErrorKind::Io, "{err}");
    assert_eq!(err.location.as_deref(), Some("url"), "{err}");
    assert!(
        err.message.starts_with("reading stopped at row 11: "),
        "{err}"
    );
    assert!(s.next_batch(10).unwrap().is_none());
}

#[test]
fn the_read_is_one_snapshot_while_the_vendor_system_writes() {
    let db = Db::new("CREATE TABLE t AS SELECT generate_series(1, 10) AS n;");
    let mut s =
        source(json!({"url": db.url(), "query": "SELECT n FROM t ORDER BY n", "fetch_size": 3}))
            .unwrap();
    let mut rows = s.next_batch(3).unwrap().expect("a first batch").rows();
    db.client()
        .batch_execute("INSERT INTO t VALUES (11), (12); DELETE FROM t WHERE n = 10;")
        .unwrap();
    while let Some(batch) = s.next_batch(3).unwrap() {
        rows += batch.rows();
    }
    assert_eq!(rows, 10, "the rows as they were when the read began");
    // And the read could not write: a statement that changes data is refused.
    let mut s = source(json!({"url": db.url(), "query": "DELETE FROM t RETURNING n"})).unwrap();
    let err = s.next_batch(10).unwrap_err();
    assert_eq!(
        (err.kind, err.location.as_deref()),
        (RErrorKind::Config, Some("query"))
    );
    assert!(err.message.contains("must only read"), "{err}");
    let left: i64 = db
        .client()
        .query_one("SELECT count(*) FROM t", &[])
        .unwrap()
        .get(0);
    assert_eq!(left, 11);
}

#[test]
fn the_settings_page_is_up_to_date() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/plugins/postgres.md");
    if let Err(stale) = pmhlink_pdk::docs::guided_page_is_current(
        &pmhlink_source_postgres::spec(),
        include_str!("../GUIDE.md"),
        &path,
    ) {
        panic!("{stale}");
    }
}

#[test]
fn check_learns_each_column_type_without_reading_a_row() {
    use pmhlink_pdk::ColumnType as T;
    let db = Db::new(JUKYU);
    let source = source(json!({
        "url": db.url(),
        "query": "SELECT bango, futan, kana, ritsu, kingaku, true AS flag, current_date AS day, now()::timestamp AS at, '\\x00'::bytea AS photo FROM jukyu"
    }))
    .unwrap();
    assert_eq!(
        source.column_types().unwrap(),
        [
            T::Text,
            T::Integer,
            T::Text,
            T::Float,
            T::Decimal,
            T::Boolean,
            T::Date,
            T::Timestamp,
            T::Binary
        ]
    );
    assert_eq!(source.discover().unwrap().len(), 9);
}
