//! The PostgreSQL database as a `pmhlink_sql::Database`: learning a statement's columns, and
//! the reading thread's body, which owns the connection, the transaction and the portal.

use std::collections::VecDeque;

use pmhlink_pdk::PluginError;
use pmhlink_pdk::api::BatchBuilder;
use pmhlink_sql::{Database, Description, Dialect, Requests, Stage, write_cell};
use postgres::{IsolationLevel, Row, Transaction};

use crate::connect::Target;
use crate::types::{self, Column, Raw};

/// The statement prepared in `tx`: its column names and how each is read.
fn prepare(
    tx: &mut Transaction<'_>,
    target: &Target,
) -> Result<(postgres::Statement, Vec<String>, Vec<Column>), PluginError> {
    let key = target.settings.select_key();
    let statement = tx
        .prepare(&target.settings.select.sql(Dialect::Postgres))
        .map_err(|e| target.failure(&e, Stage::Prepare))?;
    let names: Vec<String> = statement
        .columns()
        .iter()
        .map(|c| c.name().to_owned())
        .collect();
    pmhlink_sql::result_columns(key, &names)?;
    let readings = types::columns(&statement, key)?;
    Ok((statement, names, readings))
}

fn begin<'c>(
    client: &'c mut postgres::Client,
    target: &Target,
) -> Result<Transaction<'c>, PluginError> {
    client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .map_err(|e| target.failure(&e, Stage::Connect))
}

/// The statement's columns and how each is read, from preparing it: no row is read.
fn described(target: &Target) -> Result<(Vec<String>, Vec<Column>), PluginError> {
    let mut client = target.connect()?;
    let mut tx = begin(&mut client, target)?;
    prepare(&mut tx, target).map(|(_, names, readings)| (names, readings))
}

impl Database for Target {
    const THREAD: &'static str = "pmhlink-postgres";

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
    let mut client = match target.connect() {
        Ok(c) => c,
        Err(e) => return requests.refuse(e),
    };
    // One read-only snapshot for every fetch.
    let mut tx = match begin(&mut client, target) {
        Ok(tx) => tx,
        Err(e) => return requests.refuse(e),
    };
    let (statement, names, readings) = match prepare(&mut tx, target) {
        Ok(p) => p,
        Err(e) => return requests.refuse(e),
    };
    let portal = match tx.bind(&statement, &[]) {
        Ok(p) => p,
        Err(e) => return requests.refuse(target.failure(&e, Stage::Read { row: 1 })),
    };
    let settings = &target.settings;
    let fetch = i32::try_from(settings.fetch_size).unwrap_or(i32::MAX);
    let mut fetched: VecDeque<Row> = VecDeque::new();
    let mut row_number = 0u64;
    let mut done = false;
    let mut cells = Cells::default();
    while let Some(max_rows) = requests.next() {
        let limit = max_rows.min(settings.fetch_size).max(1);
        let mut batch = BatchBuilder::new();
        let mut failed = None;
        while pmhlink_pdk::batch::has_room(&batch, limit) {
            if fetched.is_empty() && !done {
                match tx.query_portal(&portal, fetch) {
                    Ok(rows) => {
                        done = rows.len() < settings.fetch_size;
                        fetched.extend(rows);
                    }
                    Err(e) => {
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
            let Some(row) = fetched.pop_front() else {
                break;
            };
            row_number += 1;
            cells.push_row(&mut batch, &row, &names, &readings, target, row_number);
        }
        if !requests.answer_batch(batch, failed) {
            return;
        }
    }
}

/// The buffers one row's cells are made in.
#[derive(Default)]
struct Cells {
    cells: Vec<String>,
    numeric: String,
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
                .try_get::<_, Raw<'_>>(i)
                .map_err(|_| types::Malformed)
                .and_then(|Raw(raw)| reading.value(raw, &mut self.numeric));
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
