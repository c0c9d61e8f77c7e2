//! The `mysql` source on a real MariaDB server: typed values as cells, row errors by row and
//! column, the read as one snapshot streamed in bounded batches, and every failure with the
//! key it names and its error kind. Cases are data: the statements that make a database, a
//! config, what must come out.

mod common;

use std::time::{Duration, Instant};

use common::Db;
use mysql::prelude::Queryable;
use pmhlink_pdk::SourcePlugin;
use pmhlink_pdk::api::RErrorKind;
use pmhlink_pdk::testing::read_to_end;
use pmhlink_source_mysql::{Config, MysqlSource, open};
use serde_json::{Value, json};

fn source(config: Value) -> Result<MysqlSource, pmhlink_pdk::PluginError> {
    let config: Config = serde_json::from_value(config).unwrap();
    open(config)
}

const JUKYU: &str = "
    CREATE TABLE jukyu (bango varchar(7), futan int, kana char(10), memo varchar(20), ritsu float, kingaku decimal(12,2));
    INSERT INTO jukyu VALUES ('0012345', 81136015, 'ﾔﾏﾀﾞ', NULL, 0.1, 20000);
    INSERT INTO jukyu VALUES ('0067890', 54130018, 'ｽｽﾞｷ', '備考', 0.2, 0.5);
";

/// One column of each type the source reads, the SQL value stored in it, and the cell it must
/// become.
const TYPED: [(&str, &str, &str); 32] = [
    ("char(6)", "'ﾔﾏﾀﾞ'", "ﾔﾏﾀﾞ  "),
    ("varchar(10)", "'山田 '", "山田 "),
    ("text", "'0012345'", "0012345"),
    ("char(3) character set latin1", "'ab'", "ab "),
    ("enum('kokuho','shaho')", "'shaho'", "shaho"),
    ("set('a','b')", "'a,b'", "a,b"),
    ("json", "'{\"a\": 1}'", "{\"a\": 1}"),
    ("tinyint", "-128", "-128"),
    ("tinyint(1)", "1", "1"),
    ("boolean", "false", "0"),
    ("smallint unsigned", "65535", "65535"),
    ("mediumint", "-8388608", "-8388608"),
    ("int", "2147483647", "2147483647"),
    ("bigint", "-9223372036854775808", "-9223372036854775808"),
    (
        "bigint unsigned",
        "18446744073709551615",
        "18446744073709551615",
    ),
    ("year", "2025", "2025"),
    ("bit(1)", "b'1'", "1"),
    ("bit(10)", "b'1000000001'", "513"),
    ("float", "0.1", "0.1"),
    ("double", "0.1", "0.1"),
    ("double", "20000", "20000"),
    ("decimal(12,2)", "20000", "20000.00"),
    ("decimal(20,9)", "-0.000001234", "-0.000001234"),
    (
        "decimal(40,9)",
        "1234567890123456789012345678901.123456789",
        "1234567890123456789012345678901.123456789",
    ),
    ("date", "'2025-04-01'", "2025-04-01"),
    ("date", "'1899-12-31'", "1899-12-31"),
    ("date", "'0000-00-00'", "0000-00-00"),
    ("datetime", "'2025-04-01 09:05:00'", "2025-04-01T09:05:00"),
    (
        "datetime(6)",
        "'2025-04-01 23:59:59.12'",
        "2025-04-01T23:59:59.12",
    ),
    // Stored at +09:00: the cell is UTC.
    (
        "timestamp(6) NULL",
        "'2025-04-01 09:00:00.000001'",
        "2025-04-01T00:00:00.000001",
    ),
    ("varchar(5)", "NULL", ""),
    ("int", "NULL", ""),
];

#[test]
fn each_type_becomes_the_cell_a_csv_export_would_hold() {
    let columns: Vec<String> = TYPED
        .iter()
        .enumerate()
        .map(|(i, (ty, _, _))| format!("c{i} {ty}"))
        .collect();
    let values: Vec<&str> = TYPED.iter().map(|(_, sql, _)| *sql).collect();
    let db = Db::new(&format!(
        "SET time_zone = '+09:00';
         CREATE TABLE typed ({});
         INSERT INTO typed VALUES ({})",
        columns.join(", "),
        values.join(", ")
    ));
    let mut expected: Vec<&str> = TYPED.iter().map(|(_, _, cell)| *cell).collect();
    expected.extend(["x", ""]);
    let config =
        json!({"url": db.url(), "query": "SELECT typed.*, 'x' AS lit, NULL AS nothing FROM typed"});
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
            json!({"host": "127.0.0.1", "database": db.name, "user": "root", "table": "jukyu", "columns": ["memo", "bango"]}),
            vec!["memo", "bango"],
            vec![vec!["", "0012345"], vec!["備考", "0067890"]],
        ),
        (
            json!({"url": "mysql://root@127.0.0.1:3306/", "table": format!("{}.jukyu", db.name), "columns": ["bango"]}),
            vec!["bango"],
            vec![vec!["0012345"], vec!["0067890"]],
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
            let mut read = read_to_end(&mut s, max_rows).unwrap();
            // A table's rows come in the server's order.
            read.rows.sort_by(|a, b| a.cells.cmp(&b.cells));
            assert_eq!(read.cells(), rows, "{config} (max_rows {max_rows})");
        }
    }
}

/// A table `t` of the numbers 1..=`n` (and a kilobyte of padding each, when `padded`).
fn numbers(n: u32, padded: bool) -> String {
    format!(
        "CREATE TABLE t (n int PRIMARY KEY, pad varchar(1024)) ENGINE=InnoDB;
         INSERT INTO t SELECT seq, IF({padded}, REPEAT('x', 1024), '') FROM seq_1_to_{n}"
    )
}

#[test]
fn fetch_size_bounds_every_batch() {
    let db = Db::new(&numbers(25, false));
    let mut s =
        source(json!({"url": db.url(), "query": "SELECT n FROM t ORDER BY n", "fetch_size": 10}))
            .unwrap();
    let read = read_to_end(&mut s, 1000).unwrap();
    assert_eq!(read.batches, [10, 10, 5]);
    assert_eq!(read.lines(), (1..=25).collect::<Vec<u64>>());
    assert_eq!(read.cells()[24], ["25"]);
}

#[test]
fn cp932_columns_are_read_and_bytes_that_do_not_decode_or_binary_values_are_row_errors() {
    // 山田 and ﾔﾏ in CP932 (in cp932, sjis and — as old systems kept them — latin1 columns);
    // then 0x8540, which MariaDB's cp932 stores but CP932 does not assign, and a lead byte
    // with no trail byte in a latin1 column; then a BLOB value.
    let db = Db::new(
        "CREATE TABLE k (id int, shimei varchar(10) CHARACTER SET cp932, kana char(4) CHARACTER SET sjis, memo varchar(10) CHARACTER SET latin1, photo blob);
         INSERT INTO k VALUES (1, _cp932 X'8E5293630A', _sjis X'D4CF', _latin1 X'8E529363', NULL);
         INSERT INTO k VALUES (2, _cp932 X'8E528540', 'x', 'ok', NULL);
         INSERT INTO k VALUES (3, 'ok', 'y', _latin1 X'8E5283', NULL);
         INSERT INTO k VALUES (4, 'ok', 'z', 'ok', X'FFD8FF')",
    );
    let mut s = source(json!({"url": db.url(), "query": "SELECT id, shimei, kana, memo, photo FROM k ORDER BY id", "encoding": "cp932"})).unwrap();
    let read = read_to_end(&mut s, 10).unwrap();
    assert_eq!(read.cells()[0], ["1", "山田\n", "ﾔﾏ  ", "山田", ""]);
    assert_eq!(
        read.errors(),
        [
            (
                2,
                "row 2, column `shimei`: malformed CP932 byte at offset 2"
            ),
            (3, "row 3, column `memo`: malformed CP932 byte at offset 2"),
            (
                4,
                "row 4, column `photo`: a binary value cannot be a text cell (select it as text, or leave it out)"
            ),
        ]
    );
    assert!(
        read.rows[1..].iter().all(|r| r.cells.is_empty()),
        "no cell of a bad row is kept"
    );
}

/// (config, the key named, the kind, words of the message), each failing `check` and the
/// first `next_batch` alike.
#[test]
fn every_failure_names_its_key_and_kind() {
    let db = Db::new(&format!(
        "{JUKYU}
         CREATE TABLE times (t time);
         CREATE TABLE legacy (shimei varchar(10) CHARACTER SET cp932, euc varchar(10) CHARACTER SET ujis)"
    ));
    // A user is the server's, not the database's: named after the test's database, dropped
    // when the test ends, passed or not.
    struct User(String);
    impl Drop for User {
        fn drop(&mut self) {
            let _ = common::admin(None).query_drop(format!("DROP USER '{}'@'127.0.0.1'", self.0));
        }
    }
    let user = User(format!("{}_u", db.name));
    let user = &user.0;
    db.run(&format!(
        "CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY 'secret-pw';
         GRANT SELECT ON {}.* TO '{user}'@'127.0.0.1'",
        db.name
    ));
    let url = db.url();
    let as_user = format!("mysql://{user}@127.0.0.1:3306/{}", db.name);
    let cases: Vec<(Value, &str, RErrorKind, &str)> = vec![
        (
            json!({"url": as_user, "password": "not-the-pw", "query": "SELECT 1 AS a"}),
            "password",
            RErrorKind::Config,
            "the server refused the login (error 1045, SQLSTATE 28000)",
        ),
        (
            json!({"host": "127.0.0.1", "database": "pmhlink_no_such_db", "user": "root", "query": "SELECT 1 AS a"}),
            "database",
            RErrorKind::Config,
            "no database of the name `database` gives, or the user may not use it (error 1049, SQLSTATE 42000)",
        ),
        (
            json!({"host": "no-such-host.invalid", "database": "d", "user": "u", "query": "SELECT 1 AS a", "timeout_secs": 2}),
            "host",
            RErrorKind::Io,
            "cannot connect",
        ),
        (
            json!({"url": "mysql://root@127.0.0.1:1/", "query": "SELECT 1 AS a", "timeout_secs": 2}),
            "url",
            RErrorKind::Io,
            "Connection refused",
        ),
        (
            json!({"url": url, "query": "SELEC bango FROM jukyu"}),
            "query",
            RErrorKind::Config,
            "You have an error in your SQL syntax",
        ),
        (
            json!({"url": url, "query": "SELECT bango FROM kojin"}),
            "query",
            RErrorKind::Config,
            "doesn't exist (error 1146, SQLSTATE 42S02)",
        ),
        (
            json!({"url": url, "table": "jukyu", "columns": ["bango", "shimei"]}),
            "table",
            RErrorKind::Config,
            "Unknown column 'shimei' in ",
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
            json!({"url": url, "query": "SELECT bango FROM jukyu WHERE futan > ?"}),
            "query",
            RErrorKind::Config,
            "has parameters",
        ),
        (
            json!({"url": url, "query": "SELECT t FROM times"}),
            "query",
            RErrorKind::Config,
            "the column `t` of type TIME, which this source does not read",
        ),
        (
            json!({"url": url, "query": "SELECT bango, memo FROM jukyu", "encoding": "cp932"}),
            "encoding",
            RErrorKind::Config,
            "the column `bango` is utf8mb4 text, which `encoding` CP932 would read wrongly",
        ),
        (
            json!({"url": url, "query": "SELECT shimei FROM legacy"}),
            "encoding",
            RErrorKind::Config,
            "the column `shimei` is cp932 text, which `encoding` UTF-8 would read wrongly: set `encoding = \"cp932\"`",
        ),
        (
            json!({"url": url, "query": "SELECT euc FROM legacy", "encoding": "cp932"}),
            "encoding",
            RErrorKind::Config,
            "the column `euc` is ujis text",
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
            "secret-pw",
            "not-the-pw",
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
}

#[test]
fn what_the_settings_cannot_mean_is_refused_when_the_source_opens() {
    let cases: [(Value, &str, &str); 7] = [
        (
            json!({"url": "mysql://u@h/d?ssl-mode=DISABLED", "tls": "require", "query": "q"}),
            "tls",
            "`tls` is `require` and `url`'s `ssl-mode` is `disable`: say it once",
        ),
        (
            json!({"url": "mysql://u@h/d?root_cert_path=/secret-pw.pem", "query": "q"}),
            "url",
            "`url`'s `root_cert_path` is not supported by this source",
        ),
        (
            json!({"url": "postgres:/ /secret-pw@h", "query": "q"}),
            "url",
            "not a MySQL connection URL",
        ),
        (
            json!({"url": "mysql://u@h/d?pool_max=secret-pw", "query": "q"}),
            "url",
            "its parameter `pool_max` has a value the client does not take",
        ),
        (
            json!({"url": "mysql://u@h/d?secret-pw=1", "query": "q"}),
            "url",
            "it has a parameter the client does not know",
        ),
        (
            json!({"url": "mysql://h/d", "query": "q"}),
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
    let mut s =
        source(json!({"url": db.url(), "query": "SELECT SLEEP(30) AS z", "timeout_secs": 1}))
            .unwrap();
    // Preparing it runs nothing: `check` passes.
    s.check().unwrap();
    let started = Instant::now();
    let err = s.next_batch(10).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10), "bounded");
    assert_eq!(err.kind, RErrorKind::Io);
    assert_eq!(err.location.as_deref(), Some("timeout_secs"), "{err}");
    assert!(
        err.message.starts_with(
            "reading stopped at row 1: the server did not answer within `timeout_secs` (1 s)"
        ),
        "{err}"
    );
    // A failed read stays failed: the next call is the end, not a restart.
    assert!(s.next_batch(10).unwrap().is_none());
}

#[test]
fn a_read_longer_than_timeout_secs_goes_on_while_the_server_answers() {
    // The server would count the time it waits for pmhlink to take rows in a statement limit;
    // `timeout_secs` bounds each wait for the server instead, so pauses between batches (a
    // pipeline busy with what it read) do not stop the read.
    let db = Db::new(&numbers(50_000, true));
    let mut s = source(
        json!({"url": db.url(), "query": "SELECT n, pad FROM t ORDER BY n", "timeout_secs": 1}),
    )
    .unwrap();
    let mut rows = s.next_batch(100).unwrap().expect("a first batch").rows();
    assert_eq!(rows, 100);
    std::thread::sleep(Duration::from_secs(3));
    while let Some(batch) = s.next_batch(1000).unwrap() {
        rows += batch.rows();
    }
    assert_eq!(
        rows, 50_000,
        "every row, after a pause longer than `timeout_secs`"
    );
}

/// The source's one connection, found by the database it reads and the prepared statement it
/// executes.
fn the_sources_connection(db: &Db) -> u64 {
    let ids: Vec<u64> = common::admin(None)
        .exec(
            "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND COMMAND = 'Execute'",
            (&db.name,),
        )
        .unwrap();
    assert_eq!(ids.len(), 1, "the source's one connection: {ids:?}");
    ids[0]
}

#[test]
fn a_connection_killed_mid_read_is_an_io_error_not_an_early_end() {
    // Enough rows (of a kilobyte each) that the server is still sending when it is killed.
    let db = Db::new(&numbers(50_000, true));
    let mut s = source(
        json!({"url": db.url(), "query": "SELECT n, pad FROM t ORDER BY n", "fetch_size": 10}),
    )
    .unwrap();
    assert_eq!(s.next_batch(10).unwrap().expect("a first batch").rows(), 10);
    let id = the_sources_connection(&db);
    common::admin(None)
        .query_drop(format!("KILL {id}"))
        .unwrap();
    let mut rows = 10;
    let err = loop {
        match s.next_batch(1000) {
            Ok(Some(batch)) => rows += batch.rows(),
            Ok(None) => panic!("the read ended early, after {rows} rows"),
            Err(e) => break e,
        }
    };
    assert!(rows < 50_000, "{rows}");
    assert_eq!(err.kind, RErrorKind::Io, "{err}");
    assert_eq!(err.location.as_deref(), Some("url"), "{err}");
    // The row it stopped at: past every row delivered (those read into the batch that failed
    // are not delivered).
    let at: usize = err
        .message
        .strip_prefix("reading stopped at row ")
        .and_then(|m| m.split(':').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{err}"));
    assert!(at > rows, "{err}");
    assert!(s.next_batch(10).unwrap().is_none());
}

#[test]
fn the_read_is_one_read_only_repeatable_read_snapshot_while_the_vendor_system_writes() {
    let db = Db::new(&numbers(20_000, true));
    let mut s =
        source(json!({"url": db.url(), "query": "SELECT n FROM t ORDER BY n", "fetch_size": 100}))
            .unwrap();
    let mut rows = s.next_batch(100).unwrap().expect("a first batch").rows();
    db.run("INSERT INTO t VALUES (20001, ''), (20002, ''); DELETE FROM t WHERE n = 20000");
    let mut last = String::new();
    while let Some(batch) = s.next_batch(1000).unwrap() {
        rows += batch.rows();
        last = pmhlink_pdk::testing::rows(&batch).pop().unwrap().cells[0].clone();
    }
    assert_eq!(rows, 20_000, "the rows as they were when the read began");
    assert_eq!(last, "20000");
    // The transaction, as the server sees it from inside.
    let mut s = source(json!({"url": db.url(), "query": "SELECT trx_isolation_level AS iso, trx_is_read_only AS ro FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = CONNECTION_ID()"})).unwrap();
    let read = read_to_end(&mut s, 10).unwrap();
    assert_eq!(read.cells(), [["REPEATABLE READ", "1"]]);
    // And the read could not write: a statement that changes data is refused.
    let mut s = source(json!({"url": db.url(), "query": "DELETE FROM t WHERE n < 10 RETURNING n"}))
        .unwrap();
    let err = s.next_batch(10).unwrap_err();
    assert_eq!(
        (err.kind, err.location.as_deref()),
        (RErrorKind::Config, Some("query")),
        "{err}"
    );
    assert!(err.message.contains("must only read"), "{err}");
    let left: Option<u64> = db.conn().query_first("SELECT count(*) FROM t").unwrap();
    assert_eq!(left, Some(20_001));
}

#[test]
fn the_settings_page_is_up_to_date() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/plugins/mysql.md");
    if let Err(stale) = pmhlink_pdk::docs::guided_page_is_current(
        &pmhlink_source_mysql::spec(),
        include_str!("../GUIDE.md"),
        &path,
    ) {
        panic!("{stale}");
    }
}

#[test]
fn check_learns_each_column_type_without_reading_a_row() {
    use pmhlink_pdk::ColumnType as T;
    let db = Db::new(&format!(
        "{JUKYU} ALTER TABLE jukyu ADD COLUMN flag bit(1), ADD COLUMN day date, ADD COLUMN at datetime, ADD COLUMN photo varbinary(10), ADD COLUMN d double"
    ));
    let source = source(json!({
        "url": db.url(),
        "query": "SELECT bango, futan, kana, ritsu, kingaku, flag, day, at, photo, d FROM jukyu"
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
            T::Binary,
            T::Float
        ]
    );
    assert_eq!(source.discover().unwrap().len(), 10);
}
