//! The one settings shape of every database source, and the checks serde cannot express.
//! Errors name the key, never a value: a connection string or a query may hold a password.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use pmhlink_pdk::PluginError;
use schemars::JsonSchema;
use serde::Deserialize;

/// The text encoding the database's text is stored in: the one every source shares. Old
/// municipal systems keep CP932 bytes in databases that call themselves something else (a
/// PostgreSQL `SQL_ASCII` database, a latin1 MySQL column): the bytes are decoded strictly, as
/// the file sources do.
pub use pmhlink_rules::text::SourceEncoding as Encoding;

/// Which database a plugin talks to: what connection forms it takes, how it quotes names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
    MySql,
    Odbc,
}

impl Dialect {
    /// `name` as a quoted identifier; `schema.table` quotes each part.
    pub fn quote(self, name: &str) -> String {
        let q = if self == Dialect::MySql { '`' } else { '"' };
        name.split('.')
            .map(|part| {
                let doubled = part.replace(q, &format!("{q}{q}"));
                format!("{q}{doubled}{q}")
            })
            .collect::<Vec<_>>()
            .join(".")
    }
}

/// A database source's `config` table, the same for every database plugin (each refuses the
/// keys that mean nothing for its database).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DbConfig {
    /// Where the database is: `postgres://user@host:5432/db`, `mysql://user@host:3306/db`, or
    /// for SQLite the database file's path.
    #[serde(default)]
    pub url: Option<String>,
    /// The server's host name or address (instead of `url`).
    #[serde(default)]
    pub host: Option<String>,
    /// The server's port (with `host`; the database's usual port when absent).
    #[serde(default)]
    pub port: Option<u16>,
    /// The database name (with `host`).
    #[serde(default)]
    pub database: Option<String>,
    /// The user name (with `host`).
    #[serde(default)]
    pub user: Option<String>,
    /// ODBC: a data source name from odbc.ini.
    #[serde(default)]
    pub dsn: Option<String>,
    /// ODBC: a full connection string (`Driver=…;Server=…`). Write a password in it as `${VAR}`.
    #[serde(default)]
    pub connection_string: Option<String>,
    /// The password. Write `${VAR}` so it comes from the environment; it is never shown.
    #[serde(default)]
    pub password: Option<String>,
    /// A file holding the password (its first line), instead of `password`.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// The query that returns one row per record (a single SELECT). Its column names are the
    /// source's columns.
    #[serde(default)]
    pub query: Option<String>,
    /// A table (or view, `schema.table`) to read instead of `query`, with `columns`.
    #[serde(default)]
    pub table: Option<String>,
    /// The columns of `table` to read, in this order.
    #[serde(default)]
    pub columns: Option<Vec<String>>,
    /// Rows fetched from the server at a time (a cursor's fetch size); memory stays bounded by
    /// it, whatever the table's size.
    #[serde(default = "default_fetch_size")]
    #[schemars(range(min = 1, max = 1_000_000))]
    pub fetch_size: usize,
    /// Seconds a connection attempt, and each fetch, may take before the read stops.
    #[serde(default = "default_timeout_secs")]
    #[schemars(range(min = 1))]
    pub timeout_secs: u64,
    /// How the database's text is encoded, decoded strictly (CP932 bytes in a database that
    /// calls itself something else are common in old municipal systems).
    #[serde(default)]
    pub encoding: Encoding,
}

fn default_fetch_size() -> usize {
    1000
}

fn default_timeout_secs() -> u64 {
    30
}

/// Where to connect, in the one form the configuration gave.
#[derive(Clone, PartialEq, Eq)]
pub enum Connection {
    /// A URL, or for SQLite the file's path.
    Url(String),
    Parts {
        host: String,
        port: Option<u16>,
        database: String,
        user: Option<String>,
    },
    Dsn(String),
    ConnectionString(String),
}

impl fmt::Debug for Connection {
    // A URL or a connection string can hold a password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Connection::Url(_) => "Connection::Url(***)",
            Connection::Parts { .. } => "Connection::Parts(***)",
            Connection::Dsn(_) => "Connection::Dsn(***)",
            Connection::ConnectionString(_) => "Connection::ConnectionString(***)",
        })
    }
}

/// What to read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Select {
    Query(String),
    Table { table: String, columns: Vec<String> },
}

impl Select {
    /// The statement to run.
    pub fn sql(&self, dialect: Dialect) -> String {
        match self {
            Select::Query(q) => q.trim().trim_end_matches(';').to_owned(),
            Select::Table { table, columns } => {
                let columns: Vec<String> = columns.iter().map(|c| dialect.quote(c)).collect();
                format!(
                    "SELECT {} FROM {}",
                    columns.join(", "),
                    dialect.quote(table)
                )
            }
        }
    }
}

/// A checked configuration.
#[derive(Clone)]
pub struct DbSettings {
    pub connection: Connection,
    password: Option<Password>,
    pub select: Select,
    pub fetch_size: usize,
    pub timeout: Duration,
    pub encoding: Encoding,
}

#[derive(Clone)]
enum Password {
    Given(String),
    File(PathBuf),
}

impl fmt::Debug for DbSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DbSettings")
            .field("connection", &self.connection)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("select", &self.select)
            .field("fetch_size", &self.fetch_size)
            .field("timeout", &self.timeout)
            .field("encoding", &self.encoding)
            .finish()
    }
}

fn invalid(key: &str, message: impl Into<String>) -> PluginError {
    PluginError::config(message).at(key)
}

fn nonempty(key: &str, value: Option<String>) -> Result<Option<String>, PluginError> {
    match value {
        Some(v) if v.trim().is_empty() => Err(invalid(key, format!("`{key}` is empty"))),
        other => Ok(other),
    }
}

impl DbConfig {
    /// Checks the settings for `dialect`; every error names the key it is about.
    pub fn settle(self, dialect: Dialect) -> Result<DbSettings, PluginError> {
        let connection = self.connection(dialect)?;
        let password = match (nonempty("password", self.password)?, self.password_file) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "password_file",
                    "give `password` or `password_file`, not both",
                ));
            }
            (Some(p), None) => Some(Password::Given(p)),
            (None, Some(f)) => Some(Password::File(f)),
            (None, None) => None,
        };
        if dialect == Dialect::Sqlite && password.is_some() {
            let key = if matches!(password, Some(Password::File(_))) {
                "password_file"
            } else {
                "password"
            };
            return Err(invalid(key, format!("a SQLite database has no `{key}`")));
        }
        let select = match (
            nonempty("query", self.query)?,
            nonempty("table", self.table)?,
            self.columns,
        ) {
            (Some(_), Some(_), _) => {
                return Err(invalid("table", "give `query` or `table`, not both"));
            }
            (Some(_), None, Some(_)) => {
                return Err(invalid(
                    "columns",
                    "`columns` goes with `table`; a `query` names its own columns",
                ));
            }
            (Some(query), None, None) => Select::Query(query),
            (None, Some(_), None) => {
                return Err(invalid(
                    "columns",
                    "`table` needs `columns`: the columns to read, in order",
                ));
            }
            (None, Some(table), Some(columns)) => {
                check_columns(&columns)?;
                Select::Table { table, columns }
            }
            (None, None, _) => {
                return Err(invalid(
                    "query",
                    "give `query` (a SELECT) or `table` with `columns`",
                ));
            }
        };
        if !(1..=1_000_000).contains(&self.fetch_size) {
            return Err(invalid(
                "fetch_size",
                "`fetch_size` must be between 1 and 1000000",
            ));
        }
        if self.timeout_secs == 0 {
            return Err(invalid("timeout_secs", "`timeout_secs` must be at least 1"));
        }
        Ok(DbSettings {
            connection,
            password,
            select,
            fetch_size: self.fetch_size,
            timeout: Duration::from_secs(self.timeout_secs),
            encoding: self.encoding,
        })
    }

    fn connection(&self, dialect: Dialect) -> Result<Connection, PluginError> {
        let url = nonempty("url", self.url.clone())?;
        let host = nonempty("host", self.host.clone())?;
        let dsn = nonempty("dsn", self.dsn.clone())?;
        let string = nonempty("connection_string", self.connection_string.clone())?;
        let given: Vec<&str> = [
            ("url", url.is_some()),
            ("host", host.is_some()),
            ("dsn", dsn.is_some()),
            ("connection_string", string.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, set)| set.then_some(k))
        .collect();
        let allowed: &[&str] = match dialect {
            Dialect::Sqlite => &["url"],
            Dialect::Postgres | Dialect::MySql => &["url", "host"],
            Dialect::Odbc => &["dsn", "connection_string"],
        };
        if let Some(key) = given.iter().find(|k| !allowed.contains(k)) {
            return Err(invalid(
                key,
                format!(
                    "`{key}` does not apply here; connect with `{}`",
                    allowed.join("` or `")
                ),
            ));
        }
        if given.len() > 1 {
            return Err(invalid(
                given[1],
                format!("give one of `{}`, not several", allowed.join("`, `")),
            ));
        }
        let parts_keys = [
            ("port", self.port.is_some()),
            ("database", self.database.is_some()),
            ("user", self.user.is_some()),
        ];
        if host.is_none()
            && let Some((key, _)) = parts_keys.iter().find(|(_, set)| *set)
        {
            return Err(invalid(key, format!("`{key}` goes with `host`")));
        }
        match (url, host, dsn, string) {
            (Some(url), ..) => Ok(Connection::Url(url)),
            (_, Some(host), ..) => Ok(Connection::Parts {
                host,
                port: self.port,
                database: nonempty("database", self.database.clone())?
                    .ok_or_else(|| invalid("database", "`host` needs `database`"))?,
                user: nonempty("user", self.user.clone())?,
            }),
            (_, _, Some(dsn), _) => Ok(Connection::Dsn(dsn)),
            (_, _, _, Some(s)) => Ok(Connection::ConnectionString(s)),
            _ => Err(invalid(
                allowed[0],
                format!("say where the database is: `{}`", allowed.join("` or `")),
            )),
        }
    }
}

/// Checks the column names a statement returns (learnt by preparing it): at least one, none
/// twice. Errors are at `key` (`query` or `table`).
pub fn result_columns(key: &str, names: &[String]) -> Result<(), PluginError> {
    if names.is_empty() {
        return Err(invalid(key, format!("`{key}` returns no columns")));
    }
    for (i, name) in names.iter().enumerate() {
        if let Some(first) = names[..i].iter().position(|n| n == name) {
            return Err(invalid(
                key,
                format!(
                    "`{key}` returns the column `{name}` twice (columns {} and {}); name them apart with AS",
                    first + 1,
                    i + 1
                ),
            ));
        }
    }
    Ok(())
}

fn check_columns(columns: &[String]) -> Result<(), PluginError> {
    if columns.is_empty() {
        return Err(invalid("columns", "`columns` is empty"));
    }
    pmhlink_pdk::unique_names("columns", columns)
}

impl DbSettings {
    /// The key the password was given at (`password` or `password_file`), if any: where a
    /// refused login is reported.
    pub fn password_key(&self) -> Option<&'static str> {
        self.password.as_ref().map(|p| match p {
            Password::Given(_) => "password",
            Password::File(_) => "password_file",
        })
    }

    /// The key a failure to run the statement is about: `query`, or `table` for `table` +
    /// `columns`.
    pub fn select_key(&self) -> &'static str {
        match self.select {
            Select::Query(_) => "query",
            Select::Table { .. } => "table",
        }
    }

    /// The password, read from `password_file` when that is how it was given. An error names
    /// the key, not the file.
    pub fn password(&self) -> Result<Option<String>, PluginError> {
        match &self.password {
            None => Ok(None),
            Some(Password::Given(p)) => Ok(Some(p.clone())),
            Some(Password::File(path)) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    PluginError::config(format!("cannot read `password_file`: {}", e.kind()))
                        .at("password_file")
                })?;
                let first = text.lines().next().unwrap_or("").trim_end_matches('\r');
                if first.is_empty() {
                    return Err(invalid(
                        "password_file",
                        "`password_file` holds no password",
                    ));
                }
                Ok(Some(first.to_owned()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn settle(config: Value, dialect: Dialect) -> Result<DbSettings, PluginError> {
        let config: DbConfig = serde_json::from_value(config).expect("a DbConfig");
        config.settle(dialect)
    }

    #[test]
    fn the_forms_each_database_takes() {
        let sqlite = settle(
            json!({"url": "/data/jukyu.db", "query": "SELECT 1 AS a"}),
            Dialect::Sqlite,
        )
        .unwrap();
        assert_eq!(sqlite.connection, Connection::Url("/data/jukyu.db".into()));
        assert_eq!(sqlite.select.sql(Dialect::Sqlite), "SELECT 1 AS a");
        let pg = settle(
            json!({"host": "db", "database": "fukushi", "user": "pmh", "password": "pw", "table": "jukyu.kojin", "columns": ["a", "b\"c"]}),
            Dialect::Postgres,
        )
        .unwrap();
        assert_eq!(
            pg.select.sql(Dialect::Postgres),
            r#"SELECT "a", "b""c" FROM "jukyu"."kojin""#
        );
        assert_eq!(pg.password().unwrap().as_deref(), Some("pw"));
        assert_eq!(pg.password_key(), Some("password"));
        assert_eq!(pg.select_key(), "table");
        assert!(!format!("{pg:?}").contains("pw"), "{pg:?}");
        let my = settle(
            json!({"url": "mysql://u@h/db", "table": "t", "columns": ["x"]}),
            Dialect::MySql,
        )
        .unwrap();
        assert_eq!(my.select.sql(Dialect::MySql), "SELECT `x` FROM `t`");
        let odbc = settle(
            json!({"dsn": "FUKUSHI", "query": "SELECT a FROM t;"}),
            Dialect::Odbc,
        )
        .unwrap();
        assert_eq!(odbc.connection, Connection::Dsn("FUKUSHI".into()));
        assert_eq!(odbc.select.sql(Dialect::Odbc), "SELECT a FROM t");
        assert!(!format!("{odbc:?}").contains("FUKUSHI"));
    }

    #[test]
    fn every_refusal_names_its_key_and_no_value() {
        let cases: [(Value, Dialect, &str, &str); 14] = [
            (
                json!({"query": "SELECT 1"}),
                Dialect::Sqlite,
                "url",
                "say where",
            ),
            (
                json!({"url": "a.db", "dsn": "x", "query": "q"}),
                Dialect::Sqlite,
                "dsn",
                "does not apply",
            ),
            (
                json!({"url": "u", "host": "h", "query": "q"}),
                Dialect::Postgres,
                "host",
                "not several",
            ),
            (
                json!({"host": "h", "query": "q"}),
                Dialect::Postgres,
                "database",
                "needs `database`",
            ),
            (
                json!({"url": "u", "port": 5432, "query": "q"}),
                Dialect::Postgres,
                "port",
                "goes with `host`",
            ),
            (
                json!({"url": "a.db", "password": "secret-pw", "query": "q"}),
                Dialect::Sqlite,
                "password",
                "no `password`",
            ),
            (
                json!({"url": "u", "password": "secret-pw", "password_file": "/p", "query": "q"}),
                Dialect::Postgres,
                "password_file",
                "not both",
            ),
            (
                json!({"url": "u"}),
                Dialect::Postgres,
                "query",
                "give `query`",
            ),
            (
                json!({"url": "u", "query": "q", "table": "t"}),
                Dialect::Postgres,
                "table",
                "not both",
            ),
            (
                json!({"url": "u", "table": "t"}),
                Dialect::Postgres,
                "columns",
                "needs `columns`",
            ),
            (
                json!({"url": "u", "table": "t", "columns": ["a", "a"]}),
                Dialect::Postgres,
                "columns[1]",
                "twice",
            ),
            (
                json!({"url": "u", "query": "q", "fetch_size": 0}),
                Dialect::Postgres,
                "fetch_size",
                "between",
            ),
            (
                json!({"url": "u", "query": "q", "timeout_secs": 0}),
                Dialect::Postgres,
                "timeout_secs",
                "at least 1",
            ),
            (
                json!({"url": "  ", "query": "q"}),
                Dialect::Postgres,
                "url",
                "is empty",
            ),
        ];
        for (config, dialect, key, words) in cases {
            let err = settle(config.clone(), dialect).unwrap_err();
            let text = err.to_string();
            assert_eq!(err.location.as_deref(), Some(key), "{config}: {text}");
            assert!(text.contains(words), "{config}: {text}");
            assert!(!text.contains("secret-pw"), "{config}: {text}");
        }
    }

    #[test]
    fn a_password_file_gives_its_first_line_and_its_errors_name_the_key() {
        let dir = std::env::temp_dir().join(format!("pmhlink-sql-pw-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("pw");
        std::fs::write(&file, "s3cret\r\nignored\n").unwrap();
        let s = settle(
            json!({"url": "u", "query": "q", "password_file": file}),
            Dialect::Postgres,
        )
        .unwrap();
        assert_eq!(s.password().unwrap().as_deref(), Some("s3cret"));
        std::fs::remove_file(&file).unwrap();
        let err = s.password().unwrap_err();
        assert_eq!(err.location.as_deref(), Some("password_file"));
        assert!(
            !err.to_string().contains(&dir.display().to_string()),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
