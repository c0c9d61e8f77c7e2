//! Opening the database read-only, learning a statement's columns, and the reading thread.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use pmhlink_pdk::api::BatchBuilder;
use pmhlink_pdk::{ColumnType, PluginError};
use pmhlink_sql::{
    Connection, Database, DbSettings, Description, Dialect, Requests, Stage, Value, write_cell,
};
use rusqlite::config::DbConfig;
use rusqlite::types::ValueRef;
use rusqlite::{OpenFlags, Statement};

fn path(settings: &DbSettings) -> &Path {
    match &settings.connection {
        Connection::Url(url) => Path::new(url.strip_prefix("sqlite://").unwrap_or(url)),
        // `settle` for the SQLite dialect takes `url` only.
        _ => unreachable!("a SQLite source connects by `url`"),
    }
}

/// The database, read-only (a missing file is an error, never a new database).
fn connect(settings: &DbSettings) -> Result<rusqlite::Connection, PluginError> {
    let path = path(settings);
    // SQLite would open a FIFO or wait on a device; only a regular file is a database here.
    pmhlink_pdk::fs::open_regular_file(path).map_err(|e| e.at("url"))?;
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = rusqlite::Connection::open_with_flags(path, flags).map_err(|e| {
        PluginError::io(format!(
            "cannot open the SQLite database `url` names: {}",
            sqlite_text(&e)
        ))
        .at("url")
    })?;
    let setup = |e: rusqlite::Error| {
        PluginError::io(format!("cannot set up the connection: {}", sqlite_text(&e))).at("url")
    };
    conn.busy_timeout(settings.timeout).map_err(setup)?;
    // SQLite reads a double-quoted name that is no column as a string literal: `table` +
    // `columns` with a misspelt column would yield its name in every row. Off, it is an error.
    for dqs in [
        DbConfig::SQLITE_DBCONFIG_DQS_DML,
        DbConfig::SQLITE_DBCONFIG_DQS_DDL,
    ] {
        conn.set_db_config(dqs, false).map_err(setup)?;
    }
    Ok(conn)
}

/// SQLite's own description of an error: the engine's fixed texts (`no such table: kojin`,
/// `near "SELEC": syntax error`) name the statement's words, never a row's values.
/// A statement that does not prepare is told by its message and the offset of the bad token;
/// the statement itself is configuration, which messages never repeat.
fn sqlite_text(e: &rusqlite::Error) -> String {
    match e {
        rusqlite::Error::SqlInputError { msg, offset, .. } => {
            format!("{msg} (at character {} of the statement)", offset + 1)
        }
        rusqlite::Error::SqliteFailure(code, Some(message)) => {
            format!("{message} ({:?})", code.code)
        }
        rusqlite::Error::SqliteFailure(code, None) => format!("{:?}", code.code),
        other => other.to_string(),
    }
}

fn prepare<'c>(
    conn: &'c rusqlite::Connection,
    settings: &DbSettings,
) -> Result<(Statement<'c>, Vec<String>), PluginError> {
    let key = settings.select_key();
    let statement = conn
        .prepare(&settings.select.sql(Dialect::Sqlite))
        .map_err(|e| match &e {
            rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::NotADatabase => {
                PluginError::data(format!(
                    "the file `url` names is not a SQLite database: {}",
                    sqlite_text(&e)
                ))
                .at("url")
            }
            _ => PluginError::config(format!("`{key}` does not run: {}", sqlite_text(&e))).at(key),
        })?;
    if !statement.readonly() {
        return Err(
            PluginError::config(format!("`{key}` must only read (a single SELECT)")).at(key),
        );
    }
    let names: Vec<String> = statement
        .column_names()
        .into_iter()
        .map(str::to_owned)
        .collect();
    pmhlink_sql::result_columns(key, &names)?;
    Ok((statement, names))
}

/// The statement's columns, and their types from the declared types of the table columns it
/// reads (SQLite's affinity rules; an expression has none), from preparing it: no row is read.
fn describe(settings: &DbSettings) -> Result<Description, PluginError> {
    let conn = connect(settings)?;
    let (statement, names) = prepare(&conn, settings)?;
    let types = statement
        .columns()
        .iter()
        .map(|c| c.decl_type().map_or(ColumnType::Other, declared_type))
        .collect();
    Ok(Description { names, types })
}

/// A declared column type by SQLite's affinity rules (a name holding `INT` is an integer, one
/// holding `CHAR`, `CLOB` or `TEXT` is text, …), dates and booleans told by their names.
/// NUMERIC affinity stores a text that looks like a number as a number: it loses leading
/// zeros as an INTEGER column does.
fn declared_type(declared: &str) -> ColumnType {
    let t = declared.to_ascii_uppercase();
    let has = |word: &str| t.contains(word);
    if has("INT") {
        ColumnType::Integer
    } else if has("CHAR") || has("CLOB") || has("TEXT") {
        ColumnType::Text
    } else if has("BLOB") || t.trim().is_empty() {
        ColumnType::Binary
    } else if has("REAL") || has("FLOA") || has("DOUB") {
        ColumnType::Float
    } else if has("BOOL") {
        ColumnType::Boolean
    } else if has("TIME") {
        ColumnType::Timestamp
    } else if has("DATE") {
        ColumnType::Date
    } else {
        ColumnType::Decimal
    }
}

/// The SQLite database a source reads.
#[derive(Clone)]
pub struct Sqlite(pub DbSettings);

impl Database for Sqlite {
    const THREAD: &'static str = "pmhlink-sqlite";

    fn describe(&self) -> Result<Description, PluginError> {
        describe(&self.0)
    }

    fn serve(self, requests: Requests) {
        serve(&self.0, requests);
    }
}

/// Milliseconds since `epoch` past which the current batch's stepping is interrupted.
struct Deadline {
    epoch: Instant,
    at_ms: Arc<AtomicU64>,
}

impl Deadline {
    fn arm(&self, settings: &DbSettings) {
        let at = self.epoch.elapsed() + settings.timeout;
        self.at_ms.store(
            u64::try_from(at.as_millis()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }
}

fn serve(settings: &DbSettings, requests: Requests) {
    // The first request gets the opening's error, if any.
    let conn = match connect(settings) {
        Ok(c) => c,
        Err(e) => {
            return requests.refuse(e);
        }
    };
    let deadline = Deadline {
        epoch: Instant::now(),
        at_ms: Arc::new(AtomicU64::new(u64::MAX)),
    };
    let (epoch, at_ms) = (deadline.epoch, Arc::clone(&deadline.at_ms));
    conn.progress_handler(
        10_000,
        Some(move || {
            u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
                > at_ms.load(Ordering::Relaxed)
        }),
    );
    // One read transaction: every batch sees the same snapshot.
    if let Err(e) = conn.execute_batch("BEGIN DEFERRED") {
        return requests.refuse(
            PluginError::io(format!(
                "cannot begin a read transaction: {}",
                sqlite_text(&e)
            ))
            .at("url"),
        );
    }
    let (mut statement, names) = match prepare(&conn, settings) {
        Ok(p) => p,
        Err(e) => {
            return requests.refuse(e);
        }
    };
    let mut rows = match statement.query([]) {
        Ok(rows) => rows,
        Err(e) => {
            return requests.refuse(step_error(settings, &e, 0));
        }
    };
    let mut row_number = 0u64;
    let mut done = false;
    let mut cell = String::new();
    while let Some(max_rows) = requests.next() {
        if done {
            requests.answer(Ok(None));
            continue;
        }
        deadline.arm(settings);
        let limit = max_rows.min(settings.fetch_size).max(1);
        let mut batch = BatchBuilder::new();
        let mut failed = None;
        while pmhlink_pdk::batch::has_room(&batch, limit) {
            match rows.next() {
                Ok(Some(row)) => {
                    row_number += 1;
                    push_row(&mut batch, row, &names, settings, row_number, &mut cell);
                }
                Ok(None) => {
                    done = true;
                    break;
                }
                Err(e) => {
                    failed = Some(step_error(settings, &e, row_number + 1));
                    break;
                }
            }
        }
        if !requests.answer_batch(batch, failed) {
            return;
        }
    }
}

fn step_error(settings: &DbSettings, e: &rusqlite::Error, row: u64) -> PluginError {
    let interrupted = matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::OperationInterrupted);
    let stopped = Stage::Read { row }.prefix();
    if interrupted {
        PluginError::io(format!(
            "{stopped}a batch took longer than `timeout_secs` ({} s)",
            settings.timeout.as_secs()
        ))
        .at("timeout_secs")
    } else {
        PluginError::io(format!("{stopped}{}", sqlite_text(e))).at(settings.select_key())
    }
}

/// One result row into the batch; a value that cannot be a cell makes the row a row error
/// (kept, without cells, so the host counts and reports it).
fn push_row(
    batch: &mut BatchBuilder,
    row: &rusqlite::Row<'_>,
    names: &[String],
    settings: &DbSettings,
    row_number: u64,
    cell: &mut String,
) {
    let mut cells: Vec<String> = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let value = match row.get_ref(i) {
            Ok(ValueRef::Null) | Err(_) => Value::Null,
            Ok(ValueRef::Integer(n)) => Value::Int(n),
            Ok(ValueRef::Real(f)) => Value::Float(f),
            Ok(ValueRef::Text(bytes)) => Value::Text(bytes),
            Ok(ValueRef::Blob(_)) => Value::Binary,
        };
        match write_cell(value, settings.encoding, cell) {
            Ok(()) => cells.push(cell.clone()),
            Err(problem) => {
                batch.row_error(problem.message(row_number, name));
                batch.end_row(row_number);
                return;
            }
        }
    }
    for c in &cells {
        batch.push_cell(c);
    }
    batch.end_row(row_number);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_by_sqlite_affinity() {
        for (declared, want) in [
            ("INTEGER", ColumnType::Integer),
            ("bigint", ColumnType::Integer),
            ("CHAR(7)", ColumnType::Text),
            ("VARCHAR(20)", ColumnType::Text),
            ("TEXT", ColumnType::Text),
            ("CLOB", ColumnType::Text),
            ("BLOB", ColumnType::Binary),
            ("REAL", ColumnType::Float),
            ("DOUBLE PRECISION", ColumnType::Float),
            ("NUMERIC(10,2)", ColumnType::Decimal),
            ("DECIMAL", ColumnType::Decimal),
            ("BOOLEAN", ColumnType::Boolean),
            ("DATE", ColumnType::Date),
            ("DATETIME", ColumnType::Timestamp),
            ("TIMESTAMP", ColumnType::Timestamp),
        ] {
            assert_eq!(declared_type(declared), want, "{declared}");
        }
    }
}
