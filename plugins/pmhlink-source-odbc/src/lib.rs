//! The `odbc` source plugin: a query, or `table` + `columns`, through any ODBC driver — the
//! way to Oracle, SQL Server, Db2, Symfoware and whatever a vendor ships a driver for — read the
//! way the csv source reads a file: text cells, a position (the row's ordinal in the result) for
//! every error, strict decoding, no value in any message. It links the platform's driver
//! manager (unixODBC's `libodbc` on Linux, `odbc32.dll` on Windows), which loads the driver the
//! `dsn` (odbc.ini) or `connection_string` (`Driver=…`) names.
//!
//! **Why `odbc-api`**: it is the maintained ODBC binding for Rust (pacman82), safe over the
//! handles where the C API allows, with column-wise bound row-set buffers (`ColumnarDynBuffer`,
//! block cursors) that are exactly the bounded block fetch this source needs, and its raw
//! `handles` layer for the few calls it does not wrap (connection attributes). Built with
//! `default-features = false` (no `prompt`: a Windows dialog to complete a connection string,
//! which a nightly job never shows) and **`wide`**: the UTF-16 function family (SQLDriverConnectW,
//! SQLPrepareW, SQLDescribeColW, SQLGetDiagRecW) on Linux too. The narrow family would hand the
//! connection string, the statement, the column names (宛名番号) and the driver's messages to
//! the driver manager as bytes in an encoding nobody states (unixODBC converts for a Unicode
//! driver by a guess at the locale, and a nightly job's locale is often `C`); UTF-16 is the one
//! encoding every Unicode driver and the Windows driver manager agree on.
//!
//! - **The transaction**: before the statement runs, the connection asks for
//!   `SQL_ATTR_TXN_ISOLATION` REPEATABLE READ (else SERIALIZABLE), `SQL_ATTR_ACCESS_MODE` read
//!   only and autocommit off, so the one statement runs in one transaction the plugin never
//!   commits: it is rolled back when the read ends (or fails), so nothing a statement wrote
//!   stays. A driver that refuses an attribute is left at its default: the read goes on at the
//!   driver's isolation, and writes are still undone by the rollback (psqlODBC and MariaDB
//!   Connector/ODBC both ignore the access mode; the page says how to make the server refuse
//!   writes). A driver that cannot turn autocommit off (few) commits each statement: only DDL
//!   or a procedure with side effects could then change anything, and a `query` is a SELECT.
//! - **Columns** are learnt by preparing the statement (SQLPrepare, SQLNumResultCols,
//!   SQLDescribeCol): nothing is executed, no row is read. A statement with no result columns
//!   is refused (a DELETE; and, as MariaDB's driver prepares, a statement it cannot parse).
//!   `table` + `columns` is quoted with the driver's own quote character (SQLGetInfo), so MySQL
//!   and MariaDB get backticks.
//! - **Rows** are fetched in blocks of `fetch_size` into a column-wise bound row-set buffer (one
//!   SQLFetch a block), converted, and handed out one batch per request by a thread of the
//!   plugin's own that owns the connection: the plugin holds one block, whatever the table's
//!   size. (Whether the *driver* holds more is the driver's: psqlODBC streams only with
//!   `UseDeclareFetch=1`; MariaDB Connector/ODBC before 3.2 keeps the whole result.) Very wide
//!   rows are fetched fewer at a time, so the buffer stays under 128 MiB.
//! - **Values** become cells through `pmhlink_sql::write_cell` (see [`pmhlink_sql::Value`]):
//!   text as UTF-16 from the driver (`SQL_C_WCHAR`, the driver converting from the database's
//!   encoding) and decoded strictly (an unpaired surrogate is a row error), or, with
//!   `encoding = "cp932"`, as the bytes the driver hands over (`SQL_C_CHAR`), decoded strictly
//!   in CP932 (MariaDB's and MySQL's drivers always give bytes, the connection's character
//!   set: MariaDB Connector/ODBC 3.1 drops characters in its UTF-16); NUMERIC/DECIMAL and integers as the driver's text (exact, never through a float;
//!   `.5` becomes `0.5`); floats, dates and timestamps from their C structs; a boolean (SQL_BIT)
//!   as `1`/`0`; a binary column is a row error naming the row and the column (a NULL one is an
//!   empty cell). A text value longer than its buffer (the column's described size, at least
//!   256 and at most 4000 characters) is a row error, never cut short. A column of another SQL
//!   type (TIME, INTERVAL, XML, …) is refused by `check`, naming it: cast it in the query.
//! - **`timeout_secs`** is the login timeout (`SQL_ATTR_LOGIN_TIMEOUT`; the plugin also stops
//!   waiting a few seconds after it for a driver that does not keep it) and the statement's
//!   query timeout (`SQL_ATTR_QUERY_TIMEOUT`), which the driver may or may not keep (psqlODBC
//!   does; MariaDB Connector/ODBC 3.1 does not: the page says how).
//! - **Messages** name the key they are about and the SQLSTATE and native error. The driver's
//!   words are shown for a failed login and a statement that does not prepare, with every
//!   value of the connection string (host, database, user, driver path) and the password cut
//!   out; an error while rows are read gives only its codes, as its words may quote a value. A
//!   driver that reports a lost connection as the end of the rows is caught: at the end the
//!   connection is asked whether it is dead (SQL_ATTR_CONNECTION_DEAD), and a dead one is an
//!   I/O error, never a complete read.
//! - **No panic leaves the plugin**: odbc-api panics when a driver fails to close or free a
//!   handle (and on a few impossible answers); the connection is closed by the plugin's own
//!   [`connect::Session`], which never panics (a handle that will not close is leaked), and
//!   every call that could panic runs under `catch_unwind`, its panic an error whose message is
//!   withheld.

mod connect;
mod read;
mod types;

use pmhlink_pdk::{PluginError, PluginSpec};
use pmhlink_sql::{DbConfig, DbSource};

pub use pmhlink_sql::DbConfig as Config;

pub fn spec() -> PluginSpec {
    PluginSpec::new(
        "odbc",
        env!("CARGO_PKG_VERSION"),
        "Reads a query or a table through an ODBC driver (unixODBC or the Windows driver manager), in one read-only transaction where the driver allows, fetched in fetch_size blocks.",
    )
    .config_schema_of::<DbConfig>()
    .capability("utf-8")
    .capability("cp932")
}

pub type OdbcSource = DbSource<connect::Target>;

pub fn open(config: DbConfig) -> Result<OdbcSource, PluginError> {
    connect::Target::new(config).map(DbSource::new)
}

pmhlink_pdk::export_source_plugin!(spec, open);
