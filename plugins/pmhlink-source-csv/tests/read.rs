//! The `csv` source read across the ABI from real files: encodings, header modes, separators,
//! line numbers and row errors. Cases are data: bytes on disk, a config, what must come out.

mod common;

use std::path::Path;

use common::{Read, columns, open, read_all};
use pmhlink_plugin_api::RErrorKind;
use pmhlink_rules::text::encode_cp932;
use serde_json::{Value, json};

fn cp932(s: &str) -> Vec<u8> {
    encode_cp932(s).unwrap()
}

struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    /// Without `path`; the test adds it.
    config: Value,
    columns: &'static [&'static str],
    rows: &'static [(u64, &'static [&'static str])],
    /// (row, substrings of its error message)
    errors: &'static [(usize, &'static [&'static str])],
}

fn with_path(config: &Value, path: &Path) -> Value {
    let mut config = config.clone();
    config["path"] = json!(path);
    config
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "utf-8 with header",
            bytes: b"a,b\n1,2\n3,4\n".to_vec(),
            config: json!({}),
            columns: &["a", "b"],
            rows: &[(2, &["1", "2"]), (3, &["3", "4"])],
            errors: &[],
        },
        Case {
            name: "utf-8 with BOM and CRLF, no final line end",
            bytes: "\u{FEFF}氏名,番号\r\n山田　太郎,1\r\nｱｲ,2"
                .as_bytes()
                .to_vec(),
            config: json!({"encoding": "utf-8"}),
            columns: &["氏名", "番号"],
            rows: &[(2, &["山田　太郎", "1"]), (3, &["ｱｲ", "2"])],
            errors: &[],
        },
        Case {
            name: "cp932, trail bytes that look like ASCII (ポ = 83 7C, 表 = 95 5C)",
            bytes: cp932("氏名,住所,備考\r\nポポ,東京都表町①,\"髙橋,\"\"様\"\"\"\r\n"),
            config: json!({"encoding": "cp932"}),
            columns: &["氏名", "住所", "備考"],
            rows: &[(2, &["ポポ", "東京都表町①", "髙橋,\"様\""])],
            errors: &[],
        },
        Case {
            name: "no header: columns name the fields",
            bytes: b"1,2\n3,4\n".to_vec(),
            config: json!({"header": false, "columns": ["x", "y"]}),
            columns: &["x", "y"],
            rows: &[(1, &["1", "2"]), (2, &["3", "4"])],
            errors: &[],
        },
        Case {
            name: "no header: positions pick and order fields",
            bytes: b"a,b,c\nd,e,f\n".to_vec(),
            config: json!({"header": false, "columns": ["third", "first"], "positions": [2, 0]}),
            columns: &["third", "first"],
            rows: &[(1, &["c", "a"]), (2, &["f", "d"])],
            errors: &[],
        },
        Case {
            name: "header with a subset of columns, reordered",
            bytes: b"a,b,c\n1,2,3\n".to_vec(),
            config: json!({"columns": ["c", "a"]}),
            columns: &["c", "a"],
            rows: &[(2, &["3", "1"])],
            errors: &[],
        },
        Case {
            name: "skip_rows: a title line with an unbalanced quote is not parsed",
            bytes: "医療費助成 \"受給者一覧\n2025年6月\na,b\n1,2\n"
                .as_bytes()
                .to_vec(),
            config: json!({"skip_rows": 2}),
            columns: &["a", "b"],
            rows: &[(4, &["1", "2"])],
            errors: &[],
        },
        Case {
            name: "delimiter ;",
            bytes: b"a;b\n1,5;2\n".to_vec(),
            config: json!({"delimiter": ";"}),
            columns: &["a", "b"],
            rows: &[(2, &["1,5", "2"])],
            errors: &[],
        },
        Case {
            name: "tab-separated cp932",
            bytes: cp932("番号\t氏名\n1\t山田\n"),
            config: json!({"delimiter": "\t", "encoding": "cp932"}),
            columns: &["番号", "氏名"],
            rows: &[(2, &["1", "山田"])],
            errors: &[],
        },
        Case {
            name: "quote '",
            bytes: b"a,b\n'x,y',2\n".to_vec(),
            config: json!({"quote": "'"}),
            columns: &["a", "b"],
            rows: &[(2, &["x,y", "2"])],
            errors: &[],
        },
        Case {
            name: "quoted newlines move line numbers on; blank lines count",
            bytes: b"a,b\r\n\"x\r\ny\",1\r\n\r\n2,\"p\nq\nr\"\r\n3,4\r\n".to_vec(),
            config: json!({}),
            columns: &["a", "b"],
            rows: &[
                (2, &["x\r\ny", "1"]),
                (5, &["2", "p\nq\nr"]),
                (8, &["3", "4"]),
            ],
            errors: &[],
        },
        Case {
            name: "malformed CP932 byte: row error with line and column (not the header's name: a file without its header line has data there), cell empty",
            bytes: [
                cp932("番号,氏名\r\n1,山田\r\n2,"),
                b"\x8E\x81\x83".to_vec(),
                b"\r\n3,x\r\n".to_vec(),
            ]
            .concat(),
            config: json!({"encoding": "cp932"}),
            columns: &["番号", "氏名"],
            rows: &[(2, &["1", "山田"]), (3, &["2", ""]), (4, &["3", "x"])],
            errors: &[(
                1,
                &["subsidy.csv line 3, column 2: malformed CP932 byte at offset 2"],
            )],
        },
        Case {
            name: "malformed UTF-8 byte",
            bytes: b"a,b\n\xE6\xB0,ok\n".to_vec(),
            config: json!({}),
            columns: &["a", "b"],
            rows: &[(2, &["", "ok"])],
            errors: &[(0, &["line 2, column 1: malformed UTF-8 byte at offset 0"])],
        },
        Case {
            name: "malformed byte in a column the settings name: the declared name is shown",
            bytes: b"a,b\n1,\xE6\xB0\n".to_vec(),
            config: json!({"columns": ["b"]}),
            columns: &["b"],
            rows: &[(2, &[""])],
            errors: &[(
                0,
                &["line 2, column 2 (`b`): malformed UTF-8 byte at offset 0"],
            )],
        },
        Case {
            name: "field count differs from the header: row error, cells kept",
            bytes: b"a,b,c\n1,2\n4,5,6,7\n8,9,0\n".to_vec(),
            config: json!({}),
            columns: &["a", "b", "c"],
            rows: &[
                (2, &["1", "2"]),
                (3, &["4", "5", "6"]),
                (4, &["8", "9", "0"]),
            ],
            errors: &[
                (0, &["subsidy.csv line 2: 2 fields, the header has 3"]),
                (1, &["line 3: 4 fields, the header has 3"]),
            ],
        },
        Case {
            name: "no header, field count against columns",
            bytes: b"1,2\n3\n".to_vec(),
            config: json!({"header": false, "columns": ["x", "y"]}),
            columns: &["x", "y"],
            rows: &[(1, &["1", "2"]), (2, &["3"])],
            errors: &[(1, &["line 2: 1 fields, `columns` names 2"])],
        },
        Case {
            name: "positions: width set by the first row",
            bytes: b"a,b,c\nd\n".to_vec(),
            config: json!({"header": false, "columns": ["c"], "positions": [2]}),
            columns: &["c"],
            rows: &[(1, &["c"]), (2, &[])],
            errors: &[(1, &["line 2: 1 fields, the first row has 3"])],
        },
        Case {
            name: "header only: zero rows",
            bytes: b"a,b\r\n".to_vec(),
            config: json!({}),
            columns: &["a", "b"],
            rows: &[],
            errors: &[],
        },
        Case {
            name: "no header, empty file: zero rows",
            bytes: Vec::new(),
            config: json!({"header": false, "columns": ["x"]}),
            columns: &["x"],
            rows: &[],
            errors: &[],
        },
    ]
}

#[test]
fn cases_read_as_expected_at_every_batch_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("subsidy.csv");
    for case in cases() {
        std::fs::write(&path, &case.bytes).unwrap();
        let config = with_path(&case.config, &path);
        let source = open(&config).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        source.check().unwrap();
        assert_eq!(columns(&source), case.columns, "{}", case.name);
        let expected_rows: Vec<(u64, Vec<String>)> = case
            .rows
            .iter()
            .map(|(l, cells)| (*l, cells.iter().map(|c| c.to_string()).collect()))
            .collect();
        let mut first: Option<Read> = None;
        for max_rows in [1, 2, 1000] {
            let mut source = open(&config).unwrap();
            let read = read_all(&mut source, max_rows).unwrap();
            assert_eq!(
                read.rows, expected_rows,
                "{} (max_rows {max_rows})",
                case.name
            );
            assert_eq!(
                read.errors.len(),
                case.errors.len(),
                "{}: {:?}",
                case.name,
                read.errors
            );
            for ((row, message), (want_row, parts)) in read.errors.iter().zip(case.errors) {
                assert_eq!(row, want_row, "{}: {message}", case.name);
                for part in *parts {
                    assert!(
                        message.contains(part),
                        "{}: {message:?} lacks {part:?}",
                        case.name
                    );
                }
            }
            if let Some(first) = &first {
                assert_eq!((&first.rows, &first.errors), (&read.rows, &read.errors));
            }
            first = Some(read);
        }
    }
}

#[test]
fn row_errors_never_quote_content() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("subsidy.csv");
    let bytes = [
        cp932("番号,氏名\n1,山田"),
        b"\xFF".to_vec(),
        b",extra\n".to_vec(),
    ]
    .concat();
    std::fs::write(&path, bytes).unwrap();
    let mut source = open(&json!({"path": path, "encoding": "cp932"})).unwrap();
    let read = read_all(&mut source, 10).unwrap();
    assert_eq!(read.errors.len(), 2, "{:?}", read.errors);
    for (_, message) in &read.errors {
        assert!(
            !message.contains("山田") && !message.contains("extra"),
            "{message}"
        );
    }
}

#[test]
fn batches_honour_max_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("n.csv");
    let mut text = String::from("n\n");
    (0..5).for_each(|i| text.push_str(&format!("{i}\n")));
    std::fs::write(&path, text).unwrap();
    let mut source = open(&json!({"path": path})).unwrap();
    let read = read_all(&mut source, 2).unwrap();
    assert_eq!(read.batches, [2, 2, 1]);
    let lines: Vec<u64> = read.rows.iter().map(|r| r.0).collect();
    assert_eq!(lines, [2, 3, 4, 5, 6]);
}

fn check_error(config: Value) -> pmhlink_plugin_api::RPluginError {
    match open(&config) {
        Err(e) => e,
        Ok(source) => source.check().into_result().unwrap_err(),
    }
}

#[test]
fn missing_file_is_a_check_error_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nowhere").join("subsidy.csv");
    let source = open(&json!({"path": path})).unwrap();
    let err = source.check().into_result().unwrap_err();
    assert_eq!(err.kind, RErrorKind::Io);
    assert!(err.message.contains(&*path.to_string_lossy()), "{err}");
    // Discover and reads fail the same way.
    assert!(source.discover().into_result().is_err());
    let err = check_error(json!({"path": dir.path()}));
    assert!(err.message.contains("is a folder"), "{err}");
}

#[test]
fn config_errors_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.csv");
    std::fs::write(&path, "a,b\n1,2\n").unwrap();
    let cases = [
        (
            json!({"path": path, "delimeter": ";"}),
            "unknown field `delimeter`",
            None,
        ),
        (
            json!({"path": path, "encoding": "sjis"}),
            "`encoding`",
            Some("encoding"),
        ),
        (
            json!({"path": path, "delimiter": ";;"}),
            "`delimiter`",
            Some("delimiter"),
        ),
        (
            json!({"path": path, "delimiter": "é"}),
            "one ASCII character",
            Some("delimiter"),
        ),
        (
            json!({"path": path, "delimiter": "\n"}),
            "other than CR and LF",
            Some("delimiter"),
        ),
        (
            json!({"path": path, "encoding": "cp932", "delimiter": "|"}),
            "second byte",
            Some("delimiter"),
        ),
        (
            json!({"path": path, "quote": ","}),
            "the same character",
            Some("quote"),
        ),
        (
            json!({"path": path, "header": false}),
            "`columns` is required",
            Some("columns"),
        ),
        (
            json!({"path": path, "positions": [0]}),
            "needs `header = false`",
            Some("positions"),
        ),
        (
            json!({"path": path, "header": false, "columns": ["a"], "positions": [0, 1]}),
            "`positions` has 2 entries",
            Some("positions"),
        ),
        (
            json!({"path": path, "columns": ["a", "a"]}),
            "names `a` twice",
            Some("columns[1]"),
        ),
        (
            json!({"path": path, "columns": []}),
            "`columns` is empty",
            Some("columns"),
        ),
        (json!({"path": ""}), "`path` is empty", Some("path")),
        (json!({"encoding": "cp932"}), "missing field `path`", None),
        // Found only by reading the header.
        (
            json!({"path": path, "columns": ["b", "氏名"]}),
            "the header has no column `氏名`",
            Some("columns[1]"),
        ),
    ];
    for (config, expected, location) in cases {
        let err = check_error(config.clone());
        assert_eq!(err.kind, RErrorKind::Config, "{config}: {err}");
        assert!(err.message.contains(expected), "{config}: {err}");
        if let Some(location) = location {
            assert_eq!(
                err.location.as_ref().map(|l| l.as_str()),
                Some(location).into(),
                "{config}: {err}"
            );
        }
    }
}

#[test]
fn header_problems_are_data_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.csv");
    let cases: [(&[u8], Value, &str); 4] = [
        (b"", json!({}), "has no header line"),
        (
            b"a,\x83\n",
            json!({"encoding": "cp932"}),
            "line 1, column 2: header name has a malformed CP932 byte",
        ),
        (
            b"\xEF\xBB\xBFa\n",
            json!({"encoding": "cp932"}),
            "UTF-8 byte order mark",
        ),
        (
            b"a,b,a\n",
            json!({"columns": ["a"]}),
            "column `a` twice (columns 1 and 3)",
        ),
    ];
    for (bytes, config, expected) in cases {
        std::fs::write(&path, bytes).unwrap();
        let config = with_path(&config, &path);
        let err = check_error(config.clone());
        assert!(err.message.contains(expected), "{config}: {err}");
        let mut source = open(&config).unwrap();
        assert!(source.next_batch(10).into_result().is_err(), "{config}");
    }
}

/// A CR that no LF follows, outside a quoted cell, would let the csv crate cut one line into
/// two rows on the same line number (found by the `csv_source` fuzz target): the read stops
/// with a data error naming the CR's line, wherever the file's reads happen to split it. A CR
/// as the file's last byte ends the last line.
#[test]
fn a_carriage_return_alone_stops_the_read_naming_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cr.csv");
    // The CR as the last byte of the reader's first 64 KiB read.
    let mut boundary = b"a,b\n".to_vec();
    let mut line = 1;
    while boundary.len() < (1 << 16) - 4 {
        boundary.extend_from_slice(b"1,2\n");
        line += 1;
    }
    boundary.truncate((1 << 16) - 4);
    boundary.extend_from_slice(b"1,2\r3,4\n");
    let boundary_message = format!("cr.csv line {}: a carriage return", line + 1);
    let cases: Vec<(Vec<u8>, Option<&str>)> = vec![
        (
            b"a,b\n1,2\r3,4\n".to_vec(),
            Some("cr.csv line 2: a carriage return"),
        ),
        (
            b"a,b\r1,2\n".to_vec(),
            Some("cr.csv line 1: a carriage return"),
        ),
        (
            b"a,b\r\n1,2\r\r\n".to_vec(),
            Some("cr.csv line 2: a carriage return"),
        ),
        (b"a,b\n\"1\r\",2\n".to_vec(), None),
        (b"a,b\r\n1,2\r\n3,4\r".to_vec(), None),
        (boundary, Some(boundary_message.as_str())),
    ];
    for (bytes, expected) in cases {
        std::fs::write(&path, &bytes).unwrap();
        let mut source = open(&with_path(&json!({}), &path)).unwrap();
        match (read_all(&mut source, 1000), expected) {
            (Ok(_), None) => {}
            (Err(err), Some(expected)) => {
                assert_eq!(err.kind, RErrorKind::Data, "{err}");
                assert!(err.message.contains(expected), "{err}");
            }
            (result, expected) => panic!(
                "{:?}: expected {expected:?}, read {:?}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(40)]),
                result.map(|r| r.rows.len())
            ),
        }
    }
}

#[test]
fn spec_and_schema_describe_every_key() {
    let spec = (common::plugin().spec())();
    assert_eq!(spec.name, "csv");
    let schema: Value = serde_json::from_str(&spec.config_schema_json).unwrap();
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["additionalProperties"], false);
    let properties = schema["properties"].as_object().unwrap();
    for (key, property) in properties {
        assert!(
            property["description"]
                .as_str()
                .is_some_and(|d| d.len() > 10),
            "{key}"
        );
    }
    // Every key of the schema is one the plugin accepts.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("all.csv");
    std::fs::write(&path, "title\n1;2\n").unwrap();
    let all = json!({"path": path, "encoding": "utf-8", "delimiter": ";", "quote": "\"",
        "header": false, "columns": ["x"], "positions": [1], "skip_rows": 1});
    let keys: Vec<&String> = all.as_object().unwrap().keys().collect();
    assert_eq!(keys, properties.keys().collect::<Vec<_>>());
    let mut source = open(&all).unwrap();
    assert_eq!(
        read_all(&mut source, 10).unwrap().rows,
        [(2, vec!["2".to_owned()])]
    );
}

#[test]
fn the_settings_page_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/plugins/csv.md");
    if let Err(stale) = pmhlink_pdk::docs::spec_page_is_current(&pmhlink_source_csv::spec(), &path)
    {
        panic!("{stale}");
    }
}
