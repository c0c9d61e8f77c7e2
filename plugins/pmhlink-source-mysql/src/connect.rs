//! Where and how to connect, checked when the source opens (TLS included: `tls`, `tls_ca_file`
//! and a `url`'s `ssl-mode`/`ssl-ca` as one setting); the connection attempt, bounded in time,
//! falling back to plain only where `prefer` allows it; the session's settings; and the
//! server's errors as messages that name a key and no value.

use std::sync::mpsc::sync_channel;
use std::time::Duration;

use mysql::prelude::Queryable;
use mysql::{Conn, DriverError, Opts, OptsBuilder};
use pmhlink_pdk::PluginError;
use pmhlink_sql::{Connection, DbConfig, DbSettings, Dialect, Stage, Tls};

use crate::tls;

/// The grace the socket's reads and writes get beyond `timeout_secs`: a statement that runs
/// too long is stopped by the server's own limit, which then says so, before the socket gives
/// up on it.
const SOCKET_GRACE: Duration = Duration::from_secs(5);

/// The session variable that bounds each statement's run to `secs` (0: no bound), in the
/// server's own dialect: `max_statement_time` (seconds) on MariaDB, `max_execution_time`
/// (milliseconds) on MySQL.
fn statement_limit(conn: &mut Conn, secs: u64) -> Result<String, mysql::Error> {
    let version: Option<String> = conn.query_first("SELECT VERSION()")?;
    Ok(if version.is_some_and(|v| v.contains("MariaDB")) {
        format!("max_statement_time = {secs}")
    } else {
        format!("max_execution_time = {}", secs.saturating_mul(1000))
    })
}

/// A checked configuration and the client options made from it.
#[derive(Clone)]
pub struct Target {
    pub settings: DbSettings,
    opts: Opts,
    tls: tls::Plan,
}

impl Target {
    pub fn new(config: DbConfig) -> Result<Target, PluginError> {
        let mut settings = config.settle(Dialect::MySql)?;
        let (builder, prefer_socket) = match settings.connection.clone() {
            Connection::Url(url) => {
                let split = crate::url::split(&url)?;
                settings.merge_url_tls(split.tls)?;
                let opts = Opts::from_url(&split.url).map_err(|e| {
                    // A known parameter's name, never a value: a URL can hold a password.
                    let detail = match e {
                        mysql::UrlError::UnknownParameter(_) => {
                            ": it has a parameter the client does not know".to_owned()
                        }
                        mysql::UrlError::InvalidValue(key, _) => {
                            format!(": its parameter `{key}` has a value the client does not take")
                        }
                        _ => String::new(),
                    };
                    PluginError::config(format!(
                        "`url` is not a MySQL connection URL (mysql://user@host:3306/database){detail}"
                    ))
                    .at("url")
                })?;
                // Every TLS parameter of the client's is refused by `url::split`.
                if opts.get_ssl_opts().is_some() {
                    return Err(PluginError::config(
                        "`url` has a TLS parameter this source does not take: its TLS settings are `tls` and `tls_ca_file`",
                    )
                    .at("url"));
                }
                let prefer = opts.get_prefer_socket() && split.url.contains("prefer_socket");
                (OptsBuilder::from_opts(opts), prefer)
            }
            Connection::Parts {
                host,
                port,
                database,
                user,
            } => (
                OptsBuilder::new()
                    .ip_or_hostname(Some(host))
                    .tcp_port(port.unwrap_or(3306))
                    .db_name(Some(database))
                    .user(user),
                false,
            ),
            // `settle` for the MySQL dialect takes `url` or `host` only.
            _ => unreachable!("a MySQL source connects by `url` or `host`"),
        };
        let key = connection_key(&settings);
        let opts: Opts = builder.clone().into();
        if opts.get_user().is_none_or(str::is_empty) {
            let (words, at) = if key == "url" {
                (
                    "`url` names no user (mysql://user@host:3306/database)",
                    "url",
                )
            } else {
                ("`host` needs `user`", "user")
            };
            return Err(PluginError::config(words).at(at));
        }
        let mut builder = builder
            // Where the configuration says, not a socket the server names instead.
            .prefer_socket(prefer_socket)
            .tcp_connect_timeout(Some(settings.timeout))
            .read_timeout(Some(settings.timeout + SOCKET_GRACE))
            .write_timeout(Some(settings.timeout + SOCKET_GRACE))
            .tcp_keepalive_time_ms(Some(60_000))
            .connect_attrs(Some(std::collections::HashMap::from([(
                "program_name",
                "pmhlink",
            )])));
        if let Some(password) = settings.password()? {
            builder = builder.pass(Some(password));
        }
        let tls = tls::Plan::new(tls_of(&settings))?;
        builder = builder.ssl_opts(tls.ssl_opts.clone());
        Ok(Target {
            settings,
            opts: builder.into(),
            tls,
        })
    }

    /// One connection attempt, on the thread that runs it. Under `prefer`, a server without
    /// TLS, or a TLS handshake that fails, gets a plain session, as libpq does. A TLS error
    /// comes with whether a built-in CA was refused in the attempt (see `tls`).
    fn attempt(opts: Opts, plan: &tls::Plan) -> Result<Conn, (mysql::Error, bool)> {
        let (result, refused) = plan.guarded(|| Conn::new(opts.clone()));
        match result {
            Err(e) if plan.falls_back && tls::failure(&e, refused).is_some() => {
                Conn::new(OptsBuilder::from_opts(opts).ssl_opts(None)).map_err(|e| (e, false))
            }
            other => other.map_err(|e| (e, refused)),
        }
    }

    /// A connection with the session set up for reading, or the reason there is none. The
    /// attempt, name lookup and TLS handshake included, ends within `timeout_secs` (the client
    /// bounds only each TCP connect, so the attempt runs on a thread of its own that is left
    /// behind when late).
    pub fn connect(&self) -> Result<Conn, PluginError> {
        let (tx, rx) = sync_channel(1);
        let opts = self.opts.clone();
        let plan = self.tls.clone();
        std::thread::Builder::new()
            .name("pmhlink-mysql-connect".into())
            .spawn(move || {
                let _ = tx.send(Target::attempt(opts, &plan));
            })
            .map_err(|e| PluginError::other(format!("cannot start a thread: {e}")))?;
        let key = connection_key(&self.settings);
        let mut conn = match rx.recv_timeout(self.settings.timeout) {
            Ok(Ok(conn)) => conn,
            Ok(Err((e, refused))) => {
                if let Some(failure) = tls::failure(&e, refused) {
                    return Err(tls::message(tls_of(&self.settings), &failure, key));
                }
                return Err(self.failure(&e, Stage::Connect));
            }
            Err(_) => {
                return Err(PluginError::io(format!(
                    "cannot connect to the server `{key}` names: no answer within `timeout_secs` ({} s)",
                    self.settings.timeout.as_secs()
                ))
                .at(key));
            }
        };
        self.set_up(&mut conn)
            .map_err(|e| self.failure(&e, Stage::Connect))?;
        Ok(conn)
    }

    /// The session's settings: CHAR padding kept, text as stored (no conversion), TIMESTAMP in
    /// UTC, each statement bounded by `timeout_secs`, REPEATABLE READ.
    fn set_up(&self, conn: &mut Conn) -> Result<(), mysql::Error> {
        let limit = statement_limit(conn, self.settings.timeout.as_secs())?;
        conn.query_drop(format!(
            "SET SESSION sql_mode = CONCAT_WS(',', NULLIF(@@SESSION.sql_mode, ''), 'PAD_CHAR_TO_FULL_LENGTH'), \
             character_set_results = NULL, time_zone = '+00:00', {limit}"
        ))?;
        conn.query_drop("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    }

    /// Lifts the server's statement limit for the streamed read: MySQL and MariaDB count a
    /// statement's whole run, the time the server waits for pmhlink to take rows included, so
    /// a city's read would be stopped however quickly each row came. Each wait for the server
    /// stays bounded by the socket's read timeout (`timeout_secs` and its grace).
    pub fn unlimited(&self, conn: &mut Conn) -> Result<(), mysql::Error> {
        let limit = statement_limit(conn, 0)?;
        conn.query_drop(format!("SET SESSION {limit}"))
    }

    /// `e` as a message at the key it is about. The server's own text is shown only for a
    /// statement that does not prepare (it describes the statement, not the data).
    pub fn failure(&self, e: &mysql::Error, stage: Stage) -> PluginError {
        let settings = &self.settings;
        let key = connection_key(settings);
        let select = settings.select_key();
        let secs = settings.timeout.as_secs();
        let lost = || {
            PluginError::io(format!(
                "{}the connection to the server `{key}` names was lost",
                stage.prefix()
            ))
            .at(key)
        };
        let server = match e {
            mysql::Error::MySqlError(server) => server,
            mysql::Error::IoError(_) | mysql::Error::CodecError(_) => {
                if io_kind(e).is_some_and(|kind| {
                    matches!(
                        kind,
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    )
                }) {
                    return PluginError::io(format!(
                        "{}the server did not answer within `timeout_secs` ({secs} s)",
                        stage.prefix()
                    ))
                    .at("timeout_secs");
                }
                return lost();
            }
            mysql::Error::DriverError(DriverError::ConnectTimeout) => {
                return PluginError::io(format!(
                    "cannot connect to the server `{key}` names: no answer within `timeout_secs` ({secs} s)"
                ))
                .at(key);
            }
            mysql::Error::DriverError(DriverError::CouldNotConnect(Some((_, description, _)))) => {
                // The operating system's words (`Connection refused`, a failed name lookup);
                // the address the client puts beside them is left out.
                return PluginError::io(format!(
                    "cannot connect to the server `{key}` names: {description}"
                ))
                .at(key);
            }
            mysql::Error::DriverError(DriverError::CouldNotConnect(None)) => {
                return PluginError::io(format!("cannot connect to the server `{key}` names"))
                    .at(key);
            }
            mysql::Error::DriverError(DriverError::MismatchedStmtParams(..)) => {
                return PluginError::config(format!(
                    "`{select}` has parameters (`?`), which nothing gives: write the values in the statement"
                ))
                .at(select);
            }
            _ if stage.reading() => return lost(),
            // Other driver and protocol failures name no value; their kind is enough.
            _ => {
                return PluginError::io(format!(
                    "{}the client failed talking to the server `{key}` names",
                    stage.prefix()
                ))
                .at(key);
            }
        };
        let code = server.code;
        let state = server.state.as_str();
        let told = format!("error {code}, SQLSTATE {state}");
        match code {
            // ER_ACCESS_DENIED_ERROR, ER_ACCESS_DENIED_NO_PASSWORD_ERROR, ER_ACCOUNT_HAS_BEEN_LOCKED, ER_MUST_CHANGE_PASSWORD_LOGIN
            1045 | 1698 | 3118 | 1862 => {
                let at = settings.password_key().unwrap_or(key);
                return PluginError::config(format!(
                    "the server refused the login ({told}): check the user and `{at}`"
                ))
                .at(at);
            }
            // ER_BAD_DB_ERROR, ER_DBACCESS_DENIED_ERROR
            1049 | 1044 if matches!(stage, Stage::Connect) => {
                let at = if key == "url" { "url" } else { "database" };
                return PluginError::config(format!(
                    "the server has no database of the name `{at}` gives, or the user may not use it ({told})"
                ))
                .at(at);
            }
            // MariaDB's ER_STATEMENT_TIMEOUT, MySQL's ER_QUERY_TIMEOUT
            1969 | 3024 => {
                return PluginError::io(format!(
                    "{}the statement took longer than `timeout_secs` ({secs} s)",
                    stage.prefix()
                ))
                .at("timeout_secs");
            }
            // ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION
            1792 => {
                return PluginError::config(format!("`{select}` must only read (a single SELECT)"))
                    .at(select);
            }
            // ER_CON_COUNT_ERROR, ER_SERVER_SHUTDOWN, ER_NET_*, ER_QUERY_INTERRUPTED,
            // ER_CONNECTION_KILLED, ER_TOO_MANY_USER_CONNECTIONS, ER_OUT_OF_RESOURCES
            1040 | 1041 | 1053 | 1152..=1161 | 1184 | 1203 | 1317 | 1927 => {
                return PluginError::io(format!(
                    "{}the server ended the session ({told})",
                    stage.prefix()
                ))
                .at(key);
            }
            _ => {}
        }
        if state.starts_with("08") {
            return PluginError::io(format!(
                "{}the server ended the session ({told})",
                stage.prefix()
            ))
            .at(key);
        }
        match stage {
            Stage::Prepare => PluginError::config(format!(
                "`{select}` does not run: {} ({told})",
                server.message
            ))
            .at(select),
            Stage::Connect => {
                PluginError::io(format!("cannot set up the connection ({told})")).at(key)
            }
            Stage::Read { .. } => PluginError::io(format!(
                "{}the server reported an error ({told}; its text is not shown, it may quote a value)",
                stage.prefix()
            ))
            .at(select),
        }
    }
}

/// The socket's failure under `e`, if a socket failed (a TLS failure is one, its rustls error
/// inside).
pub fn io_error(e: &mysql::Error) -> Option<&std::io::Error> {
    match e {
        mysql::Error::IoError(io) => Some(io),
        mysql::Error::CodecError(codec) => {
            std::error::Error::source(codec).and_then(|s| s.downcast_ref::<std::io::Error>())
        }
        _ => None,
    }
}

/// The kind of the socket's failure under `e`, if a socket failed.
fn io_kind(e: &mysql::Error) -> Option<std::io::ErrorKind> {
    io_error(e).map(std::io::Error::kind)
}

/// The TLS settings, which the MySQL dialect always has.
fn tls_of(settings: &DbSettings) -> &Tls {
    settings
        .tls
        .as_ref()
        .expect("the MySQL dialect takes TLS settings")
}

/// The key the server's address was given at.
pub fn connection_key(settings: &DbSettings) -> &'static str {
    match settings.connection {
        Connection::Url(_) => "url",
        _ => "host",
    }
}
