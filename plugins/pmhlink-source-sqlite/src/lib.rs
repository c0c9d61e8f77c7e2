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

use pmhlink_pdk::{PluginError, PluginSpec};
use pmhlink_sql::{DbConfig, DbSource, Dialect};

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

pub type SqliteSource = DbSource<read::Sqlite>;

pub fn open(config: DbConfig) -> Result<SqliteSource, PluginError> {
    config
        .settle(Dialect::Sqlite)
        .map(|settings| DbSource::new(read::Sqlite(settings)))
}

pmhlink_pdk::export_source_plugin!(spec, open);
