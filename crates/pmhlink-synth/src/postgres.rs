//! The subsidy system's rows as a table in a PostgreSQL database (feature `postgres`): what
//! `cargo xtask gen --postgres URL` loads and the example pipeline
//! `examples/sakurano/pipeline-postgres.toml` reads. The same cells as `subsidy.csv`, row for
//! row ([`SubsidyRows`]), as `text` columns named by [`SUBSIDY_HEADER`], and an ordinal
//! [`ORDINAL_COLUMN`] that keeps the export's order.
//!
//! Loading is idempotent: the table is dropped and created again in the transaction that fills
//! it, so a failed load leaves the previous table as it was. Rows stream through `COPY … FROM
//! STDIN` in batches of [`BATCH_ROWS`]; memory stays bounded whatever the town's size.

use std::io::{self, Write};

use pmhlink_rules::CivilDate;
use postgres::{Client, Transaction};

use crate::export::{SUBSIDY_HEADER, SubsidyRows};
use crate::person::SynthPerson;
use crate::synth::{PersonSink, Synth};

/// The table the rows go into (in the connection's default schema).
pub const SUBSIDY_TABLE: &str = "助成履歴";

/// 連番: the row's position in the export, from 1; `ORDER BY` it reads the rows in the export's
/// order.
pub const ORDINAL_COLUMN: &str = "連番";

/// Rows sent per `COPY`.
pub const BATCH_ROWS: usize = 5000;

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A PostgreSQL failure without what the server may quote of a row: its severity, SQLSTATE and
/// message (never the detail, which can hold a value).
fn pg_error(doing: &str) -> impl Fn(postgres::Error) -> io::Error + '_ {
    move |e| {
        let text = match e.as_db_error() {
            Some(db) => format!("{} {}: {}", db.severity(), db.code().code(), db.message()),
            None => e.to_string(),
        };
        io::Error::other(format!("PostgreSQL, {doing}: {text}"))
    }
}

/// One cell in COPY's text format: the four characters it gives a meaning escaped, so no cell
/// reads as NULL (`\N`) or splits its row.
fn copy_cell(out: &mut Vec<u8>, cell: &str) {
    for b in cell.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

/// The statement that reads the table back in the export's order, every column of
/// [`SUBSIDY_HEADER`].
pub fn select_in_order() -> String {
    let columns: Vec<String> = SUBSIDY_HEADER.iter().map(|c| quoted(c)).collect();
    format!(
        "SELECT {} FROM {} ORDER BY {}",
        columns.join(", "),
        quoted(SUBSIDY_TABLE),
        quoted(ORDINAL_COLUMN)
    )
}

/// A [`PersonSink`] loading the subsidy rows into [`SUBSIDY_TABLE`], in one transaction
/// committed by `finish`. Dropped unfinished, it rolls back and the previous table stays.
pub struct SubsidyTable<'c> {
    tx: Option<Transaction<'c>>,
    rows: SubsidyRows,
    copy: String,
    buf: Vec<u8>,
    buffered: usize,
    loaded: u64,
}

impl<'c> SubsidyTable<'c> {
    /// Drops and creates the table (in a transaction of `client`'s); `updated` is the export
    /// day, as for `subsidy.csv`.
    pub fn begin(client: &'c mut Client, updated: CivilDate) -> io::Result<Self> {
        let mut tx = client
            .transaction()
            .map_err(pg_error("starting a transaction"))?;
        let columns: Vec<String> = SUBSIDY_HEADER.iter().map(|c| quoted(c)).collect();
        let defs: Vec<String> = columns
            .iter()
            .map(|c| format!("{c} text NOT NULL"))
            .collect();
        let table = quoted(SUBSIDY_TABLE);
        let ordinal = quoted(ORDINAL_COLUMN);
        tx.batch_execute(&format!(
            "DROP TABLE IF EXISTS {table};
             CREATE TABLE {table} ({ordinal} bigint PRIMARY KEY, {});",
            defs.join(", ")
        ))
        .map_err(pg_error("creating the table"))?;
        Ok(SubsidyTable {
            tx: Some(tx),
            rows: SubsidyRows::new(updated),
            copy: format!(
                "COPY {table} ({ordinal}, {}) FROM STDIN",
                columns.join(", ")
            ),
            buf: Vec::with_capacity(1 << 20),
            buffered: 0,
            loaded: 0,
        })
    }

    /// Rows sent so far (and, after `finish`, committed).
    pub fn loaded(&self) -> u64 {
        self.loaded
    }

    fn tx(&mut self) -> io::Result<&mut Transaction<'c>> {
        self.tx
            .as_mut()
            .ok_or_else(|| io::Error::other("the table was already finished"))
    }

    fn send(&mut self) -> io::Result<()> {
        if self.buffered == 0 {
            return Ok(());
        }
        let statement = self.copy.clone();
        let buf = std::mem::take(&mut self.buf);
        let err = pg_error("copying rows");
        let tx = self.tx()?;
        let mut writer = tx.copy_in(&statement).map_err(&err)?;
        writer.write_all(&buf)?;
        let copied = writer.finish().map_err(&err)?;
        if copied != self.buffered as u64 {
            return Err(io::Error::other(format!(
                "PostgreSQL took {copied} rows of a batch of {}",
                self.buffered
            )));
        }
        self.loaded += copied;
        self.buffered = 0;
        self.buf = buf;
        self.buf.clear();
        Ok(())
    }
}

impl PersonSink for SubsidyTable<'_> {
    fn write_person(&mut self, person: &SynthPerson<'_>) -> io::Result<()> {
        for row in self.rows.of(person) {
            let ordinal = self.loaded + self.buffered as u64 + 1;
            self.buf.extend_from_slice(ordinal.to_string().as_bytes());
            for cell in &row {
                self.buf.push(b'\t');
                copy_cell(&mut self.buf, cell);
            }
            self.buf.push(b'\n');
            self.buffered += 1;
            if self.buffered >= BATCH_ROWS {
                self.send()?;
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.send()?;
        match self.tx.take() {
            Some(tx) => tx.commit().map_err(pg_error("committing")),
            None => Ok(()),
        }
    }
}

/// Loads `synth`'s subsidy rows into [`SUBSIDY_TABLE`] of `client`'s database, replacing what
/// was there; returns the rows loaded.
pub fn load_subsidy(client: &mut Client, synth: &Synth) -> io::Result<u64> {
    let mut table = SubsidyTable::begin(client, synth.config().as_of)?;
    synth.stream(&mut [&mut table])?;
    Ok(table.loaded())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_cells_escape_what_copy_reads_specially() {
        let mut out = Vec::new();
        copy_cell(&mut out, "a\\N\tb\nc\rd,\"e\" 髙");
        assert_eq!(out, "a\\\\N\\tb\\nc\\rd,\"e\" 髙".as_bytes());
    }

    #[test]
    fn the_query_reads_every_export_column_in_order() {
        let q = select_in_order();
        assert!(q.starts_with("SELECT \"宛名番号\", \"制度コード\""), "{q}");
        assert!(q.ends_with("FROM \"助成履歴\" ORDER BY \"連番\""), "{q}");
        assert_eq!(q.matches("\", \"").count(), SUBSIDY_HEADER.len() - 1);
    }
}
