//! Where and how to connect, checked when the source opens (TLS included: `tls`, `tls_ca_file`
//! and a `url`'s `sslmode`/`sslrootcert` as one setting); the connection attempt, bounded in
//! time, falling back to plain only where `prefer` allows it; and PostgreSQL's errors as
//! messages that name a key and no value.

use std::str::FromStr;
use std::sync::mpsc::sync_channel;

use pmhlink_pdk::PluginError;
use pmhlink_sql::{Connection, DbConfig, DbSettings, Dialect, Encoding, Stage, Tls, TlsMode};
use postgres::config::{Host, SslMode};
use postgres::error::SqlState;
use postgres::{Client, NoTls, SimpleQueryMessage};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::tls;

/// A checked configuration and the client configuration made from it.
#[derive(Clone)]
pub struct Target {
    pub settings: DbSettings,
    config: postgres::Config,
    /// The TLS connector, or `None` for a plain connection (`disable`, or a Unix socket).
    connector: Option<MakeRustlsConnect>,
}

impl Target {
    pub fn new(config: DbConfig) -> Result<Target, PluginError> {
        let mut settings = config.settle(Dialect::Postgres)?;
        let mut config = match &settings.connection {
            Connection::Url(url) => {
                let split = crate::url::split(url)?;
                settings.merge_url_tls(split.tls)?;
                postgres::Config::from_str(&split.url).map_err(|_| {
                    PluginError::config(
                        "`url` is not a PostgreSQL connection URL (postgres://user@host:5432/database)",
                    )
                    .at("url")
                })?
            }
            Connection::Parts {
                host,
                port,
                database,
                user,
            } => {
                let mut c = postgres::Config::new();
                c.host(host).port(port.unwrap_or(5432)).dbname(database);
                if let Some(user) = user {
                    c.user(user);
                }
                c
            }
            // `settle` for the PostgreSQL dialect takes `url` or `host` only.
            _ => unreachable!("a PostgreSQL source connects by `url` or `host`"),
        };
        let key = connection_key(&settings);
        if config.get_user().is_none() {
            let words = if key == "url" {
                "`url` names no user (postgres://user@host/database)"
            } else {
                "`host` needs `user`"
            };
            return Err(PluginError::config(words).at(if key == "url" { "url" } else { "user" }));
        }
        if let Some(password) = settings.password()? {
            config.password(password);
        }
        // libpq ignores `sslmode` on a Unix socket (the server does no TLS there), and so does
        // this source when every host is one.
        let hosts = config.get_hosts();
        let socket_only = !hosts.is_empty() && hosts.iter().all(|h| !matches!(h, Host::Tcp(_)));
        let tls = tls_of(&settings);
        let connector = if tls.mode == TlsMode::Disable || socket_only {
            None
        } else {
            Some(tls::connector(tls)?)
        };
        config
            .ssl_mode(match (&connector, tls.mode) {
                (None, _) => SslMode::Disable,
                (Some(_), TlsMode::Prefer) => SslMode::Prefer,
                (Some(_), _) => SslMode::Require,
            })
            .application_name("pmhlink")
            .connect_timeout(settings.timeout)
            .keepalives(true);
        Ok(Target {
            settings,
            config,
            connector,
        })
    }

    /// One connection attempt. Under `prefer`, a server that answers it does no TLS gets a
    /// plain session (the client library does that); a TLS handshake that fails is tried again
    /// in plain, as libpq does.
    fn attempt(
        config: &postgres::Config,
        connector: Option<MakeRustlsConnect>,
        prefer: bool,
    ) -> Result<Client, postgres::Error> {
        let Some(connector) = connector else {
            return config.connect(NoTls);
        };
        match config.connect(connector) {
            Err(e) if prefer && matches!(tls::failure(&e), Some(tls::Failure::Handshake(_))) => {
                let mut plain = config.clone();
                plain.ssl_mode(SslMode::Disable);
                plain.connect(NoTls)
            }
            other => other,
        }
    }

    /// A connection with `statement_timeout` set, or the reason there is none. The attempt,
    /// name lookup included, ends within `timeout_secs` (the client bounds only the TCP
    /// connect, so the attempt runs on a thread of its own that is left behind when late).
    pub fn connect(&self) -> Result<Client, PluginError> {
        let (tx, rx) = sync_channel(1);
        let config = self.config.clone();
        let connector = self.connector.clone();
        let prefer = tls_of(&self.settings).mode == TlsMode::Prefer;
        std::thread::Builder::new()
            .name("pmhlink-postgres-connect".into())
            .spawn(move || {
                let _ = tx.send(Target::attempt(&config, connector, prefer));
            })
            .map_err(|e| PluginError::other(format!("cannot start a thread: {e}")))?;
        let key = connection_key(&self.settings);
        let mut client = match rx.recv_timeout(self.settings.timeout) {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => return Err(self.failure(&e, Stage::Connect)),
            Err(_) => {
                return Err(PluginError::io(format!(
                    "cannot connect to the server `{key}` names: no answer within `timeout_secs` ({} s)",
                    self.settings.timeout.as_secs()
                ))
                .at(key));
            }
        };
        let setup = |e: postgres::Error| self.failure(&e, Stage::Connect);
        let ms = self.settings.timeout.as_millis();
        client
            .batch_execute(&format!("SET statement_timeout = {ms}"))
            .map_err(setup)?;
        let server_encoding = client
            .simple_query("SHOW server_encoding")
            .map_err(setup)?
            .into_iter()
            .find_map(|m| match m {
                SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
                _ => None,
            })
            .unwrap_or_default();
        if server_encoding == "SQL_ASCII" {
            // The server knows no encoding for its bytes: they come as stored (not checked
            // against UTF-8) and are decoded in `encoding`, a bad one a row error.
            client
                .batch_execute("SET client_encoding = 'SQL_ASCII'")
                .map_err(setup)?;
        } else if self.settings.encoding != Encoding::Utf8 {
            return Err(PluginError::config(format!(
                "the database's encoding is {server_encoding}, and the server converts its text to UTF-8: leave `encoding` out (a declared encoding is for a SQL_ASCII database)"
            ))
            .at("encoding"));
        }
        Ok(client)
    }

    /// `e` as a message at the key it is about. The server's own text is shown only for a
    /// statement that does not prepare (it describes the statement, not the data).
    pub fn failure(&self, e: &postgres::Error, stage: Stage) -> PluginError {
        let settings = &self.settings;
        let key = connection_key(settings);
        let select = settings.select_key();
        let timeout = || {
            PluginError::io(format!(
                "{}the statement took longer than `timeout_secs` ({} s)",
                stage.prefix(),
                settings.timeout.as_secs()
            ))
            .at("timeout_secs")
        };
        let Some(db) = e.as_db_error() else {
            if let Some(failure) = tls::failure(e) {
                return tls::message(tls_of(settings), &failure, key);
            }
            if e.is_closed() || stage.reading() {
                return PluginError::io(format!(
                    "{}the connection to the server `{key}` names was lost",
                    stage.prefix()
                ))
                .at(key);
            }
            return PluginError::io(format!(
                "cannot connect to the server `{key}` names: {}",
                io_text(e)
            ))
            .at(key);
        };
        let code = db.code();
        let class = &code.code()[..2];
        if *code == SqlState::INVALID_PASSWORD
            || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        {
            let at = settings.password_key().unwrap_or(key);
            return PluginError::config(format!(
                "the server refused the login (SQLSTATE {}): check the user and `{at}`",
                code.code()
            ))
            .at(at);
        }
        if *code == SqlState::INVALID_CATALOG_NAME {
            let at = if key == "url" { "url" } else { "database" };
            return PluginError::config(format!(
                "the server has no database of the name `{at}` gives (SQLSTATE {})",
                code.code()
            ))
            .at(at);
        }
        if *code == SqlState::QUERY_CANCELED {
            return timeout();
        }
        if *code == SqlState::READ_ONLY_SQL_TRANSACTION {
            return PluginError::config(format!("`{select}` must only read (a single SELECT)"))
                .at(select);
        }
        if matches!(class, "08" | "57" | "53" | "58" | "XX") {
            return PluginError::io(format!(
                "{}the server ended the session (SQLSTATE {})",
                stage.prefix(),
                code.code()
            ))
            .at(key);
        }
        match stage {
            Stage::Prepare => {
                let at = db
                    .position()
                    .and_then(|p| match p {
                        postgres::error::ErrorPosition::Original(n) => Some(*n),
                        postgres::error::ErrorPosition::Internal { .. } => None,
                    })
                    .map(|n| format!(" (at character {n} of the statement)"))
                    .unwrap_or_default();
                PluginError::config(format!(
                    "`{select}` does not run: {}{at} (SQLSTATE {})",
                    db.message(),
                    code.code()
                ))
                .at(select)
            }
            Stage::Connect => PluginError::io(format!(
                "cannot set up the connection (SQLSTATE {})",
                code.code()
            ))
            .at(key),
            Stage::Read { .. } => PluginError::io(format!(
                "{}the server reported an error (SQLSTATE {}; its text is not shown, it may quote a value)",
                stage.prefix(),
                code.code()
            ))
            .at(select),
        }
    }
}

/// The TLS settings, which the PostgreSQL dialect always has.
fn tls_of(settings: &DbSettings) -> &Tls {
    settings
        .tls
        .as_ref()
        .expect("the PostgreSQL dialect takes TLS settings")
}

/// The key the server's address was given at.
pub fn connection_key(settings: &DbSettings) -> &'static str {
    match settings.connection {
        Connection::Url(_) => "url",
        _ => "host",
    }
}

/// The operating system's words for a failed connection attempt (`Connection refused`, a
/// failed name lookup): they carry no value of the configuration.
fn io_text(e: &postgres::Error) -> String {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return io.to_string();
        }
        source = s.source();
    }
    "the attempt failed".to_owned()
}
