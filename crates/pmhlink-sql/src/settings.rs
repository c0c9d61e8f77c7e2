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
    /// Whether the plugins of this dialect encrypt their connection and so take `tls` and
    /// `tls_ca_file`. SQLite reads a file; ODBC's drivers encrypt by their own connection-string
    /// keys.
    pub fn takes_tls(self) -> bool {
        matches!(self, Dialect::Postgres | Dialect::MySql)
    }

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
    /// TLS for the connection, in libpq's `sslmode` words and meanings. When absent:
    /// `require` (encrypted; refused by a server without TLS), or what the `url`'s own TLS
    /// parameter says (PostgreSQL's `sslmode`, MySQL's `ssl-mode`). A `url`'s parameter that
    /// says otherwise than `tls` is refused. Over a Unix socket there is no TLS, whatever this
    /// says (as libpq). Only plugins that encrypt take it: SQLite (a file) refuses it; ODBC
    /// does not support it yet.
    #[serde(default)]
    pub tls: Option<TlsMode>,
    /// A PEM file of the CA certificates to trust for `tls` (by default the system's roots;
    /// MySQL's are the public CAs built into the plugin). With `prefer` or `require` it makes
    /// the certificate checked as `verify-ca` does (as libpq's `sslrootcert`). The `url`'s
    /// `sslrootcert` (PostgreSQL) or `ssl-ca` (MySQL) is the same setting.
    #[serde(default)]
    pub tls_ca_file: Option<PathBuf>,
}

/// Whether, and how strictly, the connection is encrypted: libpq's `sslmode` words, with
/// libpq's meanings (what a failed check does is the plugin's page).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TlsMode {
    /// No TLS: everything, the password and every row, crosses the network in clear.
    Disable,
    /// TLS when the server offers it, plain when it does not (or when the TLS handshake
    /// fails): libpq's default, encrypted only against a passive listener.
    Prefer,
    /// TLS or no connection; the server's certificate is not checked unless `tls_ca_file`
    /// is given, which makes it `verify-ca`.
    Require,
    /// TLS, and the server's certificate signed by a CA of `tls_ca_file` (or of the system's
    /// roots); the host name in it is not checked.
    VerifyCa,
    /// As `verify-ca`, and the certificate is for the host connected to (`host`, or the
    /// `url`'s host): the setting that stops a server in the middle.
    VerifyFull,
}

impl TlsMode {
    /// libpq's word for the mode: `verify-full`.
    pub fn word(self) -> &'static str {
        match self {
            TlsMode::Disable => "disable",
            TlsMode::Prefer => "prefer",
            TlsMode::Require => "require",
            TlsMode::VerifyCa => "verify-ca",
            TlsMode::VerifyFull => "verify-full",
        }
    }

    /// The mode libpq's `word` names, if it is one of these five.
    pub fn from_word(word: &str) -> Option<TlsMode> {
        [
            TlsMode::Disable,
            TlsMode::Prefer,
            TlsMode::Require,
            TlsMode::VerifyCa,
            TlsMode::VerifyFull,
        ]
        .into_iter()
        .find(|m| m.word() == word)
    }
}

/// The certificates a TLS connection's server certificate is checked against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsRoots {
    /// The operating system's trusted roots.
    System,
    /// The CA certificates of a PEM file.
    File(PathBuf),
}

/// The checked TLS settings of a plugin that encrypts its connection, and where each came
/// from (so a failure names the key to change).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tls {
    pub mode: TlsMode,
    pub roots: TlsRoots,
    mode_from: Origin,
    roots_from: Origin,
}

/// Where a TLS setting came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Origin {
    /// Neither key nor URL said it.
    Default,
    /// Its own key: `tls` or `tls_ca_file`.
    Key(&'static str),
    /// A parameter of the connection URL given at `key`.
    Url {
        key: &'static str,
        param: &'static str,
    },
}

impl Origin {
    fn key(self) -> Option<&'static str> {
        match self {
            Origin::Default => None,
            Origin::Key(key) | Origin::Url { key, .. } => Some(key),
        }
    }

    /// For messages: `` `tls` `` or `` `url`'s `sslmode` ``.
    fn shown(self, default: &str) -> String {
        match self {
            Origin::Default => default.to_owned(),
            Origin::Key(key) => format!("`{key}`"),
            Origin::Url { key, param } => format!("`{key}`'s `{param}`"),
        }
    }
}

/// What a plugin's connection URL says about TLS in its own parameters (PostgreSQL's
/// `sslmode` and `sslrootcert`, MySQL's `ssl-mode` and `ssl-ca`), each with the parameter's
/// name for messages.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UrlTls {
    pub mode: Option<(&'static str, TlsMode)>,
    pub roots: Option<(&'static str, TlsRoots)>,
}

/// The mode when neither `tls` nor a URL says one: encrypted, or no connection. A pipeline
/// whose data may cross the network in clear says so (`tls = "disable"`) where a reviewer
/// sees it; `prefer` would fall back to plain without a word, and against an active attacker
/// (who answers "no TLS") it protects nothing.
pub const DEFAULT_TLS: TlsMode = TlsMode::Require;

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
    /// TLS, for a plugin whose dialect encrypts its connection ([`Dialect::takes_tls`]);
    /// `None` for the others.
    pub tls: Option<Tls>,
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
            .field("tls", &self.tls)
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
        let tls = Tls::settle(dialect, self.tls, self.tls_ca_file)?;
        Ok(DbSettings {
            connection,
            password,
            select,
            fetch_size: self.fetch_size,
            timeout: Duration::from_secs(self.timeout_secs),
            encoding: self.encoding,
            tls,
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
    /// Takes what the connection URL (given at `url`) says about TLS, in the plugin's own
    /// parameters, as the same settings as `tls` and `tls_ca_file` (see [`UrlTls`]); a
    /// conflict is refused naming both keys. Only for a dialect that takes TLS.
    pub fn merge_url_tls(&mut self, url: UrlTls) -> Result<(), PluginError> {
        match &mut self.tls {
            Some(tls) => tls.merge_url("url", url),
            None if url == UrlTls::default() => Ok(()),
            None => Err(invalid(
                "url",
                "`url` asks for TLS, which this source does not support",
            )),
        }
    }

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

impl Tls {
    /// `tls` and `tls_ca_file` as given, for `dialect`: `None` where the dialect takes no TLS
    /// (and either key is then refused).
    fn settle(
        dialect: Dialect,
        mode: Option<TlsMode>,
        ca_file: Option<PathBuf>,
    ) -> Result<Option<Tls>, PluginError> {
        if !dialect.takes_tls() {
            let key = if mode.is_some() {
                "tls"
            } else if ca_file.is_some() {
                "tls_ca_file"
            } else {
                return Ok(None);
            };
            let why = match dialect {
                Dialect::Sqlite => "a SQLite database is a file, read without a network",
                _ => "this source does not support TLS yet",
            };
            return Err(invalid(key, format!("`{key}` does not apply here: {why}")));
        }
        if ca_file.as_ref().is_some_and(|f| f.as_os_str().is_empty()) {
            return Err(invalid("tls_ca_file", "`tls_ca_file` is empty"));
        }
        let tls = Tls {
            mode: mode.unwrap_or(DEFAULT_TLS),
            mode_from: if mode.is_some() {
                Origin::Key("tls")
            } else {
                Origin::Default
            },
            roots_from: if ca_file.is_some() {
                Origin::Key("tls_ca_file")
            } else {
                Origin::Default
            },
            roots: ca_file.map_or(TlsRoots::System, TlsRoots::File),
        };
        tls.consistent()?;
        Ok(Some(tls))
    }

    /// Takes what the connection URL given at `key` says about TLS as the same settings as
    /// `tls` and `tls_ca_file`; a URL that says otherwise than those keys is refused, naming
    /// both. `sslrootcert=system` (libpq's word for the system's roots) asks for
    /// `verify-full`, as in libpq: the mode then defaults to it, and a weaker one is refused.
    fn merge_url(&mut self, key: &'static str, url: UrlTls) -> Result<(), PluginError> {
        if let Some((param, mode)) = url.mode {
            let from = Origin::Url { key, param };
            match self.mode_from {
                Origin::Key(_) if self.mode != mode => {
                    return Err(invalid(
                        "tls",
                        format!(
                            "`tls` is `{}` and {} is `{}`: say it once (leave `{param}` out of `{key}`, or `tls` out)",
                            self.mode.word(),
                            from.shown(""),
                            mode.word()
                        ),
                    ));
                }
                Origin::Key(_) => {}
                _ => {
                    self.mode = mode;
                    self.mode_from = from;
                }
            }
        }
        if let Some((param, roots)) = url.roots {
            let from = Origin::Url { key, param };
            match self.roots_from {
                Origin::Key(_) if self.roots != roots => {
                    return Err(invalid(
                        "tls_ca_file",
                        format!(
                            "`tls_ca_file` and {} name different CA certificates: give one (leave `{param}` out of `{key}`, or `tls_ca_file` out)",
                            from.shown("")
                        ),
                    ));
                }
                Origin::Key(_) => {}
                _ => {
                    if roots == TlsRoots::System {
                        if self.mode_from == Origin::Default {
                            self.mode = TlsMode::VerifyFull;
                            self.mode_from = from;
                        } else if self.mode != TlsMode::VerifyFull {
                            return Err(invalid(
                                self.mode_key(),
                                format!(
                                    "{} `system` (the system's roots) goes with `verify-full`, and {} is `{}` (as in libpq)",
                                    from.shown(""),
                                    self.mode_from.shown(""),
                                    self.mode.word()
                                ),
                            ));
                        }
                    }
                    self.roots = roots;
                    self.roots_from = from;
                }
            }
        }
        self.consistent()
    }

    /// CA certificates are for a connection that is encrypted.
    fn consistent(&self) -> Result<(), PluginError> {
        if self.mode == TlsMode::Disable
            && let Some(key) = self.roots_from.key()
        {
            return Err(invalid(
                key,
                format!(
                    "{} names CA certificates, but {} is `disable`: without TLS no certificate is checked",
                    self.roots_from.shown(""),
                    self.mode_from.shown("")
                ),
            ));
        }
        Ok(())
    }

    /// The key the mode came from: `tls` (given or not), or the connection URL's key when
    /// its parameter gave it. A refused or failed TLS connection is reported there.
    pub fn mode_key(&self) -> &'static str {
        self.mode_from.key().unwrap_or("tls")
    }

    /// The key the CA certificates came from (`tls_ca_file`, or the URL's key), or `None` for
    /// the system's roots by default: a certificate those CAs did not sign is reported there
    /// (at [`Tls::mode_key`] for the default roots).
    pub fn roots_key(&self) -> Option<&'static str> {
        self.roots_from.key()
    }

    /// For messages: `` `tls` `` (given or not), or `` `url`'s `sslmode` ``.
    pub fn mode_shown(&self) -> String {
        self.mode_from.shown("`tls`")
    }

    /// For messages: `` `tls` is `require` ``, `` `url`'s `sslmode` is `verify-ca` ``, or
    /// `` `tls` is `require` (the default) `` when nothing said it.
    pub fn mode_said(&self) -> String {
        let default = if self.mode_from == Origin::Default {
            " (the default)"
        } else {
            ""
        };
        format!(
            "{} is `{}`{default}",
            self.mode_from.shown("`tls`"),
            self.mode.word()
        )
    }

    /// For messages: `` `tls_ca_file` ``, `` `url`'s `sslrootcert` ``, or `the system's
    /// roots`.
    pub fn roots_shown(&self) -> String {
        self.roots_from.shown("the system's roots")
    }

    /// Whether the server's certificate must be signed by a trusted CA: `verify-ca` and
    /// `verify-full`, and (as libpq does when it has a root certificate file) `prefer` and
    /// `require` with CA certificates given.
    pub fn checks_chain(&self) -> bool {
        match self.mode {
            TlsMode::Disable => false,
            TlsMode::Prefer | TlsMode::Require => self.roots_from != Origin::Default,
            TlsMode::VerifyCa | TlsMode::VerifyFull => true,
        }
    }

    /// Whether the certificate must also be for the host connected to (`verify-full`).
    pub fn checks_host(&self) -> bool {
        self.mode == TlsMode::VerifyFull
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

    /// Every dialect with no TLS key, `tls`, and `tls_ca_file`: PostgreSQL and MySQL take
    /// them (`require` by default), and the others refuse each at its key.
    #[test]
    fn only_a_dialect_that_encrypts_takes_tls() {
        let bases = [
            (Dialect::Sqlite, json!({"url": "a.db", "query": "q"})),
            (Dialect::Postgres, json!({"url": "u", "query": "q"})),
            (Dialect::MySql, json!({"url": "u", "query": "q"})),
            (Dialect::Odbc, json!({"dsn": "d", "query": "q"})),
        ];
        for (dialect, base) in bases {
            let plain = settle(base.clone(), dialect).unwrap();
            for (key, value) in [
                ("tls", json!("verify-full")),
                ("tls_ca_file", json!("/ca.pem")),
            ] {
                let mut config = base.clone();
                config[key] = value;
                let result = settle(config, dialect);
                assert_eq!(
                    dialect.takes_tls(),
                    matches!(dialect, Dialect::Postgres | Dialect::MySql),
                    "{dialect:?}"
                );
                if dialect.takes_tls() {
                    assert!(result.is_ok(), "{dialect:?} {key}");
                    continue;
                }
                let err = result.unwrap_err();
                assert_eq!(err.location.as_deref(), Some(key), "{dialect:?}: {err}");
                let why = if dialect == Dialect::Sqlite {
                    "a SQLite database is a file"
                } else {
                    "does not support TLS yet"
                };
                assert!(err.message.contains(why), "{dialect:?}: {err}");
            }
            if dialect.takes_tls() {
                let tls = plain.tls.expect("TLS settings");
                assert_eq!((tls.mode, &tls.roots), (DEFAULT_TLS, &TlsRoots::System));
                assert_eq!((tls.mode_key(), tls.roots_key()), ("tls", None));
            } else {
                assert_eq!(plain.tls, None, "{dialect:?}");
                // Nor may its URL ask for TLS.
                let mut s = plain;
                let err = s
                    .merge_url_tls(UrlTls {
                        mode: Some(("sslmode", TlsMode::Require)),
                        roots: None,
                    })
                    .unwrap_err();
                assert_eq!(err.location.as_deref(), Some("url"), "{err}");
                s.merge_url_tls(UrlTls::default()).unwrap();
            }
        }
    }

    /// `tls`, `tls_ca_file` and what a URL says, as PostgreSQL and MySQL take them: the mode,
    /// the roots, where each came from and what is checked, or the refusal's key and words.
    #[test]
    fn tls_keys_and_url_parameters_are_one_setting() {
        use TlsMode::*;
        type Expect = Result<
            (
                TlsMode,
                TlsRoots,
                &'static str,
                Option<&'static str>,
                bool,
                bool,
            ),
            (&'static str, &'static str),
        >;
        let file = |p: &str| TlsRoots::File(PathBuf::from(p));
        let url = |mode: Option<TlsMode>, roots: Option<TlsRoots>| UrlTls {
            mode: mode.map(|m| ("sslmode", m)),
            roots: roots.map(|r| ("sslrootcert", r)),
        };
        let cases: Vec<(Value, UrlTls, Expect)> = vec![
            (
                json!({}),
                UrlTls::default(),
                Ok((Require, TlsRoots::System, "tls", None, false, false)),
            ),
            (
                json!({"tls": "disable"}),
                UrlTls::default(),
                Ok((Disable, TlsRoots::System, "tls", None, false, false)),
            ),
            (
                json!({"tls": "prefer"}),
                UrlTls::default(),
                Ok((Prefer, TlsRoots::System, "tls", None, false, false)),
            ),
            (
                json!({"tls": "prefer", "tls_ca_file": "/ca.pem"}),
                UrlTls::default(),
                Ok((
                    Prefer,
                    file("/ca.pem"),
                    "tls",
                    Some("tls_ca_file"),
                    true,
                    false,
                )),
            ),
            (
                json!({"tls_ca_file": "/ca.pem"}),
                UrlTls::default(),
                Ok((
                    Require,
                    file("/ca.pem"),
                    "tls",
                    Some("tls_ca_file"),
                    true,
                    false,
                )),
            ),
            (
                json!({"tls": "verify-ca"}),
                UrlTls::default(),
                Ok((VerifyCa, TlsRoots::System, "tls", None, true, false)),
            ),
            (
                json!({"tls": "verify-full"}),
                UrlTls::default(),
                Ok((VerifyFull, TlsRoots::System, "tls", None, true, true)),
            ),
            (
                json!({"tls": "disable", "tls_ca_file": "/ca.pem"}),
                UrlTls::default(),
                Err((
                    "tls_ca_file",
                    "`tls_ca_file` names CA certificates, but `tls` is `disable`",
                )),
            ),
            (
                json!({"tls_ca_file": ""}),
                UrlTls::default(),
                Err(("tls_ca_file", "`tls_ca_file` is empty")),
            ),
            // The URL's parameters are the same settings.
            (
                json!({}),
                url(Some(Disable), None),
                Ok((Disable, TlsRoots::System, "url", None, false, false)),
            ),
            (
                json!({}),
                url(Some(VerifyCa), Some(file("/ca.pem"))),
                Ok((VerifyCa, file("/ca.pem"), "url", Some("url"), true, false)),
            ),
            (
                json!({"tls": "require"}),
                url(Some(Require), None),
                Ok((Require, TlsRoots::System, "tls", None, false, false)),
            ),
            (
                json!({"tls_ca_file": "/ca.pem"}),
                url(None, Some(file("/ca.pem"))),
                Ok((
                    Require,
                    file("/ca.pem"),
                    "tls",
                    Some("tls_ca_file"),
                    true,
                    false,
                )),
            ),
            (
                json!({"tls": "verify-full"}),
                url(None, Some(file("/ca.pem"))),
                Ok((VerifyFull, file("/ca.pem"), "tls", Some("url"), true, true)),
            ),
            // libpq's `sslrootcert=system` asks for verify-full.
            (
                json!({}),
                url(None, Some(TlsRoots::System)),
                Ok((VerifyFull, TlsRoots::System, "url", Some("url"), true, true)),
            ),
            (
                json!({"tls": "verify-ca"}),
                url(None, Some(TlsRoots::System)),
                Err((
                    "tls",
                    "`url`'s `sslrootcert` `system` (the system's roots) goes with `verify-full`, and `tls` is `verify-ca`",
                )),
            ),
            // Conflicts name both keys.
            (
                json!({"tls": "require"}),
                url(Some(Disable), None),
                Err((
                    "tls",
                    "`tls` is `require` and `url`'s `sslmode` is `disable`: say it once",
                )),
            ),
            (
                json!({"tls_ca_file": "/secret-dir/a.pem"}),
                url(None, Some(file("/secret-dir/b.pem"))),
                Err((
                    "tls_ca_file",
                    "`tls_ca_file` and `url`'s `sslrootcert` name different CA certificates",
                )),
            ),
            (
                json!({"tls_ca_file": "/secret-dir/a.pem"}),
                url(None, Some(TlsRoots::System)),
                Err(("tls_ca_file", "name different CA certificates")),
            ),
            (
                json!({}),
                url(Some(Disable), Some(file("/secret-dir/a.pem"))),
                Err((
                    "url",
                    "`url`'s `sslrootcert` names CA certificates, but `url`'s `sslmode` is `disable`",
                )),
            ),
        ];
        let both = cases.iter().flat_map(|case| {
            [Dialect::Postgres, Dialect::MySql].map(|dialect| (dialect, case.clone()))
        });
        for (dialect, (keys, from_url, expected)) in both {
            let mut config = json!({"url": "u", "query": "q"});
            for (k, v) in keys.as_object().unwrap() {
                config[k] = v.clone();
            }
            let result = settle(config.clone(), dialect).and_then(|mut s| {
                s.merge_url_tls(from_url.clone())?;
                Ok(s.tls.expect("TLS settings"))
            });
            let case = format!("{dialect:?}: {config} with {from_url:?}");
            match (result, expected) {
                (Ok(tls), Ok((mode, roots, mode_key, roots_key, chain, host))) => {
                    assert_eq!((tls.mode, &tls.roots), (mode, &roots), "{case}");
                    assert_eq!(
                        (tls.mode_key(), tls.roots_key()),
                        (mode_key, roots_key),
                        "{case}"
                    );
                    assert_eq!(
                        (tls.checks_chain(), tls.checks_host()),
                        (chain, host),
                        "{case}"
                    );
                }
                (Err(err), Err((key, words))) => {
                    assert_eq!(err.location.as_deref(), Some(key), "{case}: {err}");
                    assert!(err.message.contains(words), "{case}: {err}");
                    assert!(!err.message.contains("secret-dir"), "{case}: {err}");
                }
                (got, want) => panic!("{case}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn the_tls_words_are_libpqs() {
        for word in ["disable", "prefer", "require", "verify-ca", "verify-full"] {
            let mode = TlsMode::from_word(word).expect(word);
            assert_eq!(mode.word(), word);
            let parsed: TlsMode = serde_json::from_value(json!(word)).unwrap();
            assert_eq!(parsed, mode);
        }
        assert_eq!(TlsMode::from_word("allow"), None);
        let err =
            serde_json::from_value::<DbConfig>(json!({"url": "u", "query": "q", "tls": "on"}))
                .unwrap_err()
                .to_string();
        assert!(err.contains("unknown variant `on`"), "{err}");
    }
}
