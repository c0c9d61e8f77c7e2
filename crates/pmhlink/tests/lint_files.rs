//! Files lint must survive: wire shapes a writer never produces (wrong JSON types, unknown keys,
//! broken CSV rows, CP932 bytes) and files that cannot be read at all (exit 2, a message naming
//! the file and position, never a panic). Reports are snapshot-tested.

mod common;

use std::path::Path;

use common::{Run, lint};
use serde_json::{Value, json};

fn base() -> Value {
    json!({
        "orgSpecificCertificateTypeId": "PMHTEST01",
        "myNumber": "123456789018",
        "basicFiveInfo": {"name": "試験花子", "nameKana": "シケン　ハナコ", "address": "北海道試験市1-2-3",
                          "dateOfBirth": "2015-06-01", "sex": "2"},
        "isNotDisclosed": false,
        "medicalSubsidyInsurerNumber": "54016027",
        "certificationName": "特定医療費(指定難病)受給者証",
        "medicalSubsidyRecipientNumber": "1234566",
        "isAlwaysReimbursement": "0",
        "validFrom": "2025-04-01",
        "validTo": "2026-03-31",
        "historyKey": "H1",
        "isDeleted": false,
        "certificationDetail": [{"itemName": "受給者証名", "itemValue": "特定医療費(指定難病)受給者証"}]
    })
}

fn with(n: u32, edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
    let mut v = base();
    let obj = v.as_object_mut().unwrap();
    obj.insert("historyKey".into(), format!("H{n}").into());
    edit(obj);
    v
}

fn findings(run: &Run) -> Vec<(u64, String, String)> {
    let parsed: Vec<Value> =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout));
    parsed
        .iter()
        .map(|f| {
            (
                f["record"].as_u64().unwrap(),
                f["field"].as_str().unwrap_or("").to_owned(),
                f["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Lints records written as an E06 file; findings sorted as (record, field, code).
fn lint_json_file(records: &[Value]) -> Vec<(u64, String, String)> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("records.json");
    std::fs::write(&file, serde_json::to_vec_pretty(records).unwrap()).unwrap();
    let run = lint("E06", &file, &["--json"]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    let mut got = findings(&run);
    got.sort();
    got
}

fn expect(list: &[(u64, &str, &str)]) -> Vec<(u64, String, String)> {
    list.iter()
        .map(|(r, f, c)| (*r, f.to_string(), c.to_string()))
        .collect()
}

#[test]
fn json_wire_shapes() {
    let records = vec![
        with(0, |_| {}),
        with(1, |o| {
            drop(o.insert("myNumber".into(), json!(123456789018u64)))
        }),
        with(2, |o| {
            drop(o.insert("isNotDisclosed".into(), json!("false")))
        }),
        with(3, |o| drop(o.insert("surprise".into(), json!(1)))),
        with(4, |o| drop(o.remove("isNotDisclosed"))),
        with(5, |o| drop(o.insert("basicFiveInfo".into(), json!("x")))),
        json!(42),
        with(7, |o| {
            drop(o.insert(
                "certificationDetail".into(),
                json!([{"itemName": "a", "itemValue": 1}]),
            ))
        }),
        with(8, |o| drop(o.insert("validTo".into(), Value::Null))),
    ];
    assert_eq!(
        lint_json_file(&records),
        expect(&[
            (1, "myNumber", "wrong-type"),
            (1, "myNumber", "required-missing"),
            (2, "isNotDisclosed", "wrong-type"),
            (3, "surprise", "unknown-key"),
            (4, "isNotDisclosed", "required-missing"),
            (5, "basicFiveInfo", "wrong-type"),
            (5, "basicFiveInfo.address", "required-missing"),
            (5, "basicFiveInfo.dateOfBirth", "required-missing"),
            (5, "basicFiveInfo.name", "required-missing"),
            (5, "basicFiveInfo.nameKana", "required-missing"),
            (5, "basicFiveInfo.sex", "required-missing"),
            (6, "", "record-not-object"),
            (7, "certificationDetail", "required-missing"),
            (7, "certificationDetail", "wrong-type"),
            (8, "validTo", "required-missing"),
        ])
        .into_iter()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect::<Vec<_>>()
    );
}

/// A key an object gives twice: serde_json would keep the last silently, so only that value
/// would be judged while PMH might read the other. Each repeat is a finding on its path.
#[test]
fn a_key_given_twice_is_a_finding() {
    let clean = serde_json::to_string(&with(0, |_| {})).unwrap();
    let top = clean.replacen('{', "{\"myNumber\":\"12345678901X\",", 1);
    let nested = serde_json::to_string(&with(1, |_| {})).unwrap().replacen(
        "\"basicFiveInfo\":{",
        "\"basicFiveInfo\":{\"sex\":\"9\",",
        1,
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("records.json");
    let other = serde_json::to_string(&with(2, |_| {})).unwrap();
    std::fs::write(&file, format!("[{top},\n{nested},\n{other}]")).unwrap();
    let run = lint("E06", &file, &["--json"]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    let mut got = findings(&run);
    got.sort();
    assert_eq!(
        got,
        expect(&[
            (0, "myNumber", "duplicate-key"),
            (1, "basicFiveInfo.sex", "duplicate-key"),
        ])
    );
    assert!(!run.stdout.contains("12345678901X"), "never a value");
}

fn csv_file(dir: &Path, rows: &[Vec<u8>]) -> std::path::PathBuf {
    let layout = pmhlink_profile::Layout::new(
        &pmhlink_profile::Profile::builtin(),
        pmhlink_profile::ApiId::E05,
    )
    .unwrap();
    let header: Vec<&str> = layout.columns.iter().map(|c| c.header.as_str()).collect();
    let mut bytes = header.join(",").into_bytes();
    bytes.extend_from_slice(b"\r\n");
    for r in rows {
        bytes.extend_from_slice(r);
        bytes.extend_from_slice(b"\r\n");
    }
    let file = dir.join("rows.csv");
    std::fs::write(&file, bytes).unwrap();
    file
}

/// A valid E05 row for history key `H<n>`, as the writer makes it, with cells replaced.
fn csv_row(n: u32, replace: &[(&str, &[u8])]) -> Vec<u8> {
    let layout = pmhlink_profile::Layout::new(
        &pmhlink_profile::Profile::builtin(),
        pmhlink_profile::ApiId::E05,
    )
    .unwrap();
    let json = serde_json::to_vec(&vec![with(n, |_| {})]).unwrap();
    let mut record = None;
    pmhlink_profile::read::read_json_payload(
        &pmhlink_profile::Layout::new(
            &pmhlink_profile::Profile::builtin(),
            pmhlink_profile::ApiId::E06,
        )
        .unwrap(),
        &json[..],
        |_, d| record = d.record,
    )
    .unwrap();
    let record = record.unwrap();
    let cells = pmhlink_profile::write::record_to_csv_cells(&layout, &record).unwrap();
    let mut out: Vec<Vec<u8>> = cells.iter().map(|c| c.as_bytes().to_vec()).collect();
    for (key, bytes) in replace {
        let i = layout
            .columns
            .iter()
            .position(|c| c.header == *key)
            .unwrap();
        out[i] = bytes.to_vec();
    }
    out.join(&b","[..])
}

#[test]
fn csv_wire_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let mut short = csv_row(1, &[]);
    short.truncate(short.iter().rposition(|&b| b == b',').unwrap());
    // 試験 in CP932: the cell is not UTF-8.
    let cp932: &[u8] = &[0x8E, 0x8E, 0x8C, 0xB1];
    let file = csv_file(
        dir.path(),
        &[
            csv_row(0, &[]),
            short,
            csv_row(2, &[("basicFiveInfo.name", cp932)]),
            csv_row(3, &[("isNotDisclosed", b"yes")]),
            csv_row(4, &[("isNotDisclosed", b"")]),
        ],
    );
    let run = lint("E05", &file, &["--json"]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    let mut got = findings(&run);
    got.sort();
    assert_eq!(
        got,
        expect(&[
            (1, "", "csv-field-count"),
            (2, "basicFiveInfo.name", "required-missing"),
            (2, "basicFiveInfo.name", "text-not-utf8"),
            (3, "isNotDisclosed", "not-in-code-list"),
            (4, "isNotDisclosed", "required-missing"),
        ])
    );
    let lines: Vec<u64> = serde_json::from_str::<Vec<Value>>(&run.stdout)
        .unwrap()
        .iter()
        .map(|f| f["line"].as_u64().unwrap())
        .collect();
    assert!(
        lines.contains(&3) && lines.contains(&6),
        "CSV findings carry line numbers: {lines:?}"
    );
}

/// What lint says about a file it cannot read: exit 2 and one line naming the file.
fn unreadable(api: &str, name: &str, bytes: &[u8], extra: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(name);
    std::fs::write(&file, bytes).unwrap();
    let run = lint(api, &file, extra);
    assert_eq!(run.status, 2, "{name}: {}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.is_empty() || run.stdout.starts_with('['),
        "{name}: {}",
        run.stdout
    );
    run.stderr
        .replace(&dir.path().display().to_string(), "<DIR>")
}

#[test]
fn unreadable_files() {
    let valid = serde_json::to_vec(&vec![with(0, |_| {})]).unwrap();
    let truncated = &valid[..valid.len() / 2];
    let layout = pmhlink_profile::Layout::new(
        &pmhlink_profile::Profile::builtin(),
        pmhlink_profile::ApiId::E05,
    )
    .unwrap();
    let headers: Vec<&str> = layout.columns.iter().map(|c| c.header.as_str()).collect();
    let missing = headers
        .iter()
        .filter(|h| **h != "validTo")
        .copied()
        .collect::<Vec<_>>()
        .join(",");
    let mut swapped = headers.clone();
    swapped.swap(0, 1);
    let cp932_header = b"\x8E\xF3\x8B\x8B\x8E\xD2\x94\xD4\x8D\x86,\x8E\x81\x96\xBC\r\n";

    let messages = [
        unreadable("E06", "empty.json", b"", &[]),
        unreadable(
            "E06",
            "cp932.json",
            b"[{\"basicFiveInfo\": {\"name\": \"\x8E\x8E\x8C\xB1\"}}]",
            &[],
        ),
        unreadable("E06", "truncated.json", truncated, &[]),
        unreadable("E06", "object.json", b"{\"records\": []}", &[]),
        unreadable("E06", "trailing.json", b"[] []", &["--json"]),
        unreadable(
            "E06",
            "csv-given-as-json.csv",
            headers.join(",").as_bytes(),
            &[],
        ),
        unreadable("E05", "empty.csv", b"", &[]),
        unreadable(
            "E05",
            "missing-column.csv",
            format!("{missing}\r\n").as_bytes(),
            &[],
        ),
        unreadable(
            "E05",
            "swapped.csv",
            format!("{}\r\n", swapped.join(",")).as_bytes(),
            &[],
        ),
        unreadable("E05", "cp932.csv", cp932_header, &[]),
    ]
    .join("");
    insta::assert_snapshot!(messages);
}

#[test]
fn unusable_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.json");
    let bad_profile = dir.path().join("profile.toml");
    std::fs::write(&bad_profile, "name = 1\n").unwrap();
    let file = dir.path().join("ok.json");
    std::fs::write(&file, b"[]").unwrap();
    let runs = [
        lint("E06", &missing, &[]),
        lint("E06", &file, &["--profile", bad_profile.to_str().unwrap()]),
        lint("E03", &file, &[]),
        lint("E99", &file, &[]),
    ];
    for r in &runs {
        assert_eq!(r.status, 2, "{}", r.stderr);
    }
    assert!(runs[0].stderr.contains("nope.json"), "{}", runs[0].stderr);
    assert!(
        runs[1].stderr.contains("profile.toml"),
        "{}",
        runs[1].stderr
    );
    assert!(runs[2].stderr.contains("result API"), "{}", runs[2].stderr);
    assert!(runs[3].stderr.contains("E99"), "{}", runs[3].stderr);
}

/// `--pipeline` judges a file by the pipeline's own site tables, 団体コード and rule settings:
/// a local programme the pipeline registers is known, so it draws no warning.
#[test]
fn a_pipeline_file_gives_lint_its_site_tables() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("local.json");
    let record = with(0, |o| {
        drop(o.insert("medicalSubsidyInsurerNumber".into(), json!("88139985")))
    });
    std::fs::write(&file, serde_json::to_vec(&[record]).unwrap()).unwrap();
    let codes = |run: &Run| -> Vec<String> {
        assert!(run.status == 0 || run.status == 1, "{}", run.stderr);
        findings(run).into_iter().map(|(_, _, c)| c).collect()
    };
    let alone = codes(&lint("E06", &file, &["--json"]));
    assert!(
        alone.contains(&"insurer-houbetsu-unknown".to_owned()),
        "{alone:?}"
    );
    let pipeline =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/sakurano/pipeline.toml");
    let with_pipeline = lint(
        "E06",
        &file,
        &["--json", "--pipeline", pipeline.to_str().unwrap()],
    );
    let judged = codes(&with_pipeline);
    assert!(
        !judged.contains(&"insurer-houbetsu-unknown".to_owned()),
        "{judged:?}"
    );
    // The separate options and a pipeline file do not mix.
    let both = lint(
        "E06",
        &file,
        &[
            "--pipeline",
            pipeline.to_str().unwrap(),
            "--municipality",
            "139998",
        ],
    );
    assert_eq!(both.status, 2, "{}", both.stderr);
    let broken = dir.path().join("broken.toml");
    std::fs::write(&broken, "[municipality]\ncode = 1\n").unwrap();
    let bad = lint("E06", &file, &["--pipeline", broken.to_str().unwrap()]);
    assert_eq!(bad.status, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("broken.toml"), "{}", bad.stderr);
}

#[test]
fn empty_array_is_clean() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("none.json");
    std::fs::write(&file, b"[]").unwrap();
    let run = lint("E06", &file, &["--json"]);
    assert_eq!((run.status, run.stdout.as_str()), (0, "[]\n"));
}

/// The report staff read: counts by code, the findings one by one, the verdict.
#[test]
fn human_report() {
    let records = vec![
        with(0, |_| {}),
        with(1, |o| {
            drop(o.insert("myNumber".into(), json!("123456789019")))
        }),
        with(2, |o| {
            drop(o.insert("medicalSubsidyRecipientNumber".into(), json!("0000002")))
        }),
        with(3, |o| drop(o.insert("validFrom".into(), json!("R070401")))),
        with(4, |o| {
            drop(o.insert("medicalSubsidyInsurerNumber".into(), json!("81136244")))
        }),
    ];
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.json");
    std::fs::write(&file, serde_json::to_vec(&records).unwrap()).unwrap();
    let run = lint("E06", &file, &[]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    insta::assert_snapshot!(
        run.stdout
            .replace(&dir.path().display().to_string(), "<DIR>")
    );

    let clean = dir.path().join("clean.json");
    std::fs::write(&clean, serde_json::to_vec(&vec![with(0, |_| {})]).unwrap()).unwrap();
    let run = lint("E06", &clean, &[]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("判定: 送信できます。"),
        "{}",
        run.stdout
    );
}
