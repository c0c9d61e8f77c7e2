//! The `odbc` source through real drivers on real servers — psqlODBC on PostgreSQL and MariaDB
//! Connector/ODBC on MariaDB: typed values as cells, row errors by row and column, the read as
//! one transaction fetched in blocks, and every failure with the key it names and its error
//! kind. Cases are data: the statements that make a database, a config, what must come out.

mod common;

use std::time::{Duration, Instant};

use common::{Db, SERVERS, Server, driver_file};
use pmhlink_pdk::SourcePlugin;
use pmhlink_pdk::api::RErrorKind;
use pmhlink_pdk::testing::read_to_end;
use pmhlink_source_odbc::{Config, OdbcSource, open};
use serde_json::{Value, json};

fn source(config: Value) -> Result<OdbcSource, pmhlink_pdk::PluginError> {
    let config: Config = serde_json::from_value(config).unwrap();
    open(config)
}

fn jukyu(server: Server) -> Db {
    let real = match server {
        Server::Postgres => "real",
        Server::MariaDb => "float",
    };
    Db::new(
        server,
        &[
            &format!(
                "CREATE TABLE jukyu (bango varchar(10), futan integer, kana char(10), memo varchar(20), ritsu {real}, kingaku numeric(12,2))"
            ),
            "INSERT INTO jukyu VALUES ('0012345', 81136015, 'ﾔﾏﾀﾞ', NULL, 0.1, 20000)",
            "INSERT INTO jukyu VALUES ('0067890', 54130018, 'ｽｽﾞｷ', '備考', 0.2, 0.5)",
        ],
    )
}

/// One value of each type each driver reads, as SQL, and the cell it must become.
fn typed(server: Server) -> Vec<(&'static str, &'static str)> {
    match server {
        Server::Postgres => vec![
            ("'0012345'::text", "0012345"),
            ("'山田 '::varchar(10)", "山田 "),
            ("'髙橋①'::text", "髙橋①"),
            ("'ﾔﾏﾀﾞ'::char(6)", "ﾔﾏﾀﾞ  "),
            // A character outside the BMP: a surrogate pair in UTF-16.
            ("'𠮷野'::text", "𠮷野"),
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
            // psqlODBC's BoolsAsChar (on by default) describes a boolean as text `1`/`0`.
            ("true", "1"),
            ("false", "0"),
            ("'2025-04-01'::date", "2025-04-01"),
            ("'1899-12-31'::date", "1899-12-31"),
            ("'2025-04-01 09:05:00'::timestamp", "2025-04-01T09:05:00"),
            (
                "'2025-04-01 23:59:59.12'::timestamp",
                "2025-04-01T23:59:59.12",
            ),
            // psqlODBC writes a GUID in capitals.
            (
                "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid",
                "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
            ),
            ("NULL::text", ""),
            ("NULL::int4", ""),
            ("NULL::date", ""),
        ],
        Server::MariaDb => vec![
            ("'0012345'", "0012345"),
            ("CAST('山田 ' AS CHAR(10))", "山田 "),
            // The driver's UTF-16 drops the ① (Connector/ODBC 3.1.15): its UTF-8 bytes are
            // read instead. As bytes in the statement, which the driver mangles too.
            ("CONVERT(X'E9AB99E6A98BE291A0' USING utf8mb4)", "髙橋①"),
            ("'𠮷野'", "𠮷野"),
            ("CAST(-32768 AS SIGNED)", "-32768"),
            ("-9223372036854775808", "-9223372036854775808"),
            // An unsigned BIGINT above i64::MAX.
            ("18446744073709551615", "18446744073709551615"),
            ("CAST(0.1 AS FLOAT)", "0.1"),
            ("CAST(0.1 AS DOUBLE)", "0.1"),
            ("CAST(20000 AS DOUBLE)", "20000"),
            ("CAST(20000 AS DECIMAL(12,2))", "20000.00"),
            ("CAST(-0.000001234 AS DECIMAL(20,9))", "-0.000001234"),
            (
                "123456789012345678901234567890.123456789",
                "123456789012345678901234567890.123456789",
            ),
            // MariaDB's BOOLEAN is TINYINT(1).
            ("TRUE", "1"),
            ("FALSE", "0"),
            ("DATE '2025-04-01'", "2025-04-01"),
            ("DATE '1899-12-31'", "1899-12-31"),
            ("TIMESTAMP '2025-04-01 09:05:00'", "2025-04-01T09:05:00"),
            (
                "TIMESTAMP '2025-04-01 23:59:59.12'",
                "2025-04-01T23:59:59.12",
            ),
            ("CAST(NULL AS CHAR)", ""),
            ("CAST(NULL AS SIGNED)", ""),
            ("CAST(NULL AS DATE)", ""),
        ],
    }
}

#[test]
fn each_type_becomes_the_cell_a_csv_export_would_hold() {
    for server in SERVERS {
        let db = Db::new(server, &[]);
        let typed = typed(server);
        let select: Vec<String> = typed
            .iter()
            .enumerate()
            .map(|(i, (sql, _))| format!("{sql} AS c{i}"))
            .collect();
        let expected: Vec<&str> = typed.iter().map(|(_, cell)| *cell).collect();
        let config = json!({"connection_string": db.connection_string(), "query": format!("SELECT {}", select.join(", "))});
        let mut s = source(config).unwrap();
        assert_eq!(s.discover().unwrap().len(), expected.len(), "{server:?}");
        let read = read_to_end(&mut s, 10).unwrap();
        assert_eq!(read.errors(), [] as [(u64, &str); 0], "{server:?}");
        assert_eq!(read.cells(), [expected], "{server:?}");
    }
}

#[test]
fn a_query_or_a_table_reads_the_same_rows_whatever_the_batch_size() {
    for server in SERVERS {
        let db = jukyu(server);
        // MariaDB strips CHAR's trailing blanks (unless sql_mode has PAD_CHAR_TO_FULL_LENGTH).
        let (yamada, suzuki) = match server {
            Server::Postgres => ("ﾔﾏﾀﾞ      ", "ｽｽﾞｷ      "),
            Server::MariaDb => ("ﾔﾏﾀﾞ", "ｽｽﾞｷ"),
        };
        let cases = [
            (
                json!({"connection_string": db.connection_string(), "query": "SELECT bango, futan, kana, memo, ritsu, kingaku FROM jukyu ORDER BY bango;"}),
                vec!["bango", "futan", "kana", "memo", "ritsu", "kingaku"],
                vec![
                    vec!["0012345", "81136015", yamada, "", "0.1", "20000.00"],
                    vec!["0067890", "54130018", suzuki, "備考", "0.2", "0.50"],
                ],
            ),
            // The names quoted with the driver's own quote character (a backtick for
            // MariaDB, which takes "memo" for a string).
            (
                json!({"connection_string": db.connection_string(), "table": "jukyu", "columns": ["memo", "bango"]}),
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
                let mut read = read_to_end(&mut s, max_rows).unwrap();
                if config.get("table").is_some() {
                    // A table read has no ORDER BY.
                    read.rows.sort_by(|a, b| a.cells[1].cmp(&b.cells[1]));
                }
                assert_eq!(read.cells(), rows, "{config} (max_rows {max_rows})");
            }
        }
    }
}

#[test]
fn fetch_size_bounds_every_batch() {
    for server in SERVERS {
        let fill = match server {
            Server::Postgres => "INSERT INTO t SELECT generate_series(1, 25)",
            Server::MariaDb => "INSERT INTO t SELECT seq FROM seq_1_to_25",
        };
        let db = Db::new(server, &["CREATE TABLE t (n integer)", fill]);
        let mut s = source(json!({"connection_string": db.connection_string(), "query": "SELECT n FROM t ORDER BY n", "fetch_size": 10})).unwrap();
        let read = read_to_end(&mut s, 1000).unwrap();
        assert_eq!(read.batches, [10, 10, 5], "{server:?}");
        assert_eq!(read.lines(), (1..=25).collect::<Vec<u64>>(), "{server:?}");
        assert_eq!(read.cells()[24], ["25"], "{server:?}");
    }
}

/// CP932 bytes stored where the database does not know them as CP932, read where the driver
/// hands them over as stored: PostgreSQL `SQL_ASCII` through psqlODBC's ANSI driver with a
/// `SQL_ASCII` client encoding; a MariaDB `latin1` column over a `latin1` connection.
#[test]
fn cp932_bytes_the_driver_hands_over_are_decoded_strictly_by_row_and_column() {
    // 山田 in CP932; then a lead byte with no trail byte; then a binary value.
    let pg = Db::sql_ascii(&[
        "CREATE TABLE k (id int, 氏名 text, kana char(6), photo bytea)",
        "INSERT INTO k VALUES (1, E'\\x8e\\x52\\x93\\x63', E'\\xd4\\xcf', NULL)",
        "INSERT INTO k VALUES (2, E'\\x8e\\x52\\x83', 'x', NULL)",
        "INSERT INTO k VALUES (3, 'ok', 'y', '\\xffd8ff')",
    ]);
    let ansi = format!(
        "{};ConnSettings={{SET client_encoding TO SQL_ASCII}}",
        pg.connection_string()
            .replace("psqlodbcw.so", "psqlodbca.so")
    );
    let maria = Db::new(
        Server::MariaDb,
        &[
            "CREATE TABLE k (id int, shimei varchar(10) CHARACTER SET latin1, kana char(6) CHARACTER SET latin1, photo varbinary(10))",
            "INSERT INTO k VALUES (1, X'8E529363', X'D4CF', NULL)",
            "INSERT INTO k VALUES (2, X'8E5283', 'x', NULL)",
            "INSERT INTO k VALUES (3, 'ok', 'y', X'FFD8FF')",
        ],
    );
    let latin1 = format!("{};CHARSET=latin1", maria.connection_string());
    let cases = [
        (
            ansi,
            "SELECT id, 氏名, kana, photo FROM k ORDER BY id",
            "氏名",
            ["1", "山田", "ﾔﾏ    ", ""],
        ),
        (
            latin1,
            "SELECT id, shimei, kana, photo FROM k ORDER BY id",
            "shimei",
            ["1", "山田", "ﾔﾏ", ""],
        ),
    ];
    for (connection_string, query, name, first) in cases {
        let mut s = source(
            json!({"connection_string": connection_string, "query": query, "encoding": "cp932"}),
        )
        .unwrap();
        assert_eq!(s.discover().unwrap()[1], name, "{query}");
        let read = read_to_end(&mut s, 10).unwrap();
        assert_eq!(read.cells()[0], first, "{query}");
        let malformed = format!("row 2, column `{name}`: malformed CP932 byte at offset 2");
        assert_eq!(
            read.errors(),
            [
                (2, malformed.as_str()),
                (
                    3,
                    "row 3, column `photo`: a binary value cannot be a text cell (select it as text, or leave it out)"
                ),
            ],
            "{query}"
        );
        assert!(
            read.rows[1].cells.is_empty() && read.rows[2].cells.is_empty(),
            "no cell of a bad row is kept"
        );
    }
    // Through psqlODBC's Unicode driver the server converts to UTF-8 and refuses bytes that
    // are not: the read stops, naming the statement, and says why.
    let mut s = source(json!({"connection_string": pg.connection_string(), "query": "SELECT id, 氏名 FROM k ORDER BY id"})).unwrap();
    let err = s.next_batch(10).unwrap_err();
    assert_eq!(
        (err.kind, err.location.as_deref()),
        (RErrorKind::Io, Some("query")),
        "{err}"
    );
    assert!(err.message.contains("SQLSTATE 22021"), "{err}");
}

#[test]
fn nan_and_a_value_longer_than_the_buffer_are_row_errors() {
    let db = Db::new(Server::Postgres, &[]);
    for (sql, error) in [
        (
            "'NaN'::numeric",
            "row 1, column `v`: a value that is not a finite number or date (NaN or infinity)",
        ),
        (
            "'NaN'::float8",
            "row 1, column `v`: a value that is not a finite number or date (NaN or infinity)",
        ),
        (
            "repeat('x', 9000)",
            "row 1, column `v`: longer than this source reads of the column's values (4000 characters, from the column's described size; at most 4000): shorten it in the query",
        ),
    ] {
        let mut s = source(json!({"connection_string": db.connection_string(), "query": format!("SELECT {sql} AS v")})).unwrap();
        let read = read_to_end(&mut s, 10).unwrap();
        assert_eq!(read.errors(), [(1, error)], "{sql}");
    }
}

/// (config, the key named, the kind, words of the message), each failing `check` and the
/// first `next_batch` alike.
#[test]
fn every_failure_names_its_key_and_kind() {
    let pg = jukyu(Server::Postgres);
    let maria = jukyu(Server::MariaDb);
    // A user of the server's, not the database's: named after the test's database, dropped at
    // the end.
    let user = format!("{}_u", maria.name);
    maria.execute(&[
        &format!("CREATE USER '{user}'@'%' IDENTIFIED BY 'right-pw'"),
        &format!("GRANT SELECT ON {}.* TO '{user}'@'%'", maria.name),
    ]);
    let as_user = maria
        .connection_string()
        .replace("UID=root", &format!("UID={user}"));
    // The user and the password appended as PWD read the table.
    let mut s = source(json!({"connection_string": as_user, "password": "right-pw", "query": "SELECT bango FROM jukyu"})).unwrap();
    assert_eq!(read_to_end(&mut s, 10).unwrap().rows.len(), 2);
    let psqlodbc = driver_file("psqlodbcw.so").display().to_string();
    let maodbc = driver_file("libmaodbc.so").display().to_string();
    let mut cases: Vec<(Value, &str, RErrorKind, &str)> = vec![
        (
            json!({"connection_string": "Driver=/nonexistent/libpmhlink-no-driver.so;Server=x", "query": "SELECT 1 AS a"}),
            "connection_string",
            RErrorKind::Config,
            "cannot be loaded",
        ),
        (
            json!({"dsn": "PMHLINK_NO_SUCH_DSN", "query": "SELECT 1 AS a"}),
            "dsn",
            RErrorKind::Config,
            "Data source name not found",
        ),
        (
            json!({"connection_string": as_user, "password": "wrong-pw", "query": "SELECT 1 AS a"}),
            "password",
            RErrorKind::Config,
            "refused the login",
        ),
        (
            json!({"connection_string": format!("{as_user};PWD=wrong-pw"), "password": "right-pw", "query": "SELECT 1 AS a"}),
            "password",
            RErrorKind::Config,
            "already holds a password (`PWD`)",
        ),
    ];
    for (driver, port, refused) in [
        (&psqlodbc, 5432, "Connection refused"),
        (&maodbc, 3306, "Can't connect"),
    ] {
        cases.push((
            json!({"connection_string": format!("Driver={{{driver}}};Server=no-such-host.invalid;Port={port};Database=d;UID=u"), "query": "SELECT 1 AS a", "timeout_secs": 2}),
            "connection_string",
            RErrorKind::Io,
            "cannot connect",
        ));
        cases.push((
            json!({"connection_string": format!("Driver={{{driver}}};Server=127.0.0.1;Port=1;Database=d;UID=u"), "query": "SELECT 1 AS a", "timeout_secs": 2}),
            "connection_string",
            RErrorKind::Io,
            refused,
        ));
    }
    for db in [&pg, &maria] {
        let cs = db.connection_string();
        cases.extend([
            (
                json!({"connection_string": cs, "query": "SELECT bango FROM kojin"}),
                "query",
                RErrorKind::Config,
                "kojin",
            ),
            (
                json!({"connection_string": cs, "table": "jukyu", "columns": ["bango", "shimei"]}),
                "table",
                RErrorKind::Config,
                "does not run",
            ),
            (
                json!({"connection_string": cs, "query": "DELETE FROM jukyu"}),
                "query",
                RErrorKind::Config,
                "returns no columns",
            ),
            (
                json!({"connection_string": cs, "query": "SELECT bango, bango FROM jukyu"}),
                "query",
                RErrorKind::Config,
                "column `bango` twice",
            ),
            (
                json!({"connection_string": cs, "query": "SELECT CAST('09:00' AS TIME) AS t"}),
                "query",
                RErrorKind::Config,
                "the column `t` of SQL type TIME, which this source does not read",
            ),
        ]);
    }
    cases.extend([
        // psqlODBC prepares on the server: a syntax error is the server's description.
        (
            json!({"connection_string": pg.connection_string(), "query": "SELEC bango FROM jukyu"}),
            "query",
            RErrorKind::Config,
            "syntax error at or near \"SELEC\"",
        ),
        // MariaDB Connector/ODBC prepares only what it takes for a statement: it describes no
        // columns for what it cannot parse.
        (
            json!({"connection_string": maria.connection_string(), "query": "SELEC bango FROM jukyu"}),
            "query",
            RErrorKind::Config,
            "returns no columns",
        ),
        // psqlODBC reports every failed login as 08001; MariaDB's as the server's refusal.
        (
            json!({"connection_string": Server::Postgres.connection_string("pmhlink_no_such_db"), "query": "SELECT 1 AS a"}),
            "connection_string",
            RErrorKind::Io,
            "does not exist (SQLSTATE 08001",
        ),
        (
            json!({"connection_string": Server::MariaDb.connection_string("pmhlink_no_such_db"), "query": "SELECT 1 AS a"}),
            "connection_string",
            RErrorKind::Config,
            "Unknown database",
        ),
    ]);
    for (config, key, kind, words) in cases {
        let started = Instant::now();
        let s = source(config.clone());
        let s = match s {
            Ok(s) => s,
            // What the settings cannot mean is refused when the source opens.
            Err(err) => {
                assert_eq!(
                    (err.kind, err.location.as_deref()),
                    (kind, Some(key)),
                    "{config}: {err}"
                );
                assert!(err.message.contains(words), "{config}: {err}");
                continue;
            }
        };
        let Err(err) = s.check() else {
            panic!("{config}: check passed");
        };
        assert_eq!(err.location.as_deref(), Some(key), "{config}: {err}");
        assert_eq!(err.kind, kind, "{config}: {err}");
        assert!(err.message.contains(words), "{config}: {err}");
        for secret in [
            "right-pw",
            "wrong-pw",
            "no-such-host",
            "pmhlink_no_such_db",
            "127.0.0.1",
            "/nonexistent",
            "PMHLINK_NO_SUCH_DSN",
            user.as_str(),
            pg.name.as_str(),
            maria.name.as_str(),
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
    maria.execute(&[&format!("DROP USER '{user}'@'%'")]);
}

#[test]
fn a_statement_that_runs_too_long_stops_within_its_timeout() {
    // psqlODBC keeps SQL_ATTR_QUERY_TIMEOUT; MariaDB Connector/ODBC (3.1) ignores it, and the
    // server's max_statement_time, set by InitStmt, does the same.
    let pg = Db::new(Server::Postgres, &[]);
    let maria = Db::new(Server::MariaDb, &[]);
    let cases = [
        (pg.connection_string(), "SELECT 1 AS z FROM pg_sleep(30)"),
        (
            format!(
                "{};InitStmt={{SET SESSION max_statement_time=1}}",
                maria.connection_string()
            ),
            "SELECT SLEEP(30) AS z",
        ),
    ];
    for (connection_string, query) in cases {
        let mut s = source(
            json!({"connection_string": connection_string, "query": query, "timeout_secs": 1}),
        )
        .unwrap();
        let started = Instant::now();
        let err = s.next_batch(10).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(10), "bounded");
        assert_eq!(err.kind, RErrorKind::Io, "{err}");
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
}

#[test]
fn a_connection_dropped_mid_read_is_an_io_error_not_an_early_end() {
    for server in SERVERS {
        // Rows enough that they are not all on their way when the connection ends.
        let fill = match server {
            Server::Postgres => {
                "INSERT INTO t SELECT n, repeat('x', 200) FROM generate_series(1, 100000) AS n"
            }
            Server::MariaDb => "INSERT INTO t SELECT seq, REPEAT('x', 200) FROM seq_1_to_100000",
        };
        let db = Db::new(
            server,
            &["CREATE TABLE t (n integer, pad varchar(200))", fill],
        );
        let mut s = source(json!({"connection_string": db.connection_string(), "query": "SELECT n, pad FROM t ORDER BY n", "fetch_size": 10})).unwrap();
        assert_eq!(s.next_batch(10).unwrap().expect("a first batch").rows(), 10);
        assert_eq!(
            db.kill_connections(),
            1,
            "{server:?}: the source's one connection"
        );
        let mut rows = 10;
        let err = loop {
            match s.next_batch(10) {
                Ok(Some(batch)) => rows += batch.rows(),
                Ok(None) => panic!("{server:?}: an early end after {rows} rows"),
                Err(e) => break e,
            }
        };
        // psqlODBC fetches through a server-side cursor, so the kill lands mid-read. MariaDB
        // Connector/ODBC 3.1 holds the whole result by the time the first block is fetched
        // (its NO_CACHE does nothing before 3.2): the rows are all there, and the dead
        // connection is found at the end. Either way the read fails, never ends early.
        if server == Server::Postgres {
            assert!(rows < 100000, "{server:?}: {rows}");
        }
        assert_eq!(err.kind, RErrorKind::Io, "{server:?}: {err}");
        assert_eq!(
            err.location.as_deref(),
            Some("connection_string"),
            "{server:?}: {err}"
        );
        assert!(
            err.message
                .starts_with(&format!("reading stopped at row {}: ", rows + 1)),
            "{server:?}: {err}"
        );
        assert!(s.next_batch(10).unwrap().is_none());
    }
}

#[test]
fn the_read_is_one_transaction_while_the_vendor_system_writes_and_leaves_nothing_written() {
    for server in SERVERS {
        let fill = match server {
            Server::Postgres => "INSERT INTO t SELECT generate_series(1, 10)",
            Server::MariaDb => "INSERT INTO t SELECT seq FROM seq_1_to_10",
        };
        let db = Db::new(server, &["CREATE TABLE t (n integer)", fill]);
        let mut s = source(json!({"connection_string": db.connection_string(), "query": "SELECT n FROM t ORDER BY n", "fetch_size": 3})).unwrap();
        let mut rows = s.next_batch(3).unwrap().expect("a first batch").rows();
        db.execute(&[
            "INSERT INTO t VALUES (11), (12)",
            "DELETE FROM t WHERE n = 10",
        ]);
        while let Some(batch) = s.next_batch(3).unwrap() {
            rows += batch.rows();
        }
        assert_eq!(
            rows, 10,
            "{server:?}: the rows as they were when the read began"
        );
        // The transaction ran at REPEATABLE READ, with autocommit off.
        let isolation = match server {
            Server::Postgres => "SELECT current_setting('transaction_isolation') AS i",
            Server::MariaDb => "SELECT @@tx_isolation AS i",
        };
        let mut s =
            source(json!({"connection_string": db.connection_string(), "query": isolation}))
                .unwrap();
        let read = read_to_end(&mut s, 10).unwrap();
        assert!(
            read.cells()[0][0].eq_ignore_ascii_case("repeatable read")
                || read.cells()[0][0] == "REPEATABLE-READ",
            "{server:?}: {:?}",
            read.cells()
        );
    }
    // psqlODBC takes no SQL_ATTR_ACCESS_MODE: a statement that writes runs, and the rollback
    // at the end undoes it; with ConnSettings the server itself refuses it.
    let db = Db::new(
        Server::Postgres,
        &[
            "CREATE TABLE t (n integer)",
            "INSERT INTO t VALUES (1), (2)",
        ],
    );
    let mut s = source(
        json!({"connection_string": db.connection_string(), "query": "DELETE FROM t RETURNING n"}),
    )
    .unwrap();
    assert_eq!(read_to_end(&mut s, 10).unwrap().rows.len(), 2);
    assert_eq!(
        db.texts("SELECT count(*)::text FROM t"),
        ["2"],
        "rolled back"
    );
    let read_only = format!(
        "{};ConnSettings={{SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY}}",
        db.connection_string()
    );
    let mut s =
        source(json!({"connection_string": read_only, "query": "DELETE FROM t RETURNING n"}))
            .unwrap();
    let err = s.next_batch(10).unwrap_err();
    assert_eq!(
        (err.kind, err.location.as_deref()),
        (RErrorKind::Config, Some("query"))
    );
    assert!(err.message.contains("must only read"), "{err}");
    assert_eq!(db.texts("SELECT count(*)::text FROM t"), ["2"]);
}

#[test]
fn check_learns_each_column_type_without_reading_a_row() {
    use pmhlink_pdk::ColumnType as T;
    for server in SERVERS {
        let db = jukyu(server);
        let (flag, timestamp, photo) = match server {
            // BoolsAsChar=0: a boolean as SQL_BIT.
            Server::Postgres => ("true AS flag", "TIMESTAMP", "'\\x00'::bytea AS photo"),
            Server::MariaDb => (
                "CAST(b'1' AS UNSIGNED) AS flag",
                "DATETIME",
                "X'00' AS photo",
            ),
        };
        let cs = match server {
            Server::Postgres => format!("{};BoolsAsChar=0", db.connection_string()),
            Server::MariaDb => db.connection_string(),
        };
        let source = source(json!({
            "connection_string": cs,
            "query": format!("SELECT bango, futan, kana, ritsu, kingaku, {flag}, current_date AS day, CAST(current_timestamp AS {timestamp}) AS at, {photo} FROM jukyu")
        }))
        .unwrap();
        let flag_type = match server {
            Server::Postgres => T::Boolean,
            Server::MariaDb => T::Integer,
        };
        assert_eq!(
            source.column_types().unwrap(),
            [
                T::Text,
                T::Integer,
                T::Text,
                T::Float,
                T::Decimal,
                flag_type,
                T::Date,
                T::Timestamp,
                T::Binary
            ],
            "{server:?}"
        );
        assert_eq!(source.discover().unwrap().len(), 9);
    }
    // And a boolean fetched as SQL_BIT reads as 1 or 0.
    let db = Db::new(Server::Postgres, &[]);
    let mut s = source(json!({"connection_string": format!("{};BoolsAsChar=0", db.connection_string()), "query": "SELECT true AS a, false AS b, NULL::bool AS c"})).unwrap();
    assert_eq!(read_to_end(&mut s, 10).unwrap().cells(), [["1", "0", ""]]);
}

#[test]
fn the_settings_page_is_up_to_date() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/plugins/odbc.md");
    if let Err(stale) = pmhlink_pdk::docs::guided_page_is_current(
        &pmhlink_source_odbc::spec(),
        include_str!("../GUIDE.md"),
        &path,
    ) {
        panic!("{stale}");
    }
}

#[test]
fn dates_timestamps_and_floats_of_many_rows_each_read_their_own() {
    for server in SERVERS {
        let (real, timestamp) = match server {
            Server::Postgres => ("real", "timestamp"),
            Server::MariaDb => ("float", "datetime(2)"),
        };
        let db = Db::new(
            server,
            &[
                &format!(
                    "CREATE TABLE t (n integer, d date, ts {timestamp}, r {real}, f double precision, k numeric(5,1))"
                ),
                "INSERT INTO t VALUES (1, '2025-04-01', '2025-04-01 09:05:00', 0.1, 0.1, 1.5)",
                "INSERT INTO t VALUES (2, NULL, NULL, NULL, NULL, NULL)",
                "INSERT INTO t VALUES (3, '1999-12-31', '1999-12-31 23:59:59.25', 0.2, 0.2, -0.5)",
            ],
        );
        let mut s = source(json!({"connection_string": db.connection_string(), "query": "SELECT n, d, ts, r, f, k FROM t ORDER BY n"})).unwrap();
        assert_eq!(
            read_to_end(&mut s, 10).unwrap().cells(),
            [
                vec![
                    "1",
                    "2025-04-01",
                    "2025-04-01T09:05:00",
                    "0.1",
                    "0.1",
                    "1.5"
                ],
                vec!["2", "", "", "", "", ""],
                vec![
                    "3",
                    "1999-12-31",
                    "1999-12-31T23:59:59.25",
                    "0.2",
                    "0.2",
                    "-0.5"
                ],
            ],
            "{server:?}"
        );
    }
}
