//! The `sqlite` source plugin: a query, or `table` + `columns`, on a SQLite database file,
//! read the way the csv source reads a file — text cells, a position (the row's ordinal in the
//! result) for every error, strict decoding, no value in any message.
//!
//! **Why rusqlite**: the maintained Rust binding of SQLite's own C library (bundled, so the
//! version is the one the tests ran), already in the tree for the ledger; the engine is the
//! reference implementation, not a re-implementation.
//!
//! - The file is opened **read-only** (never created), and the whole read is one read
//!   transaction: a snapshot, whatever writes the vendor system makes meanwhile.
//! - `check` and `discover` prepare the statement to learn its columns and never step it, so
//!   they read no row.
//! - Rows are stepped by a thread of the plugin's own that owns the connection (SQLite's
//!   statement borrows its connection across `next_batch` calls), one batch per request: at
//!   most `fetch_size` rows are in memory, whatever the table's size.
//! - Values become cells through `pmhlink_sql::write_cell`; a BLOB, or TEXT that does not decode
//!   in `encoding`, is a row error naming the row and the column.
//! - `timeout_secs` bounds the waiting on a locked file and the time each batch's stepping may
//!   take (SQLite's progress handler interrupts the statement).

mod read;

use pmhlink_pdk::api::RBatch;
use pmhlink_pdk::{PluginError, PluginSpec, SourcePlugin};
use pmhlink_sql::{DbConfig, DbSettings, Dialect};

pub use pmhlink_sql::DbConfig as Config;

pub fn spec() -> PluginSpec {
    PluginSpec::new(
        "sqlite",
        env!("CARGO_PKG_VERSION"),
        "Reads a query or a table from a SQLite database file (opened read-only, one transaction).",
    )
    .config_schema_of::<DbConfig>()
    .capability("utf-8")
    .capability("cp932")
}

pub fn open(config: DbConfig) -> Result<SqliteSource, PluginError> {
    Ok(SqliteSource {
        settings: config.settle(Dialect::Sqlite)?,
        reading: None,
        finished: false,
    })
}

pub struct SqliteSource {
    settings: DbSettings,
    reading: Option<read::Reading>,
    finished: bool,
}

impl SourcePlugin for SqliteSource {
    fn check(&self) -> Result<(), PluginError> {
        read::columns(&self.settings).map(drop)
    }

    fn discover(&self) -> Result<Vec<String>, PluginError> {
        read::columns(&self.settings)
    }

    fn next_batch(&mut self, max_rows: usize) -> Result<Option<RBatch>, PluginError> {
        if self.finished {
            return Ok(None);
        }
        let reading = match &mut self.reading {
            Some(r) => r,
            None => self
                .reading
                .insert(read::Reading::start(self.settings.clone())),
        };
        let batch = reading.next(max_rows);
        if !matches!(batch, Ok(Some(_))) {
            self.finished = true;
            self.reading = None;
        }
        batch
    }
}

pmhlink_pdk::export_source_plugin!(spec, open);
