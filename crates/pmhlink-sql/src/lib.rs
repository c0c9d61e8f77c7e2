//! What every database source plugin shares, so that a query on PostgreSQL, MariaDB, SQLite or
//! an ODBC driver gives exactly what a CSV export gives: text cells, a row position for
//! errors, strict decoding, and nothing personal or secret in any message.
//!
//! - [`DbConfig`]: the one settings shape (connection, password, `query` or `table` +
//!   `columns`, `fetch_size`, `timeout_secs`, `encoding`, `tls`), checked into [`DbSettings`].
//! - [`Value`] and [`write_cell`]: a typed value as the text a mapping expects, the same way in
//!   every plugin (NULL → empty, padding kept, dates ISO, decimals exact, booleans `0`/`1`,
//!   binary refused naming its column).
//! - [`Stage`]: where a failure happened, and the `reading stopped at row N: ` every read
//!   failure's message starts with.
//! - [`DbSource`] over a [`Database`]: the reading thread that owns the connection, one batch
//!   per request, and the source that starts it at the first batch.

mod reading;
mod settings;
mod stage;
mod value;

pub use reading::{Database, DbSource, Description, Reply, Requests};
pub use settings::{
    Connection, DEFAULT_TLS, DbConfig, DbSettings, Dialect, Encoding, Select, Tls, TlsMode,
    TlsRoots, UrlTls, result_columns,
};
pub use stage::Stage;
pub use value::{CellProblem, Value, write_cell};
