//! A database of its own for each test on the MariaDB server at 127.0.0.1:3306 (root, no
//! password; `cargo xtask services` installs and starts one where it is missing), dropped
//! when the test ends.

// Each test file uses a part of it.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};

use mysql::prelude::Queryable;
use mysql::{Conn, OptsBuilder};

/// The server's root user over TCP, in `database` when one is given.
pub fn admin(database: Option<&str>) -> Conn {
    let opts = OptsBuilder::new()
        .ip_or_hostname(Some("127.0.0.1"))
        .tcp_port(3306)
        .user(Some("root"))
        .db_name(database)
        .prefer_socket(false)
        .tcp_connect_timeout(Some(std::time::Duration::from_secs(10)));
    Conn::new(opts).unwrap_or_else(|e| {
        panic!("no MariaDB server on 127.0.0.1:3306 ({e}): run `cargo xtask services`")
    })
}

/// A database made for one test, dropped when it goes out of scope.
pub struct Db {
    pub name: String,
}

impl Db {
    /// A new utf8mb4 database holding what `sql` makes (statements separated by `;`).
    pub fn new(sql: &str) -> Db {
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
        admin(None)
            .query_drop(format!(
                "CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"
            ))
            .unwrap();
        let db = Db { name };
        db.run(sql);
        db
    }

    /// Runs each `;`-separated statement of `sql` (none may hold a `;` of its own).
    pub fn run(&self, sql: &str) {
        let mut conn = self.conn();
        for statement in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            conn.query_drop(statement)
                .unwrap_or_else(|e| panic!("{statement}: {e}"));
        }
    }

    pub fn conn(&self) -> Conn {
        admin(Some(&self.name))
    }

    pub fn url(&self) -> String {
        format!("mysql://root@127.0.0.1:3306/{}", self.name)
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let _ = admin(None).query_drop(format!("DROP DATABASE IF EXISTS {}", self.name));
    }
}
