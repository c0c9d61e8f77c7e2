//! The `fixed-width` source read across the ABI: a real layout from the synthetic
//! municipality, and hand-made records for every row error.

mod common;

use std::{fs::File, io::BufWriter, path::Path};

use common::{columns, open, read_all};
use pmhlink_plugin_api::RErrorKind;
use pmhlink_rules::text::encode_cp932;
use pmhlink_synth::{FixedLayout, ResidentsFixed, Synth, SynthConfig};
use serde_json::{Value, json};

fn cp932(s: &str) -> Vec<u8> {
    encode_cp932(s).unwrap()
}

/// `residents.dat` of a synthetic municipality, and the synth that made it.
fn residents(dir: &Path, certificates: u64) -> (std::path::PathBuf, Synth) {
    let synth = Synth::new(SynthConfig {
        certificates,
        ..SynthConfig::default()
    });
    let path = dir.join("residents.dat");
    let out = BufWriter::new(File::create(&path).unwrap());
    let mut writer = ResidentsFixed::new(out, synth.municipality(), synth.config().as_of).unwrap();
    synth.stream(&mut [&mut writer]).unwrap();
    (path, synth)
}

/// The pipeline-file config for one record kind of the published layout.
fn layout_config(path: &Path, record_type: &str) -> Value {
    let layout = FixedLayout::residents();
    let fields: Vec<Value> = layout
        .record(record_type)
        .fields
        .iter()
        .filter(|f| f.name != "filler")
        .map(|f| json!({"name": f.name, "offset": f.offset, "length": f.length}))
        .collect();
    json!({
        "path": path,
        "encoding": layout.encoding,
        "line_ending": layout.line_end,
        "record_length": layout.record_length,
        "record_type": {"offset": 0, "length": 1, "keep": [record_type]},
        "fields": fields,
    })
}

#[test]
fn synthetic_residents_read_back_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let (path, synth) = residents(dir.path(), 400);
    let mut source = open(&layout_config(&path, "D")).unwrap();
    source.check().unwrap();
    let names = columns(&source);
    assert_eq!(
        names[..4],
        ["record_type", "atena_number", "my_number", "name"]
    );
    let read = read_all(&mut source, 100).unwrap();
    assert!(read.errors.is_empty(), "{:?}", read.errors);

    let people: Vec<_> = synth.people().collect();
    assert_eq!(read.rows.len(), people.len());
    let col = |name: &str| names.iter().position(|n| n == name).unwrap();
    for (i, ((line, cells), person)) in read.rows.iter().zip(&people).enumerate() {
        // Line 1 is the header record.
        assert_eq!(*line, i as u64 + 2);
        assert_eq!(cells[col("atena_number")], person.atena_number);
        assert_eq!(cells[col("my_number")], person.my_number);
        // U+3000 padding gone; the separator inside the name stays.
        assert_eq!(cells[col("name")], person.name.kanji());
        assert_eq!(cells[col("address")], person.address.text);
        assert_eq!(cells[col("sex")], person.sex);
    }

    // The trailer alone, by its type: its count is the number of data records.
    let mut trailer = open(&layout_config(&path, "T")).unwrap();
    let read = read_all(&mut trailer, 10).unwrap();
    assert_eq!(read.rows.len(), 1);
    assert_eq!(read.rows[0].1[1], format!("{:010}", people.len()));
    assert_eq!(read.rows[0].0, people.len() as u64 + 2);
}

struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    /// Without `path`.
    config: Value,
    rows: Vec<(u64, Vec<&'static str>)>,
    /// (row, substring of its error)
    errors: Vec<(usize, &'static str)>,
}

/// Fields `a` 0..2, `b` 2..6 of a 6-byte CRLF layout.
fn two_fields() -> Value {
    json!({"fields": [{"name": "a", "offset": 0, "length": 2}, {"name": "b", "offset": 2, "length": 4}]})
}

fn merged(base: Value, extra: Value) -> Value {
    let mut base = base;
    for (k, v) in extra.as_object().unwrap() {
        base[k] = v.clone();
    }
    base
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "U+3000 and space padding trimmed at both ends",
            bytes: [cp932("12\u{3000}山\u{3000}\r\n"), cp932(" 3 田 \r\n")].concat(),
            config: two_fields(),
            rows: vec![(1, vec!["12", "山"]), (2, vec!["3", "田"])],
            errors: vec![],
        },
        Case {
            name: "trim = false keeps the padding",
            bytes: cp932("12山\u{3000}\r\n"),
            config: merged(two_fields(), json!({"trim": false})),
            rows: vec![(1, vec!["12", "山\u{3000}"])],
            errors: vec![],
        },
        Case {
            name: "record type filter skips header and trailer silently",
            bytes: cp932("H20250601\r\nD山田 \r\nD佐藤 \r\nT00000002\r\n"),
            config: json!({
                "record_type": {"offset": 0, "length": 1, "keep": ["D"]},
                "fields": [{"name": "name", "offset": 1, "length": 4}],
            }),
            rows: vec![(2, vec!["山田"]), (3, vec!["佐藤"])],
            errors: vec![],
        },
        Case {
            name: "a line too short for its record type is yielded with an error",
            bytes: cp932("D山田 \r\n\r\nD佐藤 \r\n"),
            config: json!({
                "record_type": {"offset": 0, "length": 1, "keep": ["D"]},
                "fields": [{"name": "name", "offset": 1, "length": 4}],
            }),
            rows: vec![(1, vec!["山田"]), (2, vec![""]), (3, vec!["佐藤"])],
            errors: vec![(
                1,
                "line 2: the record type needs bytes 0..1, the line has 0",
            )],
        },
        Case {
            name: "a field ending on a lead byte is an error, not a guess",
            bytes: cp932("A山田X\r\n"),
            config: json!({"fields": [
                {"name": "code", "offset": 0, "length": 1},
                {"name": "氏名", "offset": 1, "length": 3},
                {"name": "last", "offset": 5, "length": 1},
            ]}),
            rows: vec![(1, vec!["A", "", "X"])],
            errors: vec![(
                0,
                "line 1, field `氏名` (bytes 1..4): ends inside a double-byte character at byte 3",
            )],
        },
        Case {
            name: "a field starting on a trail byte (ポ's trail is `|`)",
            bytes: cp932("AポB\r\n"),
            config: json!({"fields": [{"name": "tail", "offset": 2, "length": 2}]}),
            rows: vec![(1, vec![""])],
            errors: vec![(
                0,
                "field `tail` (bytes 2..4): starts inside a double-byte character at byte 2",
            )],
        },
        Case {
            name: "short line: the first field past its end is named",
            bytes: cp932("1234\r\n123456\r\n"),
            config: two_fields(),
            rows: vec![(1, vec!["12", ""]), (2, vec!["12", "3456"])],
            errors: vec![(
                0,
                "residents.dat line 1: field `b` needs bytes 2..6, the line has 4",
            )],
        },
        Case {
            name: "record_length mismatch",
            bytes: cp932("12345\r\n123456\r\n1234567\r\n"),
            config: merged(two_fields(), json!({"record_length": 6})),
            rows: vec![
                (1, vec!["12", ""]),
                (2, vec!["12", "3456"]),
                (3, vec!["12", "3456"]),
            ],
            errors: vec![
                (0, "line 1: 5 bytes, the layout has 6"),
                (2, "line 3: 7 bytes, the layout has 6"),
            ],
        },
        Case {
            name: "line_ending none: records back to back, a short last one",
            bytes: cp932("12山田ab田中XY"),
            config: merged(
                two_fields(),
                json!({"line_ending": "none", "record_length": 6}),
            ),
            rows: vec![
                (1, vec!["12", "山田"]),
                (2, vec!["ab", "田中"]),
                (3, vec!["XY", ""]),
            ],
            errors: vec![(2, "record 3: 2 bytes, the layout has 6")],
        },
        Case {
            name: "LF file declared CRLF",
            bytes: b"123456\n".to_vec(),
            config: two_fields(),
            rows: vec![(1, vec!["12", "3456"])],
            errors: vec![(0, "line 1: ends with LF, the layout says CRLF")],
        },
        Case {
            name: "line_ending lf",
            bytes: b"123456\nabcdef".to_vec(),
            config: merged(two_fields(), json!({"line_ending": "lf"})),
            rows: vec![(1, vec!["12", "3456"]), (2, vec!["ab", "cdef"])],
            errors: vec![],
        },
        Case {
            name: "malformed CP932 byte: named by its byte in the record",
            bytes: b"12A\xFFBC\r\n".to_vec(),
            config: two_fields(),
            rows: vec![(1, vec!["12", ""])],
            errors: vec![(
                0,
                "line 1, field `b` (bytes 2..6): malformed CP932 byte at byte 3",
            )],
        },
        Case {
            name: "utf-8 layout: boundaries of multi-byte characters",
            bytes: "12山X\r\n".as_bytes().to_vec(),
            config: merged(
                json!({"fields": [{"name": "a", "offset": 0, "length": 2}, {"name": "b", "offset": 2, "length": 2}]}),
                json!({"encoding": "utf-8"}),
            ),
            rows: vec![(1, vec!["12", ""])],
            errors: vec![(0, "ends inside a multi-byte character at byte 3")],
        },
        Case {
            name: "empty file: zero rows",
            bytes: Vec::new(),
            config: two_fields(),
            rows: vec![],
            errors: vec![],
        },
        Case {
            name: "DOS end-of-file mark after the last record is not a record",
            bytes: b"123456\r\n\x1A".to_vec(),
            config: two_fields(),
            rows: vec![(1, vec!["12", "3456"])],
            errors: vec![],
        },
    ]
}

#[test]
fn cases_read_as_expected_at_every_batch_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("residents.dat");
    for case in cases() {
        std::fs::write(&path, &case.bytes).unwrap();
        let mut config = case.config.clone();
        config["path"] = json!(path);
        let source = open(&config).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        source.check().unwrap();
        for max_rows in [1, 2, 1000] {
            let mut source = open(&config).unwrap();
            let read = read_all(&mut source, max_rows).unwrap();
            let rows: Vec<(u64, Vec<&str>)> = read
                .rows
                .iter()
                .map(|(l, c)| (*l, c.iter().map(String::as_str).collect()))
                .collect();
            assert_eq!(rows, case.rows, "{} (max_rows {max_rows})", case.name);
            assert_eq!(
                read.errors.len(),
                case.errors.len(),
                "{}: {:?}",
                case.name,
                read.errors
            );
            for ((row, message), (want_row, part)) in read.errors.iter().zip(&case.errors) {
                assert_eq!(row, want_row, "{}: {message}", case.name);
                assert!(
                    message.contains(part),
                    "{}: {message:?} lacks {part:?}",
                    case.name
                );
            }
        }
    }
}

#[test]
fn row_errors_never_quote_content() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.dat");
    std::fs::write(&path, [cp932("山田"), b"\xFF\x83\r\n".to_vec()].concat()).unwrap();
    let config = json!({"path": path, "fields": [{"name": "n", "offset": 0, "length": 6}]});
    let read = read_all(&mut open(&config).unwrap(), 10).unwrap();
    assert_eq!(read.errors.len(), 1);
    assert!(!read.errors[0].1.contains("山田"), "{:?}", read.errors);
}

fn refusal(config: Value) -> pmhlink_plugin_api::RPluginError {
    match open(&config) {
        Err(e) => e,
        Ok(source) => source.check().into_result().unwrap_err(),
    }
}

#[test]
fn config_errors_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.dat");
    std::fs::write(&path, "123456\r\n").unwrap();
    let f = |name: &str, offset: usize, length: usize| json!({"name": name, "offset": offset, "length": length});
    let cases = [
        (
            json!({"path": path, "fields": [f("a", 0, 1)], "trimm": true}),
            "unknown field `trimm`",
            None,
        ),
        (
            json!({"path": path, "fields": [{"name": "a", "offset": 0, "length": 1, "pad": "x"}]}),
            "unknown field `pad`",
            None,
        ),
        (json!({"path": path}), "missing field `fields`", None),
        (
            json!({"path": path, "fields": []}),
            "`fields` is empty",
            Some("fields"),
        ),
        (
            json!({"path": path, "fields": [f("a", 0, 0)]}),
            "field `a` has length 0",
            Some("fields[0]"),
        ),
        (
            json!({"path": path, "fields": [f("a", 0, 1), f("a", 1, 1)]}),
            "names `a` twice",
            Some("fields[1].name"),
        ),
        (
            json!({"path": path, "line_ending": "none", "fields": [f("a", 0, 1)]}),
            "`record_length` is required",
            Some("record_length"),
        ),
        (
            json!({"path": path, "line_ending": "cr", "fields": [f("a", 0, 1)]}),
            "`line_ending`",
            Some("line_ending"),
        ),
        (
            json!({"path": path, "record_length": 6, "fields": [f("住所", 4, 3)]}),
            "needs bytes 4..7, past record_length 6",
            Some("fields[0]"),
        ),
        (
            json!({"path": path, "fields": [f("a", 0, 1)], "record_type": {"offset": 0, "length": 1, "keep": []}}),
            "`record_type.keep` is empty",
            Some("record_type.keep"),
        ),
        (
            json!({"path": path, "fields": [f("a", 0, 1)], "record_type": {"offset": 0, "length": 1, "keep": ["DD"]}}),
            "does not fit the 1-byte type field",
            Some("record_type.keep[0]"),
        ),
        (
            json!({"path": path, "fields": [f("a", 0, 1)], "record_type": {"offset": 0, "length": 2, "keep": ["😀"]}}),
            "CP932 cannot encode",
            Some("record_type.keep[0]"),
        ),
    ];
    for (config, expected, location) in cases {
        let err = refusal(config.clone());
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
fn missing_file_is_a_check_error_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("residents.dat");
    let config = json!({"path": path, "fields": [{"name": "a", "offset": 0, "length": 1}]});
    let err = refusal(config.clone());
    assert_eq!(err.kind, RErrorKind::Io);
    assert!(err.message.contains(&*path.to_string_lossy()), "{err}");
    let mut source = open(&config).unwrap();
    assert!(source.next_batch(10).into_result().is_err());
}

#[test]
fn spec_and_schema_describe_every_key() {
    let spec = (common::plugin().spec())();
    assert_eq!(spec.name, "fixed-width");
    let schema: Value = serde_json::from_str(&spec.config_schema_json).unwrap();
    assert_eq!(schema["type"], "object");
    let properties = schema["properties"].as_object().unwrap();
    let described = |p: &Value| p["description"].as_str().is_some_and(|d| d.len() > 10);
    for (key, property) in properties {
        assert!(described(property), "{key}");
    }
    // Nested tables are definitions of their own, refusing unknown keys too.
    for (table, at) in [("RecordType", "record_type"), ("Field", "fields[]")] {
        let def = &schema["$defs"][table];
        assert_eq!(def["additionalProperties"], false, "{at}");
        for (key, property) in def["properties"].as_object().unwrap() {
            assert!(described(property), "{at}.{key}");
        }
    }
    assert_eq!(schema["required"], json!(["path", "fields"]));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("all.dat");
    std::fs::write(&path, "Dab Habc").unwrap();
    let all = json!({"path": path, "encoding": "cp932", "line_ending": "none", "record_length": 4,
        "record_type": {"offset": 0, "length": 1, "keep": ["D"]},
        "fields": [{"name": "x", "offset": 1, "length": 3}], "trim": true});
    let keys: Vec<&String> = all.as_object().unwrap().keys().collect();
    assert_eq!(keys, properties.keys().collect::<Vec<_>>());
    let read = read_all(&mut open(&all).unwrap(), 10).unwrap();
    assert_eq!(read.rows, [(1, vec!["ab".to_owned()])]);
}

#[test]
fn the_settings_page_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/plugins/fixed-width.md");
    if let Err(stale) =
        pmhlink_pdk::docs::spec_page_is_current(&pmhlink_source_fixed::spec(), &path)
    {
        panic!("{stale}");
    }
}
