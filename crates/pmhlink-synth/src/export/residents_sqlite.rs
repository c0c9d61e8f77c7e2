//! `residents.sqlite`: the resident registry as a SQLite database, the embedded default a
//! resident system may keep instead of handing over a fixed-width file. One STRICT table
//! [`RESIDENTS_TABLE`] of TEXT columns named as the fixed-width layout labels its fields, the
//! same residents as `residents.dat` row for row ([`resident_cells`]), the birth date as ISO
//! text (the mapping's `era_date` step reads it as it reads the export's era digits).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use rusqlite::Connection;

use super::layout::FixedLayout;
use super::residents::resident_cells;
use crate::person::SynthPerson;
use crate::synth::PersonSink;

/// The registry's table.
pub const RESIDENTS_TABLE: &str = "住民";

/// The table's columns, in order: the labels of the fixed-width layout's data fields, so a
/// pipeline names the same columns whichever registry it reads.
pub fn resident_columns() -> Vec<&'static str> {
    FixedLayout::residents()
        .record("D")
        .value_fields()
        .map(|f| f.label)
        .collect()
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Writes the registry into a file beside its destination and renames it into place when the
/// last resident is in: a generation that fails leaves no half-written database behind, and a
/// new one replaces the old whole.
pub struct ResidentsSqlite {
    conn: Option<Connection>,
    insert: String,
    partial: PathBuf,
    path: PathBuf,
    count: u64,
}

fn sqlite_error(path: &Path) -> impl Fn(rusqlite::Error) -> io::Error + '_ {
    move |e| io::Error::other(format!("{}: {e}", path.display()))
}

impl ResidentsSqlite {
    /// Creates the table in a fresh database that becomes `path` when the stream finishes.
    pub fn create(path: &Path) -> io::Result<Self> {
        let mut partial = path.as_os_str().to_owned();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        match fs::remove_file(&partial) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let err = sqlite_error(&partial);
        let conn = Connection::open(&partial).map_err(&err)?;
        let columns = resident_columns();
        let defs: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                // 宛名番号, the first column, is the registry's key.
                let key = if i == 0 { " PRIMARY KEY" } else { "" };
                format!("{} TEXT NOT NULL{key}", quoted(c))
            })
            .collect();
        // Generated data: nothing to protect from a power cut, and the file is renamed into
        // place only once complete. A larger page cache, since 宛名番号s arrive in no order and
        // each insert touches the key's index somewhere else.
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -65536;
             CREATE TABLE {} ({}) STRICT;
             BEGIN;",
            quoted(RESIDENTS_TABLE),
            defs.join(", ")
        ))
        .map_err(&err)?;
        let slots: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
        let insert = format!(
            "INSERT INTO {} VALUES ({})",
            quoted(RESIDENTS_TABLE),
            slots.join(", ")
        );
        drop(err);
        Ok(ResidentsSqlite {
            conn: Some(conn),
            insert,
            partial,
            path: path.to_owned(),
            count: 0,
        })
    }

    /// Residents written so far.
    pub fn count(&self) -> u64 {
        self.count
    }
}

impl PersonSink for ResidentsSqlite {
    fn write_person(&mut self, person: &SynthPerson<'_>) -> io::Result<()> {
        let Some(cells) = resident_cells(person)? else {
            return Ok(());
        };
        let birth = cells.birth.to_string();
        let conn = self
            .conn
            .as_ref()
            .ok_or_else(|| io::Error::other("the registry was already finished"))?;
        let err = sqlite_error(&self.partial);
        conn.prepare_cached(&self.insert)
            .and_then(|mut stmt| stmt.execute(cells.values(&birth)))
            .map_err(&err)?;
        self.count += 1;
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        let Some(conn) = self.conn.take() else {
            return Ok(());
        };
        let err = sqlite_error(&self.partial);
        conn.execute_batch("COMMIT").map_err(&err)?;
        conn.close().map_err(|(_, e)| err(e))?;
        fs::rename(&self.partial, &self.path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", self.path.display())))
    }
}
