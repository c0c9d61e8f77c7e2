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
//! **Why rustls (`tokio-postgres-rustls`, ring) and not `postgres-native-tls`**: native-tls
//! would tie the plugin to the TLS library of the machine it runs on — a `libssl` of the
//! version it was built against on Linux (a cdylib copied to a municipality's server of
//! another release fails to load, or loads another OpenSSL), SChannel on Windows with its own
//! protocol and certificate rules — so that `verify-ca` and the messages would mean different
//! things on different servers, and could not all be tested here. rustls is the same code
//! everywhere, already the pmh-api sink's TLS (one TLS stack in the product, one set of
//! rules to review), and builds with ring, no cmake, no C library to match. Windows servers
//! lose nothing that matters: the system's roots come from the Windows certificate store
//! through `rustls-native-certs`, as from `/etc/ssl/certs` on Linux. What rustls does not do
//! that OpenSSL does — TLS 1.0/1.1, a certificate without subjectAltName matched by its CN —
//! is nothing a server should still offer; such a server's certificate is refused under
//! `verify-full` (a message that names the certificate's names), and is fine under
//! `verify-ca`.
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
//! - **TLS** is `tls` (libpq's `sslmode` words and meanings, `require` by default) with
//!   `tls_ca_file` (libpq's `sslrootcert`); a `url`'s `sslmode`/`sslrootcert` are the same
//!   settings (said twice differently: refused, naming both). `require` encrypts without
//!   checking the certificate unless a CA file is given, which makes it `verify-ca`;
//!   `verify-ca` checks the chain, `verify-full` the chain and the host name; `prefer` goes
//!   plain when the server refuses TLS or the handshake fails, as libpq does; a Unix socket is
//!   plain whatever `tls` says, as libpq. Unlike libpq, `verify-ca`/`verify-full` without a CA
//!   file use the system's roots (libpq 16's `sslrootcert=system`, also taken) instead of
//!   `~/.postgresql/root.crt`, and libpq's `PGSSLMODE`-style variables are not read. A refused
//!   or failed TLS connection is a config error at `tls`, `tls_ca_file` or `url` (where the
//!   setting was said); of the certificate only the names it is for are told.
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
