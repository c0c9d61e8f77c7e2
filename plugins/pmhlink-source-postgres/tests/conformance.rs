//! The pdk's conformance kit on the built `postgres` cdylib, loaded through the real host code,
//! against a database of its own on the real server.

mod common;

use pmhlink_pdk::conformance::{SourceKit, built_cdylib};
use serde_json::json;

#[test]
fn conforms() {
    let db = common::Db::new(
        "CREATE TABLE jukyu (bango char(7), shimei text, futan integer, photo bytea);
         INSERT INTO jukyu VALUES ('0000001', 'ポ田　表子', 81136015, NULL);
         INSERT INTO jukyu VALUES ('0000002', '髙橋①', 54130018, '\\x00');
         INSERT INTO jukyu VALUES ('0000003', 'ｱｲｳ', NULL, NULL);",
    );
    let query =
        json!({"url": db.url(), "query": "SELECT bango, shimei, futan FROM jukyu ORDER BY bango"});
    let with_bytea =
        json!({"url": db.url(), "query": "SELECT bango, photo FROM jukyu ORDER BY bango"});
    // The server's certificate is self-signed: its own CA.
    let certificate: String = common::admin("postgres")
        .query_one("SELECT current_setting('ssl_cert_file')", &[])
        .unwrap()
        .get(0);
    let report = SourceKit::new(built_cdylib(env!("CARGO_PKG_NAME")))
        .good_config(query.clone())
        .good_config(json!({
            "url": db.url(),
            "query": "SELECT bango FROM jukyu",
            "tls": "verify-ca",
            "tls_ca_file": certificate
        }))
        .bad_config(
            json!({"url": db.url(), "query": "SELECT 1", "tls_ca_file": "/nonexistent/ca-file.pem"}),
            "cannot read the file `tls_ca_file` names",
        )
        .bad_config(
            json!({"url": format!("{}?sslrootcert=/nonexistent/b.pem", db.url()), "query": "SELECT 1", "tls_ca_file": "/nonexistent/a.pem"}),
            "`tls_ca_file` and `url`'s `sslrootcert` name different CA certificates",
        )
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
            with_bytea,
            ["bango", "photo"],
            [vec!["0000001", ""], vec![], vec!["0000003", ""]],
            [(2, "row 2, column `photo`: a binary value")],
        )
        .run();
    assert!(report.passed());
}
