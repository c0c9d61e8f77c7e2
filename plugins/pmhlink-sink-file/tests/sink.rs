//! The `file` sink driven across the ABI against real folders.

mod common;

use std::{fs, path::Path};

use common::open;
use pmhlink_plugin_api::{
    RErrorKind, ROutcomeState, RPayload, RPluginError, RReceipt, RRunEnd, SinkBox,
    abi_stable::std_types::RStr,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn payload(run: &str, name: &str, seq: u32, bytes: &[u8]) -> RPayload {
    RPayload {
        run_id: run.into(),
        municipality: "139998".into(),
        api: "E06".into(),
        format: "json".into(),
        seq,
        records: u64::from(seq) * 10,
        file_name: name.into(),
        bytes: bytes.to_vec().into(),
    }
}

fn end(run: &str, commit: bool, manifest: &Value) -> RRunEnd {
    RRunEnd {
        run_id: run.into(),
        commit,
        manifest_json: manifest.to_string().into(),
    }
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn sink(dir: &Path, overwrite: bool) -> SinkBox {
    open(&json!({"dir": dir, "overwrite": overwrite})).unwrap()
}

fn deliver(sink: &mut SinkBox, p: RPayload) -> Result<RReceipt, RPluginError> {
    sink.deliver(p).into_result()
}

const FILES: [(&str, &[u8]); 3] = [
    ("E06_0001.json", b"[{\"n\": 1}]"),
    ("E06_0002.json", b"[{\"n\": 2}, {\"n\": 3}]"),
    ("E05_0001.csv", b"a,b\r\n1,2\r\n"),
];

#[test]
fn three_files_and_a_manifest_on_commit() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("outbox");
    let mut sink = sink(&dir, false);
    let health = sink.check().unwrap();
    assert!(health.contains("writable"), "{health}");
    assert!(dir.is_dir(), "check creates the folder");

    let mut receipts = Vec::new();
    for (i, (name, bytes)) in FILES.iter().enumerate() {
        let receipt = deliver(&mut sink, payload("r1", name, i as u32 + 1, bytes)).unwrap();
        assert_eq!(
            (receipt.id.as_str(), receipt.detail.as_str()),
            (format!("r1/{name}").as_str(), hex(bytes).as_str())
        );
        // Nothing is final before the commit: a resumed run must send it again.
        assert_eq!(listing(&dir), [".r1.partial"]);
        let state = sink.poll(receipt.clone()).unwrap();
        assert_eq!(
            (state.state, state.result_bytes.len()),
            (ROutcomeState::Failed, 0)
        );
        receipts.push(receipt);
    }
    let host = json!({"run_id": "r1", "municipality": "139998", "records": 60});
    let summary = sink.finish(end("r1", true, &host)).unwrap();
    assert!(summary.contains("3 files"), "{summary}");
    // Final files await their results, which come back by hand.
    for receipt in receipts {
        assert_eq!(sink.poll(receipt).unwrap().state, ROutcomeState::Pending);
    }

    assert_eq!(listing(&dir), ["r1"]);
    let run = dir.join("r1");
    let mut expected: Vec<String> = FILES.iter().map(|(n, _)| n.to_string()).collect();
    expected.push("manifest.json".into());
    expected.sort();
    assert_eq!(listing(&run), expected);
    let manifest: Value =
        serde_json::from_slice(&fs::read(run.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["run_id"], "r1");
    assert_eq!(manifest["records"], 60);
    let files = manifest["files"].as_array().unwrap();
    assert_eq!(files.len(), 3);
    for (i, ((name, bytes), entry)) in FILES.iter().zip(files).enumerate() {
        let on_disk = fs::read(run.join(name)).unwrap();
        assert_eq!(&on_disk, bytes);
        assert_eq!(
            entry,
            &json!({"name": name, "sha256": hex(&on_disk), "bytes": bytes.len(),
                    "records": (i + 1) * 10, "seq": i + 1})
        );
    }
}

#[test]
fn abort_leaves_nothing() {
    let root = tempfile::tempdir().unwrap();
    let mut sink = sink(root.path(), false);
    for (i, (name, bytes)) in FILES.iter().enumerate() {
        deliver(&mut sink, payload("r1", name, i as u32 + 1, bytes)).unwrap();
    }
    let summary = sink.finish(end("r1", false, &json!({}))).unwrap();
    assert!(summary.contains("aborted"), "{summary}");
    assert!(
        listing(root.path()).is_empty(),
        "{:?}",
        listing(root.path())
    );
    // An abort with nothing delivered is fine too.
    sink.finish(end("r2", false, &json!({}))).unwrap();
    assert!(listing(root.path()).is_empty());
}

#[test]
fn overwrite_false_refuses_and_true_replaces() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path();
    let mut first = sink(dir, false);
    deliver(&mut first, payload("r1", "old.json", 1, b"old")).unwrap();
    first.finish(end("r1", true, &json!({}))).unwrap();

    let mut again = sink(dir, false);
    let err = deliver(&mut again, payload("r1", "new.json", 1, b"new")).unwrap_err();
    let text = format!(
        "run r1 is already in {} (set overwrite = true to replace it)",
        dir.display()
    );
    assert!(err.message.contains(&text), "{err}");
    let err = again
        .finish(end("r1", true, &json!({})))
        .into_result()
        .unwrap_err();
    assert!(err.message.contains(&text), "{err}");
    assert_eq!(listing(&dir.join("r1")), ["manifest.json", "old.json"]);

    let mut replace = sink(dir, true);
    deliver(&mut replace, payload("r1", "new.json", 1, b"new")).unwrap();
    let summary = replace.finish(end("r1", true, &json!({}))).unwrap();
    assert!(summary.contains("replaced"), "{summary}");
    assert_eq!(listing(dir), ["r1"]);
    assert_eq!(listing(&dir.join("r1")), ["manifest.json", "new.json"]);
}

#[test]
fn a_run_dir_appearing_before_commit_is_refused_and_abort_cleans_up() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path();
    let mut sink = sink(dir, false);
    deliver(&mut sink, payload("r1", "a.json", 1, b"a")).unwrap();
    // Another process committed the same run meanwhile.
    fs::create_dir(dir.join("r1")).unwrap();
    let err = sink
        .finish(end("r1", true, &json!({})))
        .into_result()
        .unwrap_err();
    assert!(err.message.contains("already in"), "{err}");
    assert!(
        listing(&dir.join("r1")).is_empty(),
        "the other copy is untouched"
    );
    sink.finish(end("r1", false, &json!({}))).unwrap();
    assert_eq!(listing(dir), ["r1"]);
}

#[test]
fn delivery_mistakes_are_errors() {
    let root = tempfile::tempdir().unwrap();
    let mut sink = sink(root.path(), false);
    deliver(&mut sink, payload("r1", "a.json", 1, b"a")).unwrap();
    let err = deliver(&mut sink, payload("r1", "a.json", 2, b"b")).unwrap_err();
    assert!(
        err.message
            .contains("a.json was already delivered in run r1"),
        "{err}"
    );
    let err = deliver(&mut sink, payload("r2", "b.json", 1, b"b")).unwrap_err();
    assert!(err.message.contains("run r1 is still open"), "{err}");
    for bad in ["../escape.json", "a/b.json", ".hidden", "manifest.json", ""] {
        let err = deliver(&mut sink, payload("r1", bad, 3, b"x")).unwrap_err();
        assert_eq!(err.kind, RErrorKind::Data, "{bad:?}: {err}");
    }
    let err = deliver(&mut sink, payload("../r", "c.json", 1, b"x")).unwrap_err();
    assert!(err.message.contains("run id"), "{err}");
    let err = sink
        .finish(end("r9", true, &json!({})))
        .into_result()
        .unwrap_err();
    assert!(err.message.contains("run r1 is the one open"), "{err}");
    assert!(!root.path().parent().unwrap().join("escape.json").exists());
    // The first file is still there and commits alone.
    sink.finish(end("r1", true, &json!({}))).unwrap();
    assert_eq!(
        listing(&root.path().join("r1")),
        ["a.json", "manifest.json"]
    );
}

#[test]
fn a_bad_host_manifest_commits_nothing() {
    let root = tempfile::tempdir().unwrap();
    let mut sink = sink(root.path(), false);
    deliver(&mut sink, payload("r1", "a.json", 1, b"a")).unwrap();
    for bad in ["[1, 2]", "{\"run\": "] {
        let end = RRunEnd {
            run_id: "r1".into(),
            commit: true,
            manifest_json: bad.into(),
        };
        let err = sink.finish(end).into_result().unwrap_err();
        assert_eq!(err.kind, RErrorKind::Data, "{err}");
        assert_eq!(listing(root.path()), [".r1.partial"]);
    }
    // The host's own `files` is replaced by what was written.
    sink.finish(end("r1", true, &json!({"files": ["x"]})))
        .unwrap();
    let manifest: Value =
        serde_json::from_slice(&fs::read(root.path().join("r1/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["files"][0]["name"], "a.json");
}

#[test]
fn an_empty_run_still_gets_a_manifest() {
    let root = tempfile::tempdir().unwrap();
    let mut sink = sink(root.path(), false);
    sink.finish(end("r1", true, &json!({"note": "no changes"})))
        .unwrap();
    let manifest: Value =
        serde_json::from_slice(&fs::read(root.path().join("r1/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest, json!({"note": "no changes", "files": []}));
}

#[test]
fn a_partial_left_by_a_dead_process_is_replaced() {
    let root = tempfile::tempdir().unwrap();
    let stale = root.path().join(".r1.partial");
    fs::create_dir(&stale).unwrap();
    fs::write(stale.join("half.json"), b"[{").unwrap();
    let mut sink = sink(root.path(), false);
    deliver(&mut sink, payload("r1", "a.json", 1, b"a")).unwrap();
    sink.finish(end("r1", true, &json!({}))).unwrap();
    assert_eq!(listing(root.path()), ["r1"]);
    assert_eq!(
        listing(&root.path().join("r1")),
        ["a.json", "manifest.json"]
    );
}

#[test]
fn import_returns_the_bytes() {
    let root = tempfile::tempdir().unwrap();
    let result = root.path().join("result.csv");
    fs::write(&result, b"id,status\r\n1,OK\r\n").unwrap();
    let mut sink = sink(&root.path().join("out"), false);
    let bytes = sink
        .import(RStr::from_str(result.to_str().unwrap()))
        .unwrap();
    assert_eq!(bytes.as_slice(), b"id,status\r\n1,OK\r\n");
    let missing = root.path().join("missing.csv");
    let err = sink
        .import(RStr::from_str(missing.to_str().unwrap()))
        .into_result()
        .unwrap_err();
    assert_eq!(err.kind, RErrorKind::Io);
    assert!(err.message.contains(missing.to_str().unwrap()), "{err}");
}

#[test]
fn check_and_config_errors() {
    let root = tempfile::tempdir().unwrap();
    let file = root.path().join("a-file");
    fs::write(&file, b"").unwrap();
    let err = sink(&file, false).check().into_result().unwrap_err();
    assert_eq!(err.kind, RErrorKind::Io);
    assert!(err.message.contains(file.to_str().unwrap()), "{err}");
    let err = sink(&file.join("below"), false)
        .check()
        .into_result()
        .unwrap_err();
    assert!(err.message.contains("cannot create"), "{err}");

    let err = open(&json!({"dir": root.path(), "overwrite": true, "mode": 1}))
        .err()
        .unwrap();
    assert_eq!(err.kind, RErrorKind::Config);
    assert!(err.message.contains("unknown field `mode`"), "{err}");
    let err = open(&json!({"dir": ""})).err().unwrap();
    assert!(err.message.contains("`dir` is empty"), "{err}");
    let err = open(&json!({})).err().unwrap();
    assert!(err.message.contains("missing field `dir`"), "{err}");
}

#[test]
fn spec_and_schema_describe_every_key() {
    let spec = (common::plugin().spec())();
    assert_eq!(spec.name, "file");
    let schema: Value = serde_json::from_str(&spec.config_schema_json).unwrap();
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(schema["required"], json!(["dir"]));
    let properties = schema["properties"].as_object().unwrap();
    assert_eq!(
        properties.keys().collect::<Vec<_>>(),
        [
            "csv_bom",
            "csv_line_ending",
            "dir",
            "file_name",
            "overwrite"
        ]
    );
    for (key, property) in properties {
        assert!(
            property["description"]
                .as_str()
                .is_some_and(|d| d.len() > 10),
            "{key}"
        );
    }
    // The documented defaults write the files as pmhlink makes them.
    assert_eq!(properties["file_name"]["default"], "{suggested}");
    assert_eq!(properties["csv_bom"]["default"], false);
    assert_eq!(properties["csv_line_ending"]["default"], "profile");
    // A sink is not a source.
    let err = (common::plugin().open_source())(RStr::from_str("{}"))
        .into_result()
        .err()
        .unwrap();
    assert_eq!(err.kind, RErrorKind::Unsupported);
}

#[test]
fn the_settings_page_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/plugins/file.md");
    if let Err(stale) = pmhlink_pdk::docs::spec_page_is_current(&pmhlink_sink_file::spec(), &path) {
        panic!("{stale}");
    }
}

/// A payload of `format` as the host hands it over: run id, municipality and API as the runner
/// makes them, the host's suggested name.
fn host_payload(format: &str, seq: u32, bytes: &[u8]) -> RPayload {
    RPayload {
        run_id: "139998-20250601-sakurano".into(),
        municipality: "139998".into(),
        api: "E05".into(),
        format: format.into(),
        seq,
        records: 2,
        file_name: format!("E05-{:04}.{format}", seq - 1).into(),
        bytes: bytes.to_vec().into(),
    }
}

/// Delivers two payloads with `config` (plus `dir`), commits, and returns the run folder's
/// files (the manifest left out) with their bytes.
fn written(config: Value, format: &str, bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let root = tempfile::tempdir().unwrap();
    let mut config = config;
    config["dir"] = json!(root.path());
    let mut sink = open(&config).unwrap();
    for seq in [1, 2] {
        deliver(&mut sink, host_payload(format, seq, bytes)).unwrap();
    }
    let run = "139998-20250601-sakurano";
    sink.finish(end(run, true, &json!({}))).unwrap();
    let folder = root.path().join(run);
    listing(&folder)
        .into_iter()
        .filter(|name| name != "manifest.json")
        .map(|name| {
            let bytes = fs::read(folder.join(&name)).unwrap();
            (name, bytes)
        })
        .collect()
}

#[test]
fn file_names_follow_the_pattern_and_default_to_pmhlink_s_names() {
    let cases = [
        (json!({}), ["E05-0000.csv", "E05-0001.csv"]),
        (
            json!({"file_name": "{municipality}_{api}_{date}_{seq}.{ext}"}),
            [
                "139998_E05_20250601_0001.csv",
                "139998_E05_20250601_0002.csv",
            ],
        ),
        (
            json!({"file_name": "{run_id}-{suggested}"}),
            [
                "139998-20250601-sakurano-E05-0000.csv",
                "139998-20250601-sakurano-E05-0001.csv",
            ],
        ),
    ];
    for (config, expected) in cases {
        let names: Vec<String> = written(config.clone(), "csv", b"a\r\n")
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        assert_eq!(names, expected, "{config}");
    }
}

#[test]
fn csv_files_get_the_configured_bom_and_line_ends_json_files_stay_as_sent() {
    let csv: &[u8] = b"id,name\r\n1,\"two\r\nlines\"\r\n";
    let json: &[u8] = b"[{\"n\": 1}]\n";
    let cases: [(Value, &str, &[u8], &[u8]); 6] = [
        (json!({}), "csv", csv, csv),
        (
            json!({"csv_bom": true}),
            "csv",
            csv,
            b"\xEF\xBB\xBFid,name\r\n1,\"two\r\nlines\"\r\n",
        ),
        (
            json!({"csv_line_ending": "lf"}),
            "csv",
            csv,
            b"id,name\n1,\"two\r\nlines\"\n",
        ),
        (json!({"csv_line_ending": "crlf"}), "csv", csv, csv),
        (
            json!({"csv_bom": true, "csv_line_ending": "lf"}),
            "csv",
            b"a\r\n",
            b"\xEF\xBB\xBFa\n",
        ),
        (
            json!({"csv_bom": true, "csv_line_ending": "lf"}),
            "json",
            json,
            json,
        ),
    ];
    for (config, format, sent, expected) in cases {
        for (name, bytes) in written(config.clone(), format, sent) {
            assert_eq!(bytes, expected, "{config} {name}");
        }
    }
}

#[test]
fn bad_file_name_patterns_are_refused_at_open_naming_the_key() {
    let root = tempfile::tempdir().unwrap();
    let cases = [
        (
            "{api}-{sequence}.{ext}",
            "the placeholder at character 7 is unknown",
        ),
        (
            "{api}_{date}.{ext}",
            "the files of one run would all get the same name",
        ),
        (
            "out.csv",
            "the files of one run would all get the same name",
        ),
        ("{api}/{seq}.{ext}", "must make one plain file name"),
        ("..\\{seq}", "must make one plain file name"),
        (".{seq}", "must make one plain file name"),
        ("{seq", "is not closed"),
    ];
    for (pattern, expected) in cases {
        let err = open(&json!({"dir": root.path(), "file_name": pattern}))
            .err()
            .unwrap_or_else(|| panic!("{pattern} was accepted"));
        assert_eq!(err.kind, RErrorKind::Config, "{pattern}: {err}");
        assert_eq!(
            err.location.as_deref().into_option(),
            Some("file_name"),
            "{pattern}"
        );
        assert!(err.message.starts_with("`file_name`: "), "{err}");
        assert!(err.message.contains(expected), "{pattern}: {err}");
        assert!(!err.message.contains(pattern), "{pattern}: {err}");
    }
    let err = open(&json!({"dir": root.path(), "csv_line_ending": "cr"}))
        .err()
        .unwrap();
    assert_eq!(
        err.location.as_deref().into_option(),
        Some("csv_line_ending"),
        "{err}"
    );
}

#[test]
fn a_date_pattern_for_a_run_id_without_a_date_is_a_delivery_error() {
    let root = tempfile::tempdir().unwrap();
    let mut sink = open(&json!({"dir": root.path(), "file_name": "{date}-{seq}.{ext}"})).unwrap();
    let err = deliver(&mut sink, payload("r1", "E06-0000.json", 1, b"[]")).unwrap_err();
    assert_eq!(err.kind, RErrorKind::Data, "{err}");
    assert!(err.message.contains("no business date"), "{err}");
    assert!(
        listing(root.path()).is_empty(),
        "{:?}",
        listing(root.path())
    );
}
