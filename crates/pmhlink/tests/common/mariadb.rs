//! A generated town's export rows as a table in a MariaDB database of the test's own on the
//! server at 127.0.0.1:3306 (root, no password; `cargo xtask services` installs and starts one
//! where it is missing): utf8mb4 columns, or (as old systems have them) `CHARACTER SET cp932`
//! columns holding the CP932 bytes the CSV export holds.

use mysql::prelude::Queryable;

use super::databases::unique_name;
use super::sqlite::stored;

pub fn my_admin(database: Option<&str>) -> mysql::Conn {
    let opts = mysql::OptsBuilder::new()
        .ip_or_hostname(Some("127.0.0.1"))
        .tcp_port(3306)
        .user(Some("root"))
        .db_name(database)
        .prefer_socket(false)
        .tcp_connect_timeout(Some(std::time::Duration::from_secs(10)));
    mysql::Conn::new(opts).unwrap_or_else(|e| {
        panic!("no MariaDB server on 127.0.0.1:3306 ({e}): run `cargo xtask services`")
    })
}

/// A MariaDB database of the test's own, dropped when it goes out of scope.
pub struct MariaDb {
    pub name: String,
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        let _ = my_admin(None).query_drop(format!("DROP DATABASE IF EXISTS {}", self.name));
    }
}

/// The subsidy export's rows as a table `subsidy` of text columns named by its header (and an
/// ordinal `pmhlink_ord`) in a new MariaDB database, in utf8mb4 or in cp932. Returns the
/// database and the query that reads the rows.
pub fn load_into_mariadb(rows: &[Vec<String>], cp932: bool) -> (MariaDb, String) {
    let charset = if cp932 { "cp932" } else { "utf8mb4" };
    let db = MariaDb {
        name: unique_name(charset),
    };
    let mut admin = my_admin(None);
    admin
        .query_drop(format!("DROP DATABASE IF EXISTS {}", db.name))
        .unwrap();
    admin
        .query_drop(format!("CREATE DATABASE {} CHARACTER SET utf8mb4", db.name))
        .unwrap();
    let mut conn = my_admin(Some(&db.name));
    let header = &rows[0];
    let quoted: Vec<String> = header.iter().map(|h| format!("`{h}`")).collect();
    let columns: Vec<String> = quoted
        .iter()
        .map(|q| format!("{q} text CHARACTER SET {charset}"))
        .collect();
    conn.query_drop(format!(
        "CREATE TABLE subsidy (pmhlink_ord int PRIMARY KEY, {}) ENGINE=InnoDB",
        columns.join(", ")
    ))
    .unwrap();
    // Each cell as its bytes, written as a hex literal in the column's character set: stored
    // as given, with no conversion on the way.
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02X}")).collect::<String>();
    for (chunk_no, chunk) in rows[1..].chunks(100).enumerate() {
        let values: Vec<String> = chunk
            .iter()
            .enumerate()
            .map(|(i, row)| {
                let cells: Vec<String> = row
                    .iter()
                    .map(|c| format!("_{charset} X'{}'", hex(&stored(c, cp932))))
                    .collect();
                format!("({}, {})", chunk_no * 100 + i, cells.join(", "))
            })
            .collect();
        conn.query_drop(format!("INSERT INTO subsidy VALUES {}", values.join(", ")))
            .unwrap();
    }
    let query = format!(
        "SELECT {} FROM subsidy ORDER BY pmhlink_ord",
        quoted.join(", ")
    );
    (db, query)
}
