//! The pdk's conformance kit: the plugin loads through the real host code and keeps the rules
//! the host relies on (schema, config errors without values, stable discover, batches).

use pmhlink_pdk::conformance::{SourceKit, built_cdylib};
use pmhlink_rules::text::encode_cp932;
use serde_json::json;

#[test]
fn conforms() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("residents.dat");
    // Type, 4-byte code, 8-byte name padded with U+3000.
    let text = "H2025       \r\nD0001山田　　\r\nD0002ポ表　　\r\nT0002       \r\n";
    std::fs::write(&path, encode_cp932(text).unwrap()).unwrap();
    let config = json!({
        "path": path,
        "record_length": 13,
        "record_type": {"offset": 0, "length": 1, "keep": ["D"]},
        "fields": [
            {"name": "code", "offset": 1, "length": 4},
            {"name": "氏名", "offset": 5, "length": 8},
        ],
    });
    let field = json!([{"name": "code", "offset": 1, "length": 4}]);
    SourceKit::new(built_cdylib(env!("CARGO_PKG_NAME")))
        .good_config(config.clone())
        .bad_config(
            json!({"path": path, "fields": field, "line_ending": "none"}),
            "`record_length`",
        )
        .bad_config(
            json!({"path": path, "fields": field, "encoding": "ebcdic-jp"}),
            "`encoding`",
        )
        .bad_config(
            json!({"path": path, "fields": field, "trimm": false}),
            "unknown field `trimm`",
        )
        .bad_config(json!({"path": path, "fields": []}), "`fields`")
        .fixture(
            config,
            ["code", "氏名"],
            [["0001", "山田"], ["0002", "ポ表"]],
        )
        .run();
}
