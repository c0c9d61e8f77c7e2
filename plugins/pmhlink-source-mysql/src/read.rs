//! The MySQL or MariaDB database as a `pmhlink_sql::Database`: learning a statement's columns
//! by preparing it, and the reading thread's body, which owns the connection, the snapshot
//! and the unbuffered result.

use std::collections::BTreeMap;
use std::mem::ManuallyDrop;

use mysql::prelude::Queryable;
use mysql::{Conn, Row, Statement};
use pmhlink_pdk::PluginError;
use pmhlink_pdk::api::BatchBuilder;
use pmhlink_sql::{Database, Description, Dialect, Requests, Stage, write_cell};

use crate::connect::Target;
use crate::types::{self, Column};

/// The statement prepared on `conn`: its column names and how each is read. No row is read.
fn prepare(
    conn: &mut Conn,
    target: &Target,
) -> Result<(Statement, Vec<String>, Vec<Column>), PluginError> {
    let key = target.settings.select_key();
    let statement = conn
        .prep(target.settings.select.sql(Dialect::MySql))
        .map_err(|e| target.failure(&e, Stage::Prepare))?;
    if statement.num_params() > 0 {
        return Err(PluginError::config(format!(
            "`{key}` has parameters (`?`), which nothing gives: write the values in the statement"
        ))
        .at(key));
    }
    let described = statement.columns();
    // Names come in the server's own character set for names (UTF-8): they are not data.
    let names: Vec<String> = described
        .iter()
        .map(|c| String::from_utf8_lossy(c.name_ref()).into_owned())
        .collect();
    pmhlink_sql::result_columns(key, &names)?;
    let readings = types::columns(&described, key)?;
    let charsets = charsets(conn, &readings, target)?;
    types::check_charsets(&names, &readings, &charsets, target.settings.encoding)?;
    Ok((statement, names, readings))
}

/// The character set of each collation the text columns have, as the server names it:
/// `information_schema.COLLATIONS`, and for MariaDB's newer collations (ids above what that
/// table lists) `COLLATION_CHARACTER_SET_APPLICABILITY`, which MySQL lacks.
fn charsets(
    conn: &mut Conn,
    readings: &[Column],
    target: &Target,
) -> Result<BTreeMap<u16, String>, PluginError> {
    let mut wanted: Vec<u16> = readings
        .iter()
        .filter_map(|r| match r {
            Column::Text { collation } if *collation != types::BINARY => Some(*collation),
            _ => None,
        })
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    let mut found = BTreeMap::new();
    for (table, optional) in [
        ("COLLATIONS", false),
        ("COLLATION_CHARACTER_SET_APPLICABILITY", true),
    ] {
        let missing: Vec<String> = wanted
            .iter()
            .filter(|id| !found.contains_key(*id))
            .map(u16::to_string)
            .collect();
        if missing.is_empty() {
            break;
        }
        let rows = conn.query_map_opt(
            format!(
                "SELECT ID, CHARACTER_SET_NAME FROM information_schema.{table} WHERE ID IN ({})",
                missing.join(", ")
            ),
            |row: Result<(u16, String), _>| row.ok(),
        );
        match rows {
            Ok(rows) => found.extend(rows.into_iter().flatten()),
            Err(_) if optional => {}
            Err(e) => return Err(target.failure(&e, Stage::Connect)),
        }
    }
    Ok(found)
}

/// The statement's columns and how each is read, from preparing it: no row is read.
fn described(target: &Target) -> Result<(Vec<String>, Vec<Column>), PluginError> {
    let mut conn = target.connect()?;
    prepare(&mut conn, target).map(|(_, names, readings)| (names, readings))
}

impl Database for Target {
    const THREAD: &'static str = "pmhlink-mysql";

    fn describe(&self) -> Result<Description, PluginError> {
        let (names, readings) = described(self)?;
        let types = readings.iter().map(|r| r.column_type()).collect();
        Ok(Description { names, types })
    }

    fn serve(self, requests: Requests) {
        serve(&self, requests);
    }
}

fn serve(target: &Target, requests: Requests) {
    let mut conn = match target.connect() {
        Ok(c) => c,
        Err(e) => return requests.refuse(e),
    };
    // One read-only snapshot, taken before the statement runs.
    if let Err(e) = conn.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY") {
        return requests.refuse(target.failure(&e, Stage::Connect));
    }
    let (statement, names, readings) = match prepare(&mut conn, target) {
        Ok(p) => p,
        Err(e) => return requests.refuse(e),
    };
    if let Err(e) = target.unlimited(&mut conn) {
        return requests.refuse(target.failure(&e, Stage::Connect));
    }
    // The client reads each row off the socket when asked for it: nothing is buffered beyond
    // the socket's own buffers. Dropping a result drains it (reads every row left), so a read
    // that stops early leaves it undropped and closes the connection instead.
    let mut result = match conn.exec_iter(&statement, ()) {
        Ok(r) => ManuallyDrop::new(r),
        Err(e) => return requests.refuse(target.failure(&e, Stage::Read { row: 1 })),
    };
    let settings = &target.settings;
    let mut row_number = 0u64;
    let mut done = false;
    let mut cells = Cells::default();
    while let Some(max_rows) = requests.next() {
        let limit = max_rows.min(settings.fetch_size).max(1);
        let mut batch = BatchBuilder::new();
        let mut failed = None;
        while !done && pmhlink_pdk::batch::has_room(&batch, limit) {
            match result.next() {
                None => done = true,
                Some(Ok(row)) => {
                    row_number += 1;
                    cells.push_row(&mut batch, &row, &names, &readings, target, row_number);
                }
                Some(Err(e)) => {
                    failed = Some(target.failure(
                        &e,
                        Stage::Read {
                            row: row_number + 1,
                        },
                    ));
                    break;
                }
            }
        }
        if !requests.answer_batch(batch, failed) {
            return;
        }
    }
    if done {
        // Nothing is left to drain.
        drop(ManuallyDrop::into_inner(result));
    }
}

/// The buffers one row's cells are made in.
#[derive(Default)]
struct Cells {
    cells: Vec<String>,
}

impl Cells {
    /// One result row into the batch; a value that cannot be a cell makes the row a row error
    /// (kept, without cells, so the host counts and reports it).
    fn push_row(
        &mut self,
        batch: &mut BatchBuilder,
        row: &Row,
        names: &[String],
        readings: &[Column],
        target: &Target,
        row_number: u64,
    ) {
        self.cells.resize_with(names.len(), String::new);
        for (i, (name, reading)) in names.iter().zip(readings).enumerate() {
            let value = row
                .as_ref(i)
                .ok_or(types::Malformed)
                .and_then(|wired| reading.value(wired));
            let problem = match value {
                Ok(value) => write_cell(value, target.settings.encoding, &mut self.cells[i])
                    .err()
                    .map(|p| p.message(row_number, name)),
                Err(types::Malformed) => Some(format!(
                    "row {row_number}, column `{name}`: the server sent a value its type does not have"
                )),
            };
            if let Some(message) = problem {
                batch.row_error(message);
                batch.end_row(row_number);
                return;
            }
        }
        for c in &self.cells {
            batch.push_cell(c);
        }
        batch.end_row(row_number);
    }
}
