//! The `mysql` source plugin: a query, or `table` + `columns`, on a MySQL or MariaDB server,
//! read the way the csv source reads a file — text cells, a position (the row's ordinal in the
//! result) for every error, strict decoding, no value in any message.
//!
//! **Why the `mysql` crate** (blackbeam's `rust-mysql-simple`): it is the synchronous client
//! the Rust field has used longest for both servers, pure Rust (built here with
//! `minimal-rust` and `rustls-tls-ring`: nothing to link on the municipality's server); its
//! results are **unbuffered** — each row is read off the socket when the iterator is asked
//! for it, never the whole result into memory — and `prep` returns the server's description
//! of a prepared statement's columns without executing it. Being synchronous, the plugin's
//! reading thread owns the connection and needs no runtime (`mysql_async` and `sqlx` would
//! bring tokio for one streamed read).
//!
//! **Why rustls (the client's `rustls-tls-ring`) and not its `native-tls`**: as for the
//! postgres source, native-tls would tie the plugin to the machine's TLS library — a `libssl`
//! of the version it was built against on Linux, SChannel with its own protocol and
//! certificate rules on Windows — so that `verify-ca` and the messages would mean different
//! things on different servers and could not all be tested here; rustls is the same code
//! everywhere, already the postgres source's and the pmh-api sink's. Ring, not the client's
//! default `rustls-tls` (aws-lc-rs): no cmake, no assembler, no C library to build. The
//! client's rustls trusts its own built-in public CAs beside a `tls_ca_file`'s, which `tls.rs`
//! undoes (so `tls_ca_file` is the only CAs, as libpq's `sslrootcert`); without a file, the
//! CAs checked are those built-in ones, not the machine's certificate store.
//!
//! - The read is **one consistent snapshot**: `SET SESSION TRANSACTION ISOLATION LEVEL
//!   REPEATABLE READ`, then `START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY` before
//!   the statement runs: whatever writes the vendor system makes meanwhile are not seen
//!   (InnoDB tables; MyISAM and Aria have no snapshots), and the statement cannot change
//!   anything.
//! - The statement is **prepared** (`check` and `discover` stop there: no row is read) and
//!   executed over the binary protocol; its rows are streamed by a thread of the plugin's own
//!   that owns the connection, at most `fetch_size` (and the host's `max_rows`) per batch, so
//!   memory holds one batch whatever the table's size.
//! - Values become cells through `pmhlink_sql::write_cell` (see [`pmhlink_sql::Value`]): the
//!   session sets `PAD_CHAR_TO_FULL_LENGTH` in `sql_mode` so `CHAR(n)` keeps its padding as
//!   the other sources do; DECIMAL is the server's exact text; DATE and DATETIME are ISO;
//!   TIMESTAMP is in UTC (`time_zone = '+00:00'`, as the postgres source gives
//!   `timestamptz`); a zero date reads as the server writes it (`0000-00-00`); integers
//!   (TINYINT(1) included: it is also a one-digit number) as written; BIT(1) is `0`/`1`
//!   (a boolean), a wider BIT its number; BLOB/BINARY/VARBINARY (the binary character set,
//!   63) are a row error naming the row and the column. TIME, GEOMETRY and VECTOR are refused
//!   by `check`, naming the column: cast them in the query.
//! - Text is taken **as the server's bytes** (`character_set_results = NULL`: no
//!   conversion) and decoded strictly in `encoding`: a value that does not decode is a row
//!   error naming its row and column. A text column whose character set says what it holds
//!   must agree with `encoding`: utf8mb3/utf8mb4 with `utf-8`, cp932/sjis with `cp932`
//!   (`check` refuses the rest, naming the column); a single-byte set (latin1, ascii, …), in
//!   which old systems often stored CP932 bytes, is read in whichever `encoding` says.
//! - `timeout_secs` bounds: the connection attempt (name lookup and login included: an
//!   unknown host or a refused port fails within it); each statement `check` prepares, on the
//!   server (`max_statement_time` on MariaDB, `max_execution_time` on MySQL); and, five
//!   seconds more, each wait of the socket for the server while rows are read (a statement
//!   slow to give its next row, a server that stops answering). The server's own limit is
//!   lifted for the streamed read itself, because MySQL and MariaDB count a statement's whole
//!   run, the time they wait for pmhlink to take rows included: a city's read would be
//!   stopped however quickly each row came.
//! - **TLS** is `tls` and `tls_ca_file` (libpq's `sslmode` words and meanings, `require` by
//!   default), or the `url`'s `ssl-mode` and `ssl-ca` as MySQL's clients write them, a
//!   conflict refused naming both (`src/url.rs`): `require` encrypts and checks no
//!   certificate; `verify-ca` checks its chain, `verify-full` its host name too; `prefer`
//!   falls back to plain when the server has no TLS or the handshake fails. A Unix socket is
//!   plain whatever `tls` says. Failures are messages at `tls`, `tls_ca_file` or `url`
//!   (`src/tls.rs`).
//! - Messages name the key they are about and the server's error code and SQLSTATE; a
//!   statement that does not prepare is told by the server's description of what is wrong
//!   (which quotes the statement, never a row's values); an error while rows are read gives
//!   only its code and SQLSTATE, as the server's text may quote a value.

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
        "mysql",
        env!("CARGO_PKG_VERSION"),
        "Reads a query or a table from a MySQL or MariaDB server (one read-only consistent snapshot, rows streamed unbuffered in fetch_size batches).",
    )
    .config_schema_of::<DbConfig>()
    .capability("utf-8")
    .capability("cp932")
}

pub type MysqlSource = DbSource<connect::Target>;

pub fn open(config: DbConfig) -> Result<MysqlSource, PluginError> {
    connect::Target::new(config).map(DbSource::new)
}

pmhlink_pdk::export_source_plugin!(spec, open);
