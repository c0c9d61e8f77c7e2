//! The pdk's conformance kit on the built `sqlite` cdylib, loaded through the real host code.

use pmhlink_pdk::conformance::{SourceKit, built_cdylib};
use serde_json::json;

#[test]
fn conforms() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fukushi.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "CREATE TABLE jukyu (bango TEXT, shimei TEXT, futan INTEGER, photo BLOB);
         INSERT INTO jukyu VALUES ('0000001', 'ポ田　表子', 81136015, NULL);
         INSERT INTO jukyu VALUES ('0000002', '髙橋①', 54130018, X'00');
         INSERT INTO jukyu VALUES ('0000003', 'ｱｲｳ', NULL, NULL);",
    )
    .unwrap();
    drop(conn);
    let query =
        json!({"url": db, "query": "SELECT bango, shimei, futan FROM jukyu ORDER BY bango"});
    let with_blob = json!({"url": db, "query": "SELECT bango, photo FROM jukyu ORDER BY bango"});
    let report = SourceKit::new(built_cdylib(env!("CARGO_PKG_NAME")))
        .good_config(query.clone())
        .bad_config(json!({"query": "SELECT 1"}), "`url`")
        .bad_config(json!({"url": db}), "`query`")
        .bad_config(
            json!({"url": db, "query": "SELECT 1", "password": "x"}),
            "no `password`",
        )
        .bad_config(
            json!({"url": db, "query": "SELECT 1", "tls": "require"}),
            "`tls` does not apply here: a SQLite database is a file",
        )
        .bad_config(
            json!({"url": db, "querry": "SELECT 1"}),
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
            with_blob,
            ["bango", "photo"],
            [vec!["0000001", ""], vec![], vec!["0000003", ""]],
            [(2, "row 2, column `photo`: a binary value")],
        )
        .run();
    assert!(report.passed());
}
