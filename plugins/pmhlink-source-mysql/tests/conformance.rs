//! The pdk's conformance kit on the built `mysql` cdylib, loaded through the real host code,
//! against a database of its own on the real MariaDB server.

mod common;

use pmhlink_pdk::conformance::{SourceKit, built_cdylib};
use serde_json::json;

#[test]
fn conforms() {
    let db = common::Db::new(
        "CREATE TABLE jukyu (bango char(7), shimei varchar(20), futan int, photo blob);
         INSERT INTO jukyu VALUES ('0000001', 'ポ田　表子', 81136015, NULL);
         INSERT INTO jukyu VALUES ('0000002', '髙橋①', 54130018, X'00');
         INSERT INTO jukyu VALUES ('0000003', 'ｱｲｳ', NULL, NULL)",
    );
    let query =
        json!({"url": db.url(), "query": "SELECT bango, shimei, futan FROM jukyu ORDER BY bango"});
    let with_blob =
        json!({"url": db.url(), "query": "SELECT bango, photo FROM jukyu ORDER BY bango"});
    let report = SourceKit::new(built_cdylib(env!("CARGO_PKG_NAME")))
        .good_config(query.clone())
        .bad_config(json!({"query": "SELECT 1"}), "`url`")
        .bad_config(json!({"url": db.url()}), "`query`")
        .bad_config(
            json!({"url": db.url(), "query": "SELECT 1", "password": "x", "password_file": "/p"}),
            "not both",
        )
        .bad_config(
            json!({"url": db.url(), "querry": "SELECT 1"}),
            "unknown field `querry`",
        )
        .bad_config(
            json!({"url": format!("{}?ssl-cert=/etc/pmhlink/client.pem", db.url()), "query": "SELECT 1"}),
            "`ssl_cert` is not supported",
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
            with_blob,
            ["bango", "photo"],
            [vec!["0000001", ""], vec![], vec!["0000003", ""]],
            [(2, "row 2, column `photo`: a binary value")],
        )
        .run();
    assert!(report.passed());
}
