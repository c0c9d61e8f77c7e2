//! Every case of fixtures/lint/cases.toml, written as one JSON and one CSV payload, through the
//! real binary: each record must get exactly the findings its case expects.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use pmhlink_model::{DetailItem, FieldId, FieldKind, Pii, Record};
use pmhlink_profile::write::write_batches;
use pmhlink_profile::{ApiId, Layout, Profile};
use serde::Deserialize;

#[derive(Deserialize)]
struct Cases {
    base: BTreeMap<FieldId, String>,
    case: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    #[serde(default)]
    set: BTreeMap<FieldId, String>,
    #[serde(default)]
    unset: Vec<FieldId>,
    items: Option<usize>,
    #[serde(default)]
    json_only: bool,
    expect: Vec<String>,
}

const CASES: &str = include_str!("fixtures/lint/cases.toml");

fn set(r: &mut Record, f: FieldId, v: &str) {
    match f.kind() {
        FieldKind::Flag => r.set_flag(f, v.parse().expect("a flag is true or false")),
        _ => r.set_text(f, v.to_owned()),
    }
}

fn build(cases: &Cases, n: usize, case: &Case) -> Record {
    let mut r = Record::default();
    for (f, v) in &cases.base {
        set(&mut r, *f, v);
    }
    set(&mut r, FieldId::HistoryKey, &format!("H{n}"));
    for (f, v) in &case.set {
        set(&mut r, *f, v);
    }
    for f in &case.unset {
        match f {
            FieldId::InsurerNumber => r.receipt.insurer_number = None,
            FieldId::RecipientNumber => r.receipt.recipient_number = None,
            other => panic!(
                "case `{}`: unset supports optional fields, not {other}",
                case.name
            ),
        }
    }
    let items = case.items.unwrap_or(1);
    r.face.details = (0..items)
        .map(|i| DetailItem {
            name: format!("項目{i}"),
            value: Pii::new("試験".into()),
        })
        .collect();
    r
}

#[derive(Deserialize)]
struct JsonFinding {
    record: u64,
    field: Option<String>,
    code: String,
    severity: String,
    message: String,
}

fn check(api: ApiId, cases: &Cases) {
    let picked: Vec<(usize, &Case)> = cases
        .case
        .iter()
        .enumerate()
        .filter(|(_, c)| api == ApiId::E06 || !c.json_only)
        .collect();
    let records: Vec<Record> = picked.iter().map(|(n, c)| build(cases, *n, c)).collect();
    let layout = Layout::new(&Profile::builtin(), api).unwrap();
    let batches = write_batches(&layout, &records).unwrap();
    assert_eq!(batches.len(), 1);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("cases.{api}"));
    std::fs::write(&file, &batches[0].bytes).unwrap();

    let run = common::lint(api.as_str(), &file, &["--json"]);
    assert_eq!(
        run.status, 1,
        "some cases have errors; stderr: {}",
        run.stderr
    );
    let findings: Vec<JsonFinding> = serde_json::from_str(&run.stdout).unwrap();
    let mut got: BTreeMap<u64, BTreeSet<String>> = BTreeMap::new();
    for f in &findings {
        assert!(["error", "warning"].contains(&f.severity.as_str()));
        assert!(!f.message.is_empty());
        got.entry(f.record).or_default().insert(format!(
            "{}@{}",
            f.code,
            f.field.as_deref().unwrap_or("")
        ));
    }
    let mut failures = Vec::new();
    for (i, (_, case)) in picked.iter().enumerate() {
        let want: BTreeSet<String> = case.expect.iter().cloned().collect();
        let have = got.remove(&(i as u64)).unwrap_or_default();
        if want != have {
            failures.push(format!(
                "{api} `{}`: expected {want:?}, got {have:?}",
                case.name
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn json_payload_cases() {
    check(ApiId::E06, &toml::from_str(CASES).unwrap());
}

#[test]
fn csv_payload_cases() {
    check(ApiId::E05, &toml::from_str(CASES).unwrap());
}

/// Codes raised only while reading, joining and cleaning source data (never about a payload);
/// they are tested in the rules crate and by the runner's tests.
const NOT_ABOUT_PAYLOADS: [&str; 8] = [
    "date-before-era",
    "era-overflow",
    "join-missing",
    "join-ambiguous",
    "code-not-mapped",
    "unknown-program",
    "source-row-unreadable",
    "join-row-unreadable",
];

#[test]
fn every_payload_rule_has_a_case() {
    let structural = include_str!("lint_files.rs");
    for code in pmhlink_rules::Code::ALL {
        let c = code.as_str();
        if NOT_ABOUT_PAYLOADS.contains(&c) {
            continue;
        }
        let in_cases = CASES.contains(&format!("\"{c}@"));
        let in_structural = structural.contains(&format!("\"{c}\""));
        assert!(in_cases || in_structural, "no lint test expects `{c}`");
    }
}
