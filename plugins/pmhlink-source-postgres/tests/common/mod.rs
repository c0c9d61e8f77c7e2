//! A database of its own for each test on the PostgreSQL server at 127.0.0.1:5432 (`cargo
//! xtask services` installs and starts one where it is missing), dropped when the test ends.

// Each test file uses a part of it.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};

use postgres::{Client, NoTls};

/// The server's superuser, over TCP.
pub fn admin(database: &str) -> Client {
    Client::connect(
        &format!("host=127.0.0.1 port=5432 user=postgres dbname={database} connect_timeout=10"),
        NoTls,
    )
    .unwrap_or_else(|e| {
        panic!("no PostgreSQL server on 127.0.0.1:5432 ({e}): run `cargo xtask services`")
    })
}

/// A database made for one test, dropped (with its connections) when it goes out of scope.
pub struct Db {
    pub name: String,
}

impl Db {
    /// A new UTF-8 database holding what `sql` makes.
    pub fn new(sql: &str) -> Db {
        Db::with("ENCODING 'UTF8'", sql)
    }

    /// A new `SQL_ASCII` database (bytes stored as given, as old systems keep CP932).
    pub fn sql_ascii(sql: &str) -> Db {
        Db::with("ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C'", sql)
    }

    fn with(options: &str, sql: &str) -> Db {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!(
            "pmhlink_test_{}_{}_{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        admin("postgres")
            .batch_execute(&format!(
                "CREATE DATABASE {name} TEMPLATE template0 {options}"
            ))
            .unwrap();
        let db = Db { name };
        db.client().batch_execute(sql).unwrap();
        db
    }

    pub fn client(&self) -> Client {
        admin(&self.name)
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:5432/{}", self.name)
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let _ = admin("postgres").batch_execute(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}
