//! Where and how to connect, checked when the source opens; the connection attempt, bounded in
//! time; the session's settings; and the server's errors as messages that name a key and no
//! value.

use std::sync::mpsc::sync_channel;
use std::time::Duration;

use mysql::prelude::Queryable;
use mysql::{Conn, DriverError, Opts, OptsBuilder};
use pmhlink_pdk::PluginError;
use pmhlink_sql::{Connection, DbConfig, DbSettings, Dialect, Stage};

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
}

/// URL parameters that ask for TLS in some MySQL client's URL dialect (or the `mysql` crate's
/// own TLS options): refused until the source supports TLS.
fn asks_for_tls(key: &str) -> bool {
    [
        "ssl", "tls", "cert", "pkcs12", "cipher", "danger", "priv_key",
    ]
    .iter()
    .any(|word| key.contains(word))
}

/// `url` without the parameters that only say "no TLS" (`ssl-mode=DISABLED`, …), which the
/// client does not know; an error names the parameter that asks for TLS.
fn without_tls_words(url: &str) -> Result<String, PluginError> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok(url.to_owned());
    };
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = key.to_ascii_lowercase().replace('-', "_");
        let value = value.to_ascii_lowercase();
        let plain = matches!(key.as_str(), "ssl_mode" | "sslmode")
            && matches!(
                value.as_str(),
                "disabled" | "disable" | "preferred" | "prefer"
            );
        if plain {
            continue;
        }
        if asks_for_tls(&key) {
            return Err(PluginError::config(format!(
                "`url` asks for TLS (`{key}`), which this source does not support yet: connect without it (or with `ssl-mode=DISABLED`) over a local socket, a tunnel or a trusted network"
            ))
            .at("url"));
        }
        kept.push(pair);
    }
    Ok(if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    })
}

impl Target {
    pub fn new(config: DbConfig) -> Result<Target, PluginError> {
        let settings = config.settle(Dialect::MySql)?;
        let (builder, prefer_socket) = match &settings.connection {
            Connection::Url(url) => {
                let screened = without_tls_words(url)?;
                let opts = Opts::from_url(&screened).map_err(|e| {
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
                if opts.get_ssl_opts().is_some() {
                    return Err(PluginError::config(
                        "`url` asks for TLS, which this source does not support yet: connect without it over a local socket, a tunnel or a trusted network",
                    )
                    .at("url"));
                }
                let prefer = opts.get_prefer_socket() && screened.contains("prefer_socket");
                (OptsBuilder::from_opts(opts), prefer)
            }
            Connection::Parts {
                host,
                port,
                database,
                user,
            } => (
                OptsBuilder::new()
                    .ip_or_hostname(Some(host.clone()))
                    .tcp_port(port.unwrap_or(3306))
                    .db_name(Some(database.clone()))
                    .user(user.clone()),
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
        Ok(Target {
            settings,
            opts: builder.into(),
        })
    }

    /// A connection with the session set up for reading, or the reason there is none. The
    /// attempt, name lookup included, ends within `timeout_secs` (the client bounds only each
    /// TCP connect, so the attempt runs on a thread of its own that is left behind when late).
    pub fn connect(&self) -> Result<Conn, PluginError> {
        let (tx, rx) = sync_channel(1);
        let opts = self.opts.clone();
        std::thread::Builder::new()
            .name("pmhlink-mysql-connect".into())
            .spawn(move || {
                let _ = tx.send(Conn::new(opts));
            })
            .map_err(|e| PluginError::other(format!("cannot start a thread: {e}")))?;
        let key = connection_key(&self.settings);
        let mut conn = match rx.recv_timeout(self.settings.timeout) {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) => return Err(self.failure(&e, Stage::Connect)),
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

/// The kind of the socket's failure under `e`, if a socket failed.
fn io_kind(e: &mysql::Error) -> Option<std::io::ErrorKind> {
    match e {
        mysql::Error::IoError(io) => Some(io.kind()),
        mysql::Error::CodecError(codec) => std::error::Error::source(codec)
            .and_then(|s| s.downcast_ref::<std::io::Error>())
            .map(std::io::Error::kind),
        _ => None,
    }
}

/// The key the server's address was given at.
pub fn connection_key(settings: &DbSettings) -> &'static str {
    match settings.connection {
        Connection::Url(_) => "url",
        _ => "host",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_that_only_say_no_tls_are_dropped_and_those_asking_for_it_refused() {
        let cases: [(&str, Result<&str, &str>); 6] = [
            ("mysql://u@h/d", Ok("mysql://u@h/d")),
            ("mysql://u@h/d?ssl-mode=DISABLED", Ok("mysql://u@h/d")),
            (
                "mysql://u@h/d?sslmode=prefer&compress=true",
                Ok("mysql://u@h/d?compress=true"),
            ),
            ("mysql://u@h/d?ssl-mode=REQUIRED", Err("ssl_mode")),
            ("mysql://u@h/d?require_ssl=true", Err("require_ssl")),
            (
                "mysql://u@h/d?root_cert_path=/ca.pem",
                Err("root_cert_path"),
            ),
        ];
        for (url, expected) in cases {
            match (without_tls_words(url), expected) {
                (Ok(kept), Ok(want)) => assert_eq!(kept, want, "{url}"),
                (Err(e), Err(key)) => {
                    assert_eq!(e.location.as_deref(), Some("url"));
                    assert!(e.message.contains(&format!("(`{key}`)")), "{url}: {e}");
                    assert!(!e.message.contains("/ca.pem"), "{e}");
                }
                (got, want) => panic!("{url}: {got:?}, wanted {want:?}"),
            }
        }
    }
}
