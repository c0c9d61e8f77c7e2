//! The pdk's conformance kit on the built `odbc` cdylib, loaded through the real host code,
//! against a database of its own on each real server, through each real driver.

mod common;

use common::{Db, SERVERS, Server};
use pmhlink_pdk::conformance::{SourceKit, built_cdylib};
use serde_json::json;

#[test]
fn conforms() {
    for server in SERVERS {
        let binary = match server {
            Server::Postgres => "bytea",
            Server::MariaDb => "varbinary(10)",
        };
        let photo = match server {
            Server::Postgres => "'\\x00'",
            Server::MariaDb => "X'00'",
        };
        // MariaDB Connector/ODBC 3.1.15 mangles some statements' text (a '髙橋①' literal loses
        // its last character, or the statement its end): the names go in as UTF-8 bytes.
        let text = |s: &str| match server {
            Server::Postgres => format!("'{s}'"),
            Server::MariaDb => {
                let hex: String = s.bytes().map(|b| format!("{b:02X}")).collect();
                format!("CONVERT(X'{hex}' USING utf8mb4)")
            }
        };
        let db = Db::new(
            server,
            &[
                &format!(
                    "CREATE TABLE jukyu (bango char(7), shimei varchar(20), futan integer, photo {binary})"
                ),
                &format!(
                    "INSERT INTO jukyu VALUES ('0000001', {}, 81136015, NULL)",
                    text("ポ田　表子")
                ),
                &format!(
                    "INSERT INTO jukyu VALUES ('0000002', {}, 54130018, {photo})",
                    text("髙橋①")
                ),
                &format!(
                    "INSERT INTO jukyu VALUES ('0000003', {}, NULL, NULL)",
                    text("ｱｲｳ")
                ),
            ],
        );
        let cs = db.connection_string();
        let query = json!({"connection_string": cs, "query": "SELECT bango, shimei, futan FROM jukyu ORDER BY bango"});
        let with_binary = json!({"connection_string": cs, "query": "SELECT bango, photo FROM jukyu ORDER BY bango"});
        let report = SourceKit::new(built_cdylib(env!("CARGO_PKG_NAME")))
            .good_config(query.clone())
            .bad_config(json!({"query": "SELECT 1"}), "`dsn`")
            .bad_config(json!({"connection_string": cs}), "`query`")
            .bad_config(
                json!({"url": "postgres://h/d", "query": "SELECT 1"}),
                "does not apply",
            )
            .bad_config(
                json!({"connection_string": cs, "query": "SELECT 1", "password": "x", "password_file": "/p"}),
                "not both",
            )
            .bad_config(
                json!({"connection_string": cs, "querry": "SELECT 1"}),
                "unknown field `querry`",
            )
            .fixture(
                query,
                ["bango", "shimei", "futan"],
                [
                    ["0000001", "ポ田　表子", "81136015"],
                    ["0000002", "髙橋①", "54130018"],
                    ["0000003", "ｱｲｳ", ""],
                ],
            )
            .fixture_with_errors(
                with_binary,
                ["bango", "photo"],
                [vec!["0000001", ""], vec![], vec!["0000003", ""]],
                [(2, "row 2, column `photo`: a binary value")],
            )
            .run();
        assert!(report.passed(), "{server:?}");
    }
}
