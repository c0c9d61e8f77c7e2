//! The data source as a `pmhlink_sql::Database`: learning a statement's columns by preparing
//! it, and the reading thread's body, which owns the connection, the statement and the bound
//! row-set buffer, fetching `fetch_size` rows a block.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};

use odbc_api::buffers::ColumnarDynBuffer;
use odbc_api::handles::{SqlResult, SqlText, Statement, StatementImpl};
use odbc_api::{ColumnDescription, Cursor, CursorImpl};
use pmhlink_pdk::PluginError;
use pmhlink_pdk::api::BatchBuilder;
use pmhlink_sql::{Database, Description, Dialect, Requests, Select, Stage, write_cell};

use crate::connect::{Diagnostic, Session, Target};
use crate::types::{self, Column, Unreadable};

/// The most memory a row-set buffer takes: rows so wide that `fetch_size` of them would need
/// more are fetched fewer at a time.
const BUFFER_BUDGET: usize = 128 << 20;

/// A statement's column names and how each is read.
struct Described {
    names: Vec<String>,
    columns: Vec<Column>,
}

/// The statement prepared on `session` (SQLPrepare), and its columns (SQLNumResultCols,
/// SQLDescribeCol): nothing is executed, no row is read.
fn prepare<'s>(
    session: &'s Session,
    target: &Target,
) -> Result<(StatementImpl<'s>, Described), PluginError> {
    let key = target.settings.select_key();
    let connection = session.handle();
    let mut statement = Diagnostic::from_result(connection.allocate_statement(), connection)
        .map_err(|d| target.failure(&d, Stage::Prepare))?;
    let sql = statement_text(session, target);
    let prepared = statement.prepare(&SqlText::new(&sql));
    Diagnostic::from_result(prepared, &statement)
        .map_err(|d| target.failure(&d, Stage::Prepare))?;
    let count = Diagnostic::from_result(statement.num_result_cols(), &statement)
        .map_err(|d| target.failure(&d, Stage::Prepare))?;
    let count = u16::try_from(count).unwrap_or(0);
    let mut names = Vec::new();
    let mut descriptions = Vec::new();
    for i in 1..=count {
        let mut d = ColumnDescription::default();
        Diagnostic::from_result(statement.describe_col(i, &mut d), &statement)
            .map_err(|d| target.failure(&d, Stage::Prepare))?;
        // An ANSI driver behind unixODBC's UTF-16 conversion can leave the name's byte length
        // as its length: the rest comes as NULs.
        let units = d.name.split(|u| *u == 0).next().unwrap_or(&[]);
        let name = String::from_utf16(units).map_err(|_| {
            PluginError::config(format!(
                "`{key}` returns a column whose name (column {i}) the driver did not give as text"
            ))
            .at(key)
        })?;
        names.push(name);
        descriptions.push(d.data_type);
    }
    if names.is_empty() {
        return Err(PluginError::config(format!(
            "`{key}` returns no columns: it is no SELECT (or one the driver leaves to the server to judge when it runs: MariaDB's reports a syntax error only then)"
        ))
        .at(key));
    }
    pmhlink_sql::result_columns(key, &names)?;
    let columns = names
        .iter()
        .zip(&descriptions)
        .map(|(name, data_type)| {
            Column::of(*data_type).ok_or_else(|| types::unreadable_type(key, name, *data_type))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((statement, Described { names, columns }))
}

/// The statement to prepare: the `query`, or for `table` + `columns` a SELECT whose names are
/// quoted with the driver's own quote character (SQLGetInfo `SQL_IDENTIFIER_QUOTE_CHAR`: MySQL
/// and MariaDB quote with a backtick, and take `"x"` for a string).
fn statement_text(session: &Session, target: &Target) -> String {
    let select = &target.settings.select;
    let Select::Table { table, columns } = select else {
        return select.sql(Dialect::Odbc);
    };
    let q = match session.handle().identifier_quote_char() {
        SqlResult::Success(Some(c)) | SqlResult::SuccessWithInfo(Some(c)) => c,
        _ => '"',
    };
    let quote = |name: &str| -> String {
        name.split('.')
            .map(|part| {
                let doubled = part.replace(q, &format!("{q}{q}"));
                format!("{q}{doubled}{q}")
            })
            .collect::<Vec<_>>()
            .join(".")
    };
    let columns: Vec<String> = columns.iter().map(|c| quote(c)).collect();
    format!("SELECT {} FROM {}", columns.join(", "), quote(table))
}

/// The statement's columns, from preparing it on a connection of its own: no row is read.
fn described(target: &Target) -> Result<Described, PluginError> {
    let attempt = catch_unwind(AssertUnwindSafe(|| {
        let session = target.connect()?;
        let (statement, described) = prepare(&session, target)?;
        drop(statement);
        Ok(described)
    }));
    attempt.unwrap_or_else(|payload| {
        std::mem::forget(payload);
        Err(panicked())
    })
}

fn panicked() -> PluginError {
    PluginError::other(
        "the ODBC driver returned what odbc-api could not take (it panicked; the message is withheld)",
    )
}

impl Database for Target {
    const THREAD: &'static str = "pmhlink-odbc";

    fn describe(&self) -> Result<Description, PluginError> {
        described(self).map(|d| Description {
            types: d.columns.iter().map(|c| c.column_type()).collect(),
            names: d.names,
        })
    }

    fn serve(self, requests: Requests) {
        let mut channel = Channel {
            requests: &requests,
            pending: false,
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| serve(&self, &mut channel)));
        if outcome.is_err() && channel.pending {
            // A panic inside odbc-api (a driver answering what it may not): the read stops
            // with an error, never with an early end; the handles were let go as it unwound.
            requests.answer(Err(panicked()));
        }
    }
}

/// The requests, and whether one is waiting for its answer (so a panic can still be answered).
struct Channel<'r> {
    requests: &'r Requests,
    pending: bool,
}

impl Channel<'_> {
    fn next(&mut self) -> Option<usize> {
        let next = self.requests.next();
        self.pending = next.is_some();
        next
    }

    /// Answers the waiting request; `false` when the thread is to stop.
    fn answer_batch(&mut self, batch: BatchBuilder, failed: Option<PluginError>) -> bool {
        self.pending = false;
        self.requests.answer_batch(batch, failed)
    }

    fn refuse(&mut self, e: PluginError) {
        self.pending = false;
        self.requests.answer(Err(e));
    }
}

fn serve(target: &Target, channel: &mut Channel<'_>) {
    let settings = &target.settings;
    let Some(mut max_rows) = channel.next() else {
        return;
    };
    let session = match target.connect() {
        Ok(s) => s,
        Err(e) => return channel.refuse(e),
    };
    let (mut statement, described) = match prepare(&session, target) {
        Ok(p) => p,
        Err(e) => return channel.refuse(e),
    };
    let secs = usize::try_from(settings.timeout.as_secs()).unwrap_or(usize::MAX);
    // A driver that has no query timeout says so here; the read goes on without one.
    let _ = statement.set_query_timeout_sec(secs);
    // SAFETY: the statement has no parameters bound; nothing is dereferenced but its text.
    #[allow(unsafe_code)]
    let executed = unsafe { statement.execute() }.or_no_data();
    let has_rows = match Diagnostic::from_result(executed, &statement) {
        Ok(rows) => rows.is_some(),
        Err(d) => return channel.refuse(target.failure(&d, Stage::Read { row: 1 })),
    };
    if !has_rows {
        // SQL_NO_DATA: a statement that returned no result.
        channel.answer_batch(BatchBuilder::new(), None);
        return;
    }
    // SAFETY: the statement was executed and returned a result set: it is in cursor state.
    #[allow(unsafe_code)]
    let cursor = unsafe { CursorImpl::new(statement) };
    let bytes = session.hands_utf8_bytes();
    let descs: Vec<_> = described
        .columns
        .iter()
        .map(|c| c.buffer(settings.encoding, bytes))
        .collect();
    let row_bytes: usize = descs
        .iter()
        .map(|d| d.bytes_per_row())
        .sum::<usize>()
        .max(1);
    let rows = settings.fetch_size.min(BUFFER_BUDGET / row_bytes).max(1);
    let buffer = match ColumnarDynBuffer::try_from_descs(rows, descs) {
        Ok(b) => b,
        Err(_) => {
            return channel.refuse(PluginError::other(format!(
                "cannot allocate a row-set buffer of {rows} rows: lower `fetch_size`"
            )));
        }
    };
    let mut block = match cursor.bind_buffer(buffer) {
        Ok(b) => b,
        Err(e) => {
            return channel.refuse(target.failure(&Diagnostic::of(&e), Stage::Read { row: 1 }));
        }
    };
    let mut queue: VecDeque<Result<Vec<String>, String>> = VecDeque::new();
    let mut row_number = 0u64;
    let mut fetched = 0u64;
    let mut done = false;
    let mut scratch = Vec::new();
    loop {
        let limit = max_rows.min(settings.fetch_size).max(1);
        let mut batch = BatchBuilder::new();
        let mut failed = None;
        while pmhlink_pdk::batch::has_room(&batch, limit) {
            if queue.is_empty() && !done {
                match block.fetch() {
                    Ok(Some(rowset)) => {
                        let n = rowset.num_rows();
                        for i in 0..n {
                            fetched += 1;
                            queue.push_back(row(
                                rowset,
                                i,
                                &described,
                                target,
                                fetched,
                                &mut scratch,
                            ));
                        }
                        if n == 0 {
                            done = true;
                        }
                    }
                    Ok(None) => {
                        done = true;
                        // A driver that reports a broken connection as the end of the rows
                        // must not make a short read look whole.
                        let dead = session.handle().is_dead();
                        if matches!(
                            dead,
                            SqlResult::Success(true) | SqlResult::SuccessWithInfo(true)
                        ) {
                            failed = Some(target.lost(row_number + 1));
                            break;
                        }
                    }
                    Err(e) => {
                        failed = Some(target.failure(
                            &Diagnostic::of(&e),
                            Stage::Read {
                                row: row_number + 1,
                            },
                        ));
                        break;
                    }
                }
            }
            let Some(entry) = queue.pop_front() else {
                break;
            };
            row_number += 1;
            match entry {
                Ok(cells) => {
                    for c in &cells {
                        batch.push_cell(c);
                    }
                }
                Err(message) => batch.row_error(message),
            }
            batch.end_row(row_number);
        }
        // After the end, the next request is answered with no rows (the end), then the
        // source lets the thread go.
        if !channel.answer_batch(batch, failed) {
            break;
        }
        match channel.next() {
            Some(n) => max_rows = n,
            None => break,
        }
    }
    drop(block);
    drop(session);
}

/// Row `i` of the fetched row set as its cells, or the row error (naming the row and the
/// column, never the value) when a value cannot be a cell.
fn row(
    rowset: &ColumnarDynBuffer,
    i: usize,
    described: &Described,
    target: &Target,
    row_number: u64,
    scratch: &mut Vec<u8>,
) -> Result<Vec<String>, String> {
    let encoding = target.settings.encoding;
    let mut cells = Vec::with_capacity(described.columns.len());
    for (c, (name, column)) in described.names.iter().zip(&described.columns).enumerate() {
        let mut cell = String::new();
        let problem = match types::value(*column, rowset.column(c), i, scratch) {
            Ok(value) => write_cell(value, encoding, &mut cell)
                .err()
                .map(|p| p.message(row_number, name)),
            Err(Unreadable::TooLong) => Some(format!(
                "row {row_number}, column `{name}`: longer than this source reads of the column's values ({} characters, from the column's described size; at most {}): shorten it in the query",
                column.limit(),
                types::MAX_CELL_CHARS
            )),
            Err(Unreadable::Malformed) => Some(format!(
                "row {row_number}, column `{name}`: the driver sent a value its type does not have"
            )),
        };
        if let Some(message) = problem {
            return Err(message);
        }
        cells.push(cell);
    }
    Ok(cells)
}
