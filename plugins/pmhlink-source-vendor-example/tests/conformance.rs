//! Runs the pdk's conformance kit against the library cargo built for this test: the same
//! file, loaded the same way, as `pmhlink` would load it from a plugin directory.

use pmhlink_pdk::conformance::{SourceKit, built_cdylib};
use serde_json::json;

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

const COLUMNS: [&str; 6] = [
    "受給者番号",
    "公費負担者番号",
    "氏名カナ",
    "生年月日",
    "資格取得日",
    "資格喪失日",
];

/// Synthetic people: the fixtures hold no real data, because the kit prints rows that differ.
fn rows() -> Vec<Vec<&'static str>> {
    vec![
        vec![
            "9990001",
            "81136015",
            "ﾃｽﾄ ﾀﾛｳ",
            "S55.04.01",
            "2024-04-01",
            "2025-03-31",
        ],
        vec![
            "9990002",
            "81136015",
            "ｻﾝﾌﾟﾙ ﾊﾅｺ",
            "H02.12.24",
            "2024-04-01",
            "",
        ],
        vec![
            "9990003",
            "81137013",
            "ﾀﾞﾐｰ ｼﾞﾛｳ",
            "R01.05.01",
            "2024-10-01",
            "2025-09-30",
        ],
    ]
}

#[test]
fn conforms() {
    SourceKit::new(built_cdylib(env!("CARGO_PKG_NAME")))
        .good_config(json!({"path": fixture("three-rows.tsv")}))
        .good_config(json!({"path": fixture("bom-crlf.tsv"), "skip_comments": true}))
        .bad_config(json!({"path": ""}), "`path`: must not be empty")
        .bad_config(json!({"path": 20240401}), "`path`")
        .bad_config(
            json!({"path": fixture("three-rows.tsv"), "encoding": "shift_jis"}),
            "unknown field `encoding`",
        )
        .bad_config(
            json!({"path": fixture("three-rows.tsv"), "skip_comments": "sometimes"}),
            "`skip_comments`",
        )
        .fixture(json!({"path": fixture("three-rows.tsv")}), COLUMNS, rows())
        .fixture(json!({"path": fixture("bom-crlf.tsv")}), COLUMNS, rows())
        // A damaged export: the rows are still yielded, with row errors naming their lines.
        .fixture_with_errors(
            json!({"path": fixture("damaged.tsv")}),
            ["a", "b", "c"],
            vec![vec!["1", "2", "3"], vec!["4", "5"], vec![]],
            [(3, "line 3: 2 cells"), (4, "line 4, byte 5")],
        )
        .run();
}

/// The plugin's settings page, kept beside the crate like a vendor would keep it: generated
/// from the settings struct, and this test fails when it is stale (`PMHLINK_BLESS=1 cargo
/// test` rewrites it).
#[test]
fn the_settings_page_is_up_to_date() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("SETTINGS.md");
    if let Err(stale) =
        pmhlink_pdk::docs::spec_page_is_current(&pmhlink_source_vendor_example::spec(), &path)
    {
        panic!("{stale}");
    }
}
