//! The `postgres` source plugin: a query, or `table` + `columns`, on a PostgreSQL server (or a
//! PostgreSQL-compatible product), read the way the csv source reads a file — text cells, a
//! position (the row's ordinal in the result) for every error, strict decoding, no value in
//! any message.
//!
//! **Why the `postgres` crate**: it is the synchronous face of `tokio-postgres`, the
//! PostgreSQL client the Rust field uses most (pure Rust, the wire protocol's portals and
//! statement descriptions exposed as they are); it brings its own current-thread runtime, so
//! the plugin keeps its async machinery to itself, as the pmh-api sink does, and needs no
//! libpq on the municipality's server. `sqlx` would add a pool and compile-time query
//! machinery that a single streamed read does not use.
//!
//! - The read is **one `REPEATABLE READ, READ ONLY` transaction**: a snapshot, whatever writes
//!   the vendor system makes meanwhile, and no statement can change anything.
//! - Rows are streamed through a **portal** (the protocol's cursor) in `fetch_size` fetches by
//!   a thread of the plugin's own that owns the connection: at most `fetch_size` rows are in
//!   memory, whatever the table's size.
//! - `check` and `discover` **prepare** the statement and learn its columns from the server's
//!   description of it: no row is read.
//! - Values become cells through `pmhlink_sql::write_cell` (see [`pmhlink_sql::Value`]); text
//!   is taken as the server's bytes and decoded in `encoding`, so a `SQL_ASCII` database
//!   holding CP932 bytes reads right; NUMERIC is decoded exactly from its wire digits, never
//!   through a float; BYTEA, or text that does not decode, is a row error naming the row and
//!   the column. A column of another type is refused by `check`, naming it: cast it to text
//!   in `query`.
//! - `application_name` is `pmhlink`; `timeout_secs` bounds the connection attempt (name
//!   lookup included: an unknown host or a refused connection fails in that time) and each
//!   statement (`statement_timeout`).
//! - **No TLS yet**: the connection is plain. A `url` that asks for TLS (`sslmode=require`, …)
//!   is refused as configuration; use a local socket, a tunnel, or a network the data may
//!   cross in clear.
//! - Messages name the key they are about and the server's SQLSTATE; a statement that does
//!   not prepare is told by the server's description of what is wrong (which names the
//!   statement's words, never a row's values); an error while rows are read gives only its
//!   SQLSTATE, as the server's text may quote a value.

mod connect;
mod read;
mod tls;
mod types;
mod url;

use pmhlink_pdk::{PluginError, PluginSpec};
use pmhlink_sql::{DbConfig, DbSource};

pub use pmhlink_sql::DbConfig as Config;

pub fn spec() -> PluginSpec {
    PluginSpec::new(
        "postgres",
        env!("CARGO_PKG_VERSION"),
        "Reads a query or a table from a PostgreSQL server (one read-only REPEATABLE READ transaction, streamed in fetch_size fetches).",
    )
    .config_schema_of::<DbConfig>()
    .capability("utf-8")
    .capability("cp932")
}

pub type PostgresSource = DbSource<connect::Target>;

pub fn open(config: DbConfig) -> Result<PostgresSource, PluginError> {
    connect::Target::new(config).map(DbSource::new)
}

pmhlink_pdk::export_source_plugin!(spec, open);
