//! A database of its own for each test, on the PostgreSQL server at 127.0.0.1:5432 (through
//! psqlODBC) or the MariaDB server at 127.0.0.1:3306 (through MariaDB Connector/ODBC), made and
//! dropped through the same drivers the source uses. `cargo xtask services` installs the
//! servers, unixODBC and both drivers where they are missing; connection strings name the
//! drivers' files, so no odbc.ini is needed.

// Each test file uses a part of it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use odbc_api::{ConnectionOptions, environment};

/// The database servers the tests run against, each through its own driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Server {
    Postgres,
    MariaDb,
}

pub const SERVERS: [Server; 2] = [Server::Postgres, Server::MariaDb];

/// A driver's library file: Debian puts them in /usr/lib/<multiarch>/odbc.
pub fn driver_file(name: &str) -> PathBuf {
    let found = std::fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("odbc").join(name))
        .chain([PathBuf::from("/usr/lib64").join(name)])
        .find(|p| p.exists());
    found.unwrap_or_else(|| panic!("no ODBC driver {name}: run `cargo xtask services`"))
}

impl Server {
    /// The driver file and the attributes of a connection to `database` as the superuser;
    /// the settings that make each driver stream (psqlODBC's `UseDeclareFetch=1`: a cursor
    /// fetched `Fetch` rows at a time; MariaDB's `NO_CACHE=1`: rows read from the socket as
    /// they are fetched) are set, as the plugin's page advises.
    pub fn connection_string(self, database: &str) -> String {
        match self {
            Server::Postgres => format!(
                "Driver={{{}}};Server=127.0.0.1;Port=5432;Database={database};UID=postgres;UseDeclareFetch=1;Fetch=100",
                driver_file("psqlodbcw.so").display()
            ),
            Server::MariaDb => format!(
                "Driver={{{}}};Server=127.0.0.1;Port=3306;Database={database};UID=root;NO_CACHE=1",
                driver_file("libmaodbc.so").display()
            ),
        }
    }

    /// The database every server has, to connect to while making or dropping another.
    fn admin_database(self) -> &'static str {
        match self {
            Server::Postgres => "postgres",
            Server::MariaDb => "mysql",
        }
    }

    fn admin(self, database: &str) -> odbc_api::Connection<'static> {
        environment()
            .unwrap()
            .connect_with_connection_string(
                &self.connection_string(database),
                ConnectionOptions {
                    login_timeout_sec: Some(10),
                    packet_size: None,
                },
            )
            .unwrap_or_else(|e| panic!("no {self:?} server ({e}): run `cargo xtask services`"))
    }

    /// Runs each statement on `database` as the superuser, in autocommit.
    pub fn execute(self, database: &str, statements: &[&str]) {
        let connection = self.admin(database);
        for sql in statements {
            connection
                .execute(sql, (), None)
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
    }

    /// The first column of what `sql` returns on `database`, as text.
    pub fn texts(self, database: &str, sql: &str) -> Vec<String> {
        use odbc_api::Cursor;
        let connection = self.admin(database);
        let mut cursor = connection
            .execute(sql, (), None)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .expect("a result set");
        let mut out = Vec::new();
        while let Some(mut row) = cursor.next_row().unwrap() {
            let mut buf = Vec::new();
            row.get_text(1, &mut buf).unwrap();
            out.push(String::from_utf8(buf).unwrap());
        }
        out
    }
}

/// A database made for one test, dropped when it goes out of scope.
pub struct Db {
    pub server: Server,
    pub name: String,
}

impl Db {
    /// A new database (UTF-8) holding what `statements` make.
    pub fn new(server: Server, statements: &[&str]) -> Db {
        let options = match server {
            Server::Postgres => "TEMPLATE template0 ENCODING 'UTF8'",
            Server::MariaDb => "CHARACTER SET utf8mb4",
        };
        Db::with(server, options, statements)
    }

    /// A new PostgreSQL `SQL_ASCII` database (bytes stored as given, as old systems keep
    /// CP932).
    pub fn sql_ascii(statements: &[&str]) -> Db {
        Db::with(
            Server::Postgres,
            "TEMPLATE template0 ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C'",
            statements,
        )
    }

    fn with(server: Server, options: &str, statements: &[&str]) -> Db {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!(
            "pmhlink_odbc_{}_{}_{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        server.execute(
            server.admin_database(),
            &[&format!("CREATE DATABASE {name} {options}")],
        );
        let db = Db { server, name };
        server.execute(&db.name, statements);
        db
    }

    pub fn connection_string(&self) -> String {
        self.server.connection_string(&self.name)
    }

    pub fn execute(&self, statements: &[&str]) {
        self.server.execute(&self.name, statements);
    }

    pub fn texts(&self, sql: &str) -> Vec<String> {
        self.server.texts(&self.name, sql)
    }

    /// Ends every connection to this database but the test's own: the server side of a
    /// connection lost mid-read.
    pub fn kill_connections(&self) -> usize {
        match self.server {
            Server::Postgres => self
                .texts(&format!(
                    "SELECT pg_terminate_backend(pid)::text FROM pg_stat_activity WHERE datname = '{}' AND pid <> pg_backend_pid()",
                    self.name
                ))
                .len(),
            Server::MariaDb => {
                let ids = self.texts(&format!(
                    "SELECT id FROM information_schema.processlist WHERE db = '{}' AND id <> CONNECTION_ID()",
                    self.name
                ));
                for id in &ids {
                    self.execute(&[&format!("KILL {id}")]);
                }
                ids.len()
            }
        }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let drop = match self.server {
            Server::Postgres => format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            Server::MariaDb => format!("DROP DATABASE IF EXISTS {}", self.name),
        };
        let server = self.server;
        // Never a panic while a test's own panic unwinds.
        let _ = std::panic::catch_unwind(move || server.execute(server.admin_database(), &[&drop]));
    }
}
