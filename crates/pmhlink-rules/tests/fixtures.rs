//! Data-driven tests: each fixture file under `tests/fixtures/` is read whole and every case in
//! it checked, so that adding an example from the spec is a data change only.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;

use pmhlink_rules::Code;
use pmhlink_rules::check_digit::{self, CheckError};
use pmhlink_rules::clean;
use pmhlink_rules::codes::prefecture_name;
use pmhlink_rules::era::{DateMode, EraTable, parse_date};
use serde::Deserialize;

fn load<T: for<'de> Deserialize<'de>>(name: &str) -> T {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckDigits {
    case: Vec<CheckCase>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckCase {
    kind: String,
    value: String,
    expect: String,
    prefecture: Option<bool>,
    #[allow(dead_code)]
    note: Option<String>,
}

fn outcome(r: Result<(), CheckError>) -> &'static str {
    match r {
        Ok(()) => "ok",
        Err(CheckError::CheckDigit) => "check_digit",
        Err(CheckError::AllZero) => "all_zero",
        Err(CheckError::Length { .. }) => "length",
        Err(CheckError::NotDigits) => "not_digits",
    }
}

#[test]
fn check_digit_fixtures() {
    let file: CheckDigits = load("check_digits.toml");
    assert!(file.case.len() >= 30, "the fixture lost cases");
    for c in &file.case {
        let got = match c.kind.as_str() {
            "my_number" => check_digit::check_my_number(&c.value),
            "insurer" => check_digit::check_insurer_number(&c.value),
            "recipient" => check_digit::check_recipient_number(&c.value),
            other => panic!("unknown kind {other}"),
        };
        assert_eq!(outcome(got), c.expect, "{} {}", c.kind, c.value);
        if c.kind == "insurer" && c.value.len() == 8 {
            let known = prefecture_name(&c.value[2..4]).is_some();
            assert_eq!(
                known,
                c.prefecture.unwrap_or(true),
                "prefecture of {}",
                c.value
            );
        }
        // A valid number is one its own body regenerates.
        if c.expect == "ok" && c.value != "000000000000" {
            let (body, _) = c.value.split_at(c.value.len() - 1);
            let regenerated = match c.kind.as_str() {
                "my_number" => check_digit::with_my_number_check_digit(body),
                _ => check_digit::with_luhn_check_digit(body),
            };
            assert_eq!(regenerated, c.value);
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EraDates {
    tables: BTreeMap<String, EraTable>,
    case: Vec<EraCase>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EraCase {
    input: String,
    mode: Option<String>,
    expect: Option<String>,
    error: Option<String>,
    #[serde(default)]
    overflow: bool,
    table: Option<String>,
    #[allow(dead_code)]
    note: Option<String>,
}

#[test]
fn era_date_fixtures() {
    let file: EraDates = load("era_dates.toml");
    assert!(file.case.len() >= 60, "the fixture lost cases");
    let default = EraTable::default();
    for c in &file.case {
        let table = c.table.as_ref().map_or(&default, |t| &file.tables[t]);
        let modes: &[DateMode] = match c.mode.as_deref() {
            None | Some("both") => &[DateMode::Strict, DateMode::Lenient],
            Some("strict") => &[DateMode::Strict],
            Some("lenient") => &[DateMode::Lenient],
            Some(other) => panic!("unknown mode {other}"),
        };
        for &mode in modes {
            let got = parse_date(&c.input, table, mode);
            let what = format!("{:?} in {mode:?}", c.input);
            match (&c.expect, &c.error) {
                (Some(iso), None) => {
                    let p = got.unwrap_or_else(|e| panic!("{what}: {e:?}"));
                    assert_eq!(&p.date.to_string(), iso, "{what}");
                    assert_eq!(p.era_overflow, c.overflow, "{what}");
                }
                (None, Some(code)) => {
                    let e = got.expect_err(&what);
                    assert_eq!(e.code().as_str(), code, "{what}: {e:?}");
                }
                _ => panic!("{what}: give exactly one of expect and error"),
            }
        }
    }
}

#[test]
fn era_table_files_are_checked() {
    let bad = [
        "letters = { \"1\" = \"reiwa\" }",
        "digits = { R = \"reiwa\" }",
        "letters = { r = \"reiwa\", R = \"heisei\" }",
        "digits = { \"9\" = \"kamakura\" }",
        "eras = {}",
    ];
    for text in bad {
        assert!(toml::from_str::<EraTable>(text).is_err(), "{text}");
    }
    assert_eq!(toml::from_str::<EraTable>("").unwrap(), EraTable::default());
    let json: EraTable = serde_json::from_str(r#"{"digits": {"9": "reiwa"}}"#).unwrap();
    let got = parse_date("9070401", &json, DateMode::Strict).map(|p| p.date.to_string());
    assert_eq!(got.as_deref(), Ok("2025-04-01"));
    assert_eq!(
        parse_date("R7.4.1", &json, DateMode::Strict).map(|p| p.era_overflow),
        Ok(false)
    );
    assert_eq!(
        parse_date("?", &json, DateMode::Strict).map_err(|e| e.code()),
        Err(Code::NotIsoDate)
    );
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KanaCase {
    input: String,
    expect: String,
    #[allow(dead_code)]
    note: Option<String>,
}

#[test]
fn kana_fixtures() {
    let file: BTreeMap<String, Vec<KanaCase>> = load("kana.toml");
    let cow = |f: fn(&str) -> Cow<'_, str>| move |s: &str| f(s).into_owned();
    type Clean = Box<dyn Fn(&str) -> String>;
    let functions: BTreeMap<&str, Clean> = BTreeMap::from([
        ("widen", Box::new(cow(clean::widen_halfwidth_kana)) as Clean),
        ("separator", Box::new(clean::normalise_kana_separator)),
        ("small_kana", Box::new(clean::fold_small_kana)),
        (
            "house_dashes",
            Box::new(cow(clean::fold_house_number_dashes)),
        ),
        ("identifier", Box::new(cow(clean::clean_identifier))),
        ("fold_digits", Box::new(cow(clean::fold_fullwidth_digits))),
    ]);
    assert_eq!(
        file.keys().map(String::as_str).collect::<Vec<_>>(),
        functions.keys().copied().collect::<Vec<_>>()
    );
    for (section, cases) in &file {
        let f = &functions[section.as_str()];
        for c in cases {
            assert_eq!(f(&c.input), c.expect, "{section}: {:?}", c.input);
        }
    }
}
