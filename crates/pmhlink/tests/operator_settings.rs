//! Settings an operator writes for their municipality, through the real binary over a generated
//! town: programmes the municipality does not send (`program.ignore`), open-ended validity
//! (`rules.open_end`), and the quarantine list's key column (`report.quarantine_key`).

mod common;

use common::run;
use common::town::{Pmh, Town, import, payloads};
use serde_json::Value;

/// Columns of the generated `subsidy.csv` these tests change.
const ATENA: usize = 0;
const PROGRAMME: usize = 1;
const RECIPIENT: usize = 4;
const HISTORY: usize = 6;
const VALID_FROM: usize = 7;
const VALID_TO: usize = 8;

fn run_id(date: &str) -> String {
    format!("139998-{}-pipeline", date.replace('-', ""))
}

fn sent_records(town: &Town, date: &str) -> Vec<Value> {
    payloads(&town.path(&format!("outbox/{}", run_id(date))))
        .iter()
        .flat_map(|p| serde_json::from_slice::<Vec<Value>>(&std::fs::read(p).unwrap()).unwrap())
        .collect()
}

fn quarantine_csv(town: &Town, date: &str) -> Vec<Vec<String>> {
    let path = town.path(&format!("reports/{}/quarantine.csv", run_id(date)));
    let text = std::fs::read_to_string(path).unwrap();
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.trim_start_matches('\u{FEFF}').as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

/// Day 1 sends everything; on day 2 two certificates move to a programme PMH does not carry,
/// a row of that programme without any 受給者番号 appears, and one certificate is gone.
#[test]
fn an_ignored_programme_is_counted_never_sent_and_never_a_deletion() {
    let town = Town::new(60, 5, 1000);
    let (day1, day2) = ("2025-06-02", "2025-06-03");
    let mut pmh = Pmh::default();
    assert_eq!(town.run(day1, &[]).status, 0);
    let results = pmh.take(
        &town.path(&format!("outbox/{}", run_id(day1))),
        &[],
        &town.path("results/1"),
    );
    assert_eq!(import(&town, &results).status, 0);
    let held_before = pmh.rows.clone();

    let mut rows = town.subsidy();
    let moved: Vec<String> = [3, 4].iter().map(|&i| rows[i][HISTORY].clone()).collect();
    for i in [3, 4] {
        rows[i][PROGRAMME] = "999".into();
    }
    let mut anonymous = rows[5].clone();
    anonymous[PROGRAMME] = "999".into();
    anonymous[RECIPIENT] = String::new();
    anonymous[HISTORY] = "8000000001".into();
    rows.push(anonymous);
    let gone = rows.remove(10)[HISTORY].clone();
    town.write_subsidy(&rows);

    // Without the setting, the unknown programme's rows are quarantined, and the one that
    // names no certificate holds back every deletion of the day.
    let plan = run(&mut town.command("plan", day2, &[]));
    assert_eq!(plan.status, 3, "{}{}", plan.stdout, plan.stderr);
    let planned = town.report(&run_id(day2), "report-plan.json");
    assert_eq!(planned["findings_by_code"]["unknown-program"]["count"], 3);
    assert_eq!(planned["diff"]["delete"], 0, "{planned:#}");

    town.edit_pipeline(
        "column = \"subsidy.制度コード\"",
        "column = \"subsidy.制度コード\"\nignore = [\"999\"]",
    );
    let out = town.run(day2, &[]);
    assert_eq!(out.status, 0, "{}{}", out.stdout, out.stderr);
    let report = town.report(&run_id(day2), "report.json");
    assert_eq!(report["records"]["ignored"], 3, "{report:#}");
    assert_eq!(report["records"]["quarantined"], 0);
    assert!(report["findings_by_code"].get("unknown-program").is_none());
    assert_eq!(
        report["diff"]["delete"], 1,
        "only the certificate that is gone"
    );
    let sent = sent_records(&town, day2);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["historyKey"], gone.as_str());
    assert_eq!(sent[0]["isDeleted"], true);
    let results = pmh.take(
        &town.path(&format!("outbox/{}", run_id(day2))),
        &[],
        &town.path("results/2"),
    );
    assert_eq!(import(&town, &results).status, 0);
    // What PMH held for the certificates now ignored is kept, not deleted.
    for hk in &moved {
        let before: Vec<_> = held_before.iter().filter(|(id, _)| &id.1 == hk).collect();
        assert_eq!(before.len(), 1, "{hk}");
        assert_eq!(pmh.rows.get(before[0].0), Some(before[0].1), "{hk}");
    }
    assert!(!pmh.rows.keys().any(|id| id.1 == gone));
    assert!(!pmh.rows.keys().any(|id| id.1 == "8000000001"));
}

/// The ways vendors write "no end", by row of `subsidy.csv`.
const OPEN_ENDS: [(usize, &str); 4] = [
    (2, "H991231"),
    (3, "99991231"),
    (4, "9999-12-31"),
    (5, "平成99年12月31日"),
];

fn with_open_ends(town: &Town, empty_row: usize) -> Vec<String> {
    let mut rows = town.subsidy();
    for (i, written) in OPEN_ENDS {
        rows[i][VALID_TO] = written.into();
    }
    rows[empty_row][VALID_TO] = String::new();
    town.write_subsidy(&rows);
    OPEN_ENDS
        .iter()
        .map(|&(i, _)| i)
        .chain([empty_row])
        .map(|i| rows[i][HISTORY].clone())
        .collect()
}

fn valid_to_of(sent: &[Value], hk: &str) -> Option<String> {
    sent.iter()
        .find(|r| r["historyKey"] == hk)
        .map(|r| r["validTo"].as_str().unwrap().to_owned())
}

#[test]
fn open_ended_validity_is_sent_in_the_profiles_form_or_the_pipelines() {
    let date = "2025-06-02";
    // By default: the built-in profile's 9999-12-31, and an empty end is a missing value.
    let town = Town::new(30, 8, 1000);
    let keys = with_open_ends(&town, 6);
    let out = town.run(date, &[]);
    assert_eq!(out.status, 3, "{}{}", out.stdout, out.stderr);
    let report = town.report(&run_id(date), "report.json");
    // `9999-12-31` is already the sent form: sent, not counted as changed.
    assert_eq!(report["normalisations"]["open_end"], 3, "{report:#}");
    assert!(report["findings_by_code"].get("era-overflow").is_none());
    assert_eq!(report["findings_by_code"]["required-missing"]["count"], 1);
    let sent = sent_records(&town, date);
    for hk in &keys[..4] {
        assert_eq!(
            valid_to_of(&sent, hk).as_deref(),
            Some("9999-12-31"),
            "{hk}"
        );
    }
    assert_eq!(valid_to_of(&sent, &keys[4]), None, "quarantined, not sent");

    // The pipeline's own form, and empty ends taken as open.
    let town = Town::new(30, 8, 1000);
    let keys = with_open_ends(&town, 6);
    town.edit_pipeline(
        "[rules]",
        "[rules.open_end]\nsent_as = \"2099-12-31\"\nempty = true\n\n[rules]",
    );
    let out = town.run(date, &[]);
    assert_eq!(out.status, 0, "{}{}", out.stdout, out.stderr);
    let report = town.report(&run_id(date), "report.json");
    assert_eq!(report["normalisations"]["open_end"], 5);
    let sent = sent_records(&town, date);
    for hk in &keys {
        assert_eq!(
            valid_to_of(&sent, hk).as_deref(),
            Some("2099-12-31"),
            "{hk}"
        );
    }
}

#[test]
fn the_quarantine_list_names_each_row_by_the_configured_key() {
    let date = "2025-06-02";
    let town = Town::new(30, 9, 1000);
    let mut rows = town.subsidy();
    rows[3][VALID_FROM] = "R07XX01".into();
    let atena = rows[3][ATENA].clone();
    town.write_subsidy(&rows);
    town.edit_pipeline(
        "[report]",
        "[report]\nquarantine_key = \"subsidy.宛名番号\"",
    );
    let out = town.run(date, &[]);
    assert_eq!(out.status, 3, "{}{}", out.stdout, out.stderr);
    let list = quarantine_csv(&town, date);
    assert_eq!(list[0][..4], ["ソース", "行", "宛名番号", "履歴キー"]);
    // One line per finding of the record (errors and warnings), each naming it.
    assert!(list.len() > 1, "{list:?}");
    for listed in &list[1..] {
        assert_eq!(
            listed[..3],
            ["subsidy".to_owned(), "4".into(), atena.clone()]
        );
        assert_eq!(listed.len(), list[0].len());
    }
    assert!(
        list[1..]
            .iter()
            .any(|l| l.contains(&"not-iso-date".to_owned()))
    );
    // No other value of the row: its other cells appear nowhere in the list.
    let text = list.concat().join(",");
    for (c, cell) in rows[3].iter().enumerate() {
        if ![ATENA, HISTORY].contains(&c) && cell.len() > 3 {
            assert!(
                !text.contains(cell.as_str()),
                "column {c} shows in the list"
            );
        }
    }
}
