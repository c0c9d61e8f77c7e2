//! Where and how to connect, checked when the source opens: the connection string (the `dsn`
//! or `connection_string`, with the password appended as `PWD`), the login bounded in time,
//! the read-only transaction asked of the driver, and the driver's diagnostics as messages
//! that name a key and no value of the connection string.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::sync_channel;
use std::time::Duration;

use odbc_api::handles::{self, SqlResult};
use odbc_api::sys::{ConnectionAttribute, IS_UINTEGER, Pointer};
use odbc_api::{ConnectionOptions, escape_attribute_value};
use pmhlink_pdk::PluginError;
use pmhlink_sql::{Connection, DbConfig, DbSettings, Dialect, Stage};

/// `SQL_MODE_READ_ONLY` for `SQL_ATTR_ACCESS_MODE`.
const MODE_READ_ONLY: usize = 1;
/// `SQL_TXN_REPEATABLE_READ` and `SQL_TXN_SERIALIZABLE` for `SQL_ATTR_TXN_ISOLATION`, tried in
/// this order.
const ISOLATIONS: [usize; 2] = [4, 8];
/// How much longer than `timeout_secs` a login may take before the source stops waiting for a
/// driver that does not keep to its login timeout.
const LOGIN_GRACE: Duration = Duration::from_secs(5);

/// A checked configuration and the connection string made from it.
#[derive(Clone)]
pub struct Target {
    pub settings: DbSettings,
    /// The whole connection string, password included: a secret, never in a message.
    connection_string: String,
    /// Every value of the connection string (and the password) a driver's message might
    /// repeat; each is cut out of the message.
    secrets: Vec<String>,
}

impl Target {
    pub fn new(config: DbConfig) -> Result<Target, PluginError> {
        let settings = config.settle(Dialect::Odbc)?;
        let mut secrets = Vec::new();
        let mut text = match &settings.connection {
            Connection::Dsn(dsn) => {
                secrets.push(dsn.clone());
                format!("DSN={}", escape_attribute_value(dsn))
            }
            Connection::ConnectionString(s) => s.clone(),
            // `settle` for the ODBC dialect takes `dsn` or `connection_string` only.
            _ => unreachable!("an ODBC source connects by `dsn` or `connection_string`"),
        };
        let attributes = attributes(&text);
        secrets.extend(
            attributes
                .iter()
                .map(|(_, v)| v.trim().to_owned())
                .filter(|v| v.chars().count() >= 3),
        );
        if let Some(password) = settings.password()? {
            let key = settings.password_key().unwrap_or("password");
            if let Some((given, _)) = attributes
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("PWD") || k.eq_ignore_ascii_case("PASSWORD"))
            {
                return Err(PluginError::config(format!(
                    "the connection string already holds a password (`{given}`): give it once, as `{key}` or in the string"
                ))
                .at(key));
            }
            if !text.trim_end().is_empty() && !text.trim_end().ends_with(';') {
                text.push(';');
            }
            text.push_str("PWD=");
            text.push_str(&escape_attribute_value(&password));
            text.push(';');
            secrets.push(password);
        }
        // Longest first, so a value that holds another is cut whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Ok(Target {
            settings,
            connection_string: text,
            secrets,
        })
    }

    /// The key the data source was given at.
    pub fn key(&self) -> &'static str {
        match self.settings.connection {
            Connection::Dsn(_) => "dsn",
            _ => "connection_string",
        }
    }

    /// `text` with every value of the connection string cut out, on one line.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.secrets {
            out = out.replace(secret.as_str(), "***");
        }
        out.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// A connection in a transaction of its own (autocommit off), read only and REPEATABLE
    /// READ (or SERIALIZABLE) where the driver takes them, or the reason there is none. The
    /// login is bounded by `timeout_secs` (`SQL_ATTR_LOGIN_TIMEOUT`); a driver that does not
    /// keep to it is left behind on a thread of its own a few seconds later.
    pub fn connect(&self) -> Result<Session, PluginError> {
        let key = self.key();
        let env = odbc_api::environment().map_err(|_| {
            PluginError::other("cannot set up an ODBC environment with the driver manager")
        })?;
        let secs = u32::try_from(self.settings.timeout.as_secs()).unwrap_or(u32::MAX);
        let options = ConnectionOptions {
            login_timeout_sec: Some(secs),
            packet_size: None,
        };
        let (tx, rx) = sync_channel(1);
        let text = self.connection_string.clone();
        std::thread::Builder::new()
            .name("pmhlink-odbc-connect".into())
            .spawn(move || {
                let attempt = catch_unwind(AssertUnwindSafe(|| {
                    env.connect_with_connection_string(&text, options)
                        .map(|c| Session::new(c.into_handle()))
                        .map_err(|e| Diagnostic::of(&e))
                }));
                let outcome = attempt.unwrap_or_else(|payload| {
                    std::mem::forget(payload);
                    Err(Diagnostic::panicked())
                });
                // Nobody waits any more (too late): the session is closed as it drops.
                let _ = tx.try_send(outcome);
            })
            .map_err(|e| PluginError::other(format!("cannot start a thread: {e}")))?;
        let session = match rx.recv_timeout(self.settings.timeout + LOGIN_GRACE) {
            Ok(Ok(session)) => session,
            Ok(Err(d)) => return Err(self.connect_failure(&d)),
            Err(_) => {
                return Err(PluginError::io(format!(
                    "cannot connect to the data source `{key}` names: no answer within `timeout_secs` ({} s)",
                    self.settings.timeout.as_secs()
                ))
                .at(key));
            }
        };
        session.begin();
        Ok(session)
    }

    /// A failed login as a message at the key it is about.
    fn connect_failure(&self, d: &Diagnostic) -> PluginError {
        let key = self.key();
        let words = self.scrub(&d.text);
        let code = d.code();
        match d.state.as_str() {
            // The data source name is not in odbc.ini, or a connection string names no driver.
            "IM002" => PluginError::config(format!(
                "the driver manager knows no data source or driver of the name `{key}` gives: {words} ({code})"
            ))
            .at(key),
            // The driver's library cannot be loaded (a wrong path, a missing dependency).
            "IM003" | "IM004" | "IM005" | "IM006" | "01000" => PluginError::config(format!(
                "the driver `{key}` names cannot be loaded: {words} ({code})"
            ))
            .at(key),
            s if s.starts_with("28") => {
                let at = self.settings.password_key().unwrap_or(key);
                PluginError::config(format!(
                    "the data source refused the login: {words} ({code}): check the user and `{at}`"
                ))
                .at(at)
            }
            "HYT00" | "HYT01" => PluginError::io(format!(
                "cannot connect to the data source `{key}` names: no answer within `timeout_secs` ({} s) ({code})",
                self.settings.timeout.as_secs()
            ))
            .at(key),
            s if s.starts_with("42") || s.starts_with("3D") => PluginError::config(format!(
                "the data source refused the connection: {words} ({code})"
            ))
            .at(key),
            _ => PluginError::io(format!(
                "cannot connect to the data source `{key}` names: {words} ({code})"
            ))
            .at(key),
        }
    }
}

impl Target {
    /// `d` as a message at the key it is about. The driver's words are shown only for a
    /// statement that does not prepare (they describe the statement, not the data); an error
    /// while rows are read gives only its SQLSTATE, as its words may quote a value.
    pub fn failure(&self, d: &Diagnostic, stage: Stage) -> PluginError {
        let settings = &self.settings;
        let key = self.key();
        let select = settings.select_key();
        let code = d.code();
        let state = d.state.as_str();
        let class = state.get(..2).unwrap_or("");
        // The driver's timeout (HYT00), PostgreSQL's `query_canceled`, MariaDB's and MySQL's
        // `max_statement_time` / `max_execution_time` exceeded.
        if state == "HYT00" || state == "57014" || matches!(d.native, 1969 | 3024) {
            return PluginError::io(format!(
                "{}the statement took longer than `timeout_secs` ({} s) ({code})",
                stage.prefix(),
                settings.timeout.as_secs()
            ))
            .at("timeout_secs");
        }
        // Connection exceptions, a connection timeout, PostgreSQL's "operator intervention"
        // (a terminated backend, a server shut down).
        if class == "08" || state == "HYT01" || state.starts_with("57P") {
            return PluginError::io(format!(
                "{}the connection to the data source `{key}` names was lost ({code})",
                stage.prefix()
            ))
            .at(key);
        }
        // The server could not convert a value into the connection's encoding (PostgreSQL's
        // `character_not_in_repertoire`: a SQL_ASCII database's CP932 bytes to UTF-8).
        if state == "22021" {
            return PluginError::io(format!(
                "{}the server could not convert a value to the connection's encoding ({code}): the database holds text in another encoding than the driver asks for (see the plugin's page on CP932)",
                stage.prefix()
            ))
            .at(select);
        }
        // `read_only_sql_transaction`: the driver took the read-only mode, the statement writes.
        if state == "25006" {
            return PluginError::config(format!("`{select}` must only read (a single SELECT)"))
                .at(select);
        }
        match stage {
            Stage::Connect | Stage::Prepare => PluginError::config(format!(
                "`{select}` does not run: {} ({code})",
                self.scrub(&d.text)
            ))
            .at(select),
            // A driver that prepares nothing reports the statement's errors when it runs.
            Stage::Read { row: 1 } if class == "42" => PluginError::config(format!(
                "`{select}` does not run: {} ({code})",
                self.scrub(&d.text)
            ))
            .at(select),
            Stage::Read { .. } => PluginError::io(format!(
                "{}the driver reported an error ({code}; its text is not shown, it may quote a value)",
                stage.prefix()
            ))
            .at(select),
        }
    }

    /// The read ended because the connection was found dead.
    pub fn lost(&self, row: u64) -> PluginError {
        let key = self.key();
        PluginError::io(format!(
            "{}the connection to the data source `{key}` names was lost",
            Stage::Read { row }.prefix()
        ))
        .at(key)
    }
}

/// The attributes of a connection string, `(key, value)`, a `{…}` value without its braces.
pub fn attributes(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let Some(eq) = rest.find('=') else { break };
        let key = rest[..eq].trim().trim_start_matches(';').trim().to_owned();
        rest = &rest[eq + 1..];
        let trimmed = rest.trim_start();
        let value;
        if let Some(braced) = trimmed.strip_prefix('{') {
            // `}}` is a `}` inside the value.
            let mut v = String::new();
            let mut chars = braced.char_indices().peekable();
            let mut end = braced.len();
            while let Some((i, c)) = chars.next() {
                if c == '}' {
                    if matches!(chars.peek(), Some((_, '}'))) {
                        chars.next();
                        v.push('}');
                        continue;
                    }
                    end = i + 1;
                    break;
                }
                v.push(c);
            }
            value = v;
            rest = &braced[end.min(braced.len())..];
            rest = rest.find(';').map_or("", |i| &rest[i + 1..]);
        } else {
            let end = rest.find(';').unwrap_or(rest.len());
            value = rest[..end].to_owned();
            rest = rest.get(end + 1..).unwrap_or("");
        }
        if !key.is_empty() {
            out.push((key, value));
        }
    }
    out
}

/// What a driver (or the driver manager) said went wrong: its SQLSTATE, its native code and
/// its words (which may quote the connection string: scrub them before showing).
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub state: String,
    pub native: i32,
    pub text: String,
}

impl Diagnostic {
    pub fn of(e: &odbc_api::Error) -> Diagnostic {
        match e {
            odbc_api::Error::Diagnostics { record, .. }
            | odbc_api::Error::InvalidRowArraySize { record, .. }
            | odbc_api::Error::UnableToRepresentNull(record)
            | odbc_api::Error::OracleOdbcDriverDoesNotSupport64Bit(record) => Diagnostic {
                state: record.state.as_str().to_owned(),
                native: record.native_error,
                text: String::from_utf16_lossy(&record.message),
            },
            odbc_api::Error::NoDiagnostics { function } => Diagnostic {
                state: String::new(),
                native: 0,
                text: format!("{function} failed and the driver said nothing of why"),
            },
            _ => Diagnostic {
                state: String::new(),
                native: 0,
                text: "the driver manager refused the call".to_owned(),
            },
        }
    }

    /// A diagnostic from the handle a call just failed on.
    pub fn from_result<T>(
        result: SqlResult<T>,
        handle: &impl handles::Diagnostics,
    ) -> Result<T, Diagnostic> {
        result
            .into_result_without_logging(handle)
            .map_err(|e| Diagnostic::of(&e))
    }

    pub fn panicked() -> Diagnostic {
        Diagnostic {
            state: String::new(),
            native: 0,
            text: "the driver returned what odbc-api could not take (a panic, message withheld)"
                .to_owned(),
        }
    }

    /// `SQLSTATE 08001, native error 0` as messages show it.
    pub fn code(&self) -> String {
        if self.state.is_empty() {
            "no SQLSTATE".to_owned()
        } else {
            format!("SQLSTATE {}, native error {}", self.state, self.native)
        }
    }
}

/// An open connection, owned by the thread that uses it. Dropping it rolls back whatever the
/// transaction did and disconnects, never panicking (odbc-api's own handles panic when a
/// driver refuses to disconnect; such a handle is leaked instead).
pub struct Session {
    connection: Option<handles::Connection<'static>>,
}

impl Session {
    fn new(connection: handles::Connection<'static>) -> Session {
        Session {
            connection: Some(connection),
        }
    }

    pub fn handle(&self) -> &handles::Connection<'static> {
        self.connection
            .as_ref()
            .expect("a session holds its connection until dropped")
    }

    /// Whether text is best fetched as the driver's bytes even for `encoding = "utf-8"`:
    /// MariaDB Connector/ODBC (3.1.15) drops characters when it converts to UTF-16 (`髙橋①`
    /// comes as `髙橋`), while its bytes are the connection's character set, UTF-8 unless the
    /// connection string sets `CHARSET`. Told by SQLGetInfo's DBMS name (MySQL's driver says
    /// `MySQL`, MariaDB's `MariaDB`, and both take the same path).
    pub fn hands_utf8_bytes(&self) -> bool {
        let mut name = Vec::new();
        let got = self
            .handle()
            .fetch_database_management_system_name(&mut name);
        if !matches!(got, SqlResult::Success(()) | SqlResult::SuccessWithInfo(())) {
            return false;
        }
        let name = String::from_utf16_lossy(&name).to_ascii_lowercase();
        name.contains("mariadb") || name.contains("mysql")
    }

    /// Asks for the one read-only transaction: isolation first (it cannot change inside a
    /// transaction), then the access mode, then autocommit off. What a driver refuses is left
    /// at the driver's default: see the crate doc.
    fn begin(&self) {
        let c = self.handle();
        for level in ISOLATIONS {
            if set(c, ConnectionAttribute::TXN_ISOLATION, level) {
                break;
            }
        }
        set(c, ConnectionAttribute::ACCESS_MODE, MODE_READ_ONLY);
        let _ = c.set_autocommit(false);
    }
}

/// Sets an integer connection attribute; whether the driver took it.
#[allow(unsafe_code)]
fn set(c: &handles::Connection<'_>, attribute: ConnectionAttribute, value: usize) -> bool {
    // SAFETY: ACCESS_MODE and TXN_ISOLATION are standard ODBC integer attributes: the value is
    // passed in the pointer itself and nothing is dereferenced, and neither changes how later
    // calls on the handle behave beyond the transaction's semantics.
    let result = unsafe { c.set_attribute(attribute, value as Pointer, IS_UINTEGER) };
    matches!(
        result,
        SqlResult::Success(()) | SqlResult::SuccessWithInfo(())
    )
}

impl Drop for Session {
    fn drop(&mut self) {
        let Some(mut c) = self.connection.take() else {
            return;
        };
        let closed = catch_unwind(AssertUnwindSafe(|| {
            let _ = c.rollback();
            matches!(
                c.disconnect(),
                SqlResult::Success(()) | SqlResult::SuccessWithInfo(())
            )
        }));
        match closed {
            Ok(true) => quietly(move || drop(c)),
            Ok(false) => std::mem::forget(c),
            Err(payload) => {
                std::mem::forget(payload);
                std::mem::forget(c);
            }
        }
    }
}

/// Runs `f` (a drop), swallowing a panic: odbc-api panics when the driver reports an error
/// while a handle is freed, and no panic may leave the plugin.
pub fn quietly(f: impl FnOnce()) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(f)) {
        std::mem::forget(payload);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_strings_attributes_braces_included() {
        let parsed = attributes("Driver={My Driver}};x};Server=db;;PWD={a;b} ; UID=u");
        assert_eq!(
            parsed,
            [
                ("Driver".to_owned(), "My Driver};x".to_owned()),
                ("Server".to_owned(), "db".to_owned()),
                ("PWD".to_owned(), "a;b".to_owned()),
                ("UID".to_owned(), "u".to_owned()),
            ]
        );
        assert!(attributes("").is_empty());
    }
}
