//! The pdk's conformance kit: the plugin loads through the real host code and keeps the rules
//! the host relies on (schema, config errors without values, stable discover, batches).

use pmhlink_pdk::conformance::{SourceKit, built_cdylib};
use pmhlink_rules::text::encode_cp932;
use serde_json::json;

#[test]
fn conforms() {
    let dir = tempfile::tempdir().unwrap();
    let cp932 = dir.path().join("subsidy.csv");
    let text = "受給者番号,氏名,備考\r\n0000001,ポ田　表子,\"二行の\r\n備考\"\r\n0000002,髙橋①,\r\n0000003,ｱｲｳ,\"\"\"引用\"\"\"\r\n";
    std::fs::write(&cp932, encode_cp932(text).unwrap()).unwrap();
    let positional = dir.path().join("positional.tsv");
    std::fs::write(&positional, "\u{FEFF}x\t1\ty\nz\t2\tw\n").unwrap();

    let cp932_config = json!({"path": cp932, "encoding": "cp932"});
    let positional_config = json!({"path": positional, "delimiter": "\t", "header": false,
        "columns": ["n", "a"], "positions": [1, 0]});
    SourceKit::new(built_cdylib(env!("CARGO_PKG_NAME")))
        .good_config(cp932_config.clone())
        .good_config(positional_config.clone())
        .bad_config(json!({"path": cp932, "delimiter": ";;"}), "`delimiter`")
        .bad_config(
            json!({"path": cp932, "encoding": "shift-jis-ish"}),
            "`encoding`",
        )
        .bad_config(
            json!({"path": cp932, "colums": ["x"]}),
            "unknown field `colums`",
        )
        .bad_config(json!({"path": cp932, "header": false}), "`columns`")
        .bad_config(
            json!({"path": cp932, "encoding": "cp932", "columns": ["zz"]}),
            "no column `zz`",
        )
        .fixture(
            cp932_config,
            ["受給者番号", "氏名", "備考"],
            [
                ["0000001", "ポ田　表子", "二行の\r\n備考"],
                ["0000002", "髙橋①", ""],
                ["0000003", "ｱｲｳ", "\"引用\""],
            ],
        )
        .fixture(positional_config, ["n", "a"], [["1", "x"], ["2", "z"]])
        .run();
}
