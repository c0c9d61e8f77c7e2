//! The `mysql` source through the real binary and the real plugin library: the same generated
//! municipality read from its CSV export and from a MariaDB table holding the same rows (in
//! utf8mb4 columns, and in cp932 columns) gives byte-identical payloads.

mod common;

use common::databases::same_payloads_as_csv;
use common::mariadb::load_into_mariadb;

#[test]
fn a_mysql_source_gives_the_payloads_its_csv_export_gives() {
    let databases = std::cell::RefCell::new(Vec::new());
    same_payloads_as_csv("mysql", |town, cp932| {
        let (db, query) = load_into_mariadb(&town.subsidy(), cp932);
        let url = format!("mysql://root@127.0.0.1:3306/{}", db.name);
        databases.borrow_mut().push(db);
        format!("url = \"{url}\"\nquery = '{query}'\nfetch_size = 7")
    });
}
