//! A day tells the same story however it ran: in one go, killed (SIGKILL) at any point and
//! resumed, or re-run after it finished. Exit status, the report's counts and findings, and the
//! quarantine list are the day's, on every path. And a row of a joined source that cannot be
//! read never weakens a record: it quarantines the records it may name, or stops the day.

mod common;

use std::collections::BTreeSet;

use common::town::{Town, payloads};
use pmhlink_runner::failpoint::POINTS;
use serde_json::{Value, json};

const DAY: &str = "2025-06-01";
const RUN: &str = "139998-20250601-pipeline";
const NEXT: &str = "2025-06-02";
const NEXT_RUN: &str = "139998-20250602-pipeline";

/// A town with defects, so the day quarantines records, and several batches.
fn dirty_town() -> Town {
    Town::with_defects(80, 9, 25, 0.08)
}

/// What a report says about the day itself (not when it ran, which attempt, or which sinks
/// were asked on the way).
fn the_day(report: &Value) -> Value {
    let batches: Vec<&Value> = report["batches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| &b["records"])
        .collect();
    json!({
        "records": report["records"],
        "sources": report["sources"],
        "findings_by_code": report["findings_by_code"],
        "normalisations": report["normalisations"],
        "unreadable": report["unreadable"],
        "diff": report["diff"],
        "batches": batches,
        "exit_code": report["exit_code"],
    })
}

fn quarantine_list(town: &Town, run_id: &str, name: &str) -> String {
    let path = town.path(&format!("reports/{run_id}/{name}"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

#[test]
fn a_resumed_or_re_run_day_reports_what_the_uninterrupted_day_reports() {
    let reference = dirty_town();
    let first = reference.run(DAY, &[]);
    assert_eq!(first.status, 3, "the day quarantines: {}", first.stdout);
    let want = the_day(&reference.report(RUN, "report.json"));
    assert!(want["records"]["quarantined"].as_u64().unwrap() > 0);
    let want_list = quarantine_list(&reference, RUN, "quarantine.csv");
    assert!(want_list.lines().count() > 1, "{want_list}");
    // The ledger's check quarantine (kept with the plan, in its transaction).
    let want_held = reference.status()["quarantined_by_checks"].clone();
    assert!(want_held.as_u64().unwrap() > 0);

    for point in POINTS {
        let town = dirty_town();
        let killed = town
            .command("run", DAY, &[])
            .env("PMHLINK_TEST_KILL_AT", point)
            .output()
            .unwrap();
        assert_eq!(killed.status.code(), None, "{point}: killed by a signal");
        // The killed attempt wrote no report; the one that finishes the day writes it.
        let resumed = town.run(DAY, &[]);
        assert_eq!(
            resumed.status, 3,
            "{point}: the day's status\n{}{}",
            resumed.stdout, resumed.stderr
        );
        let report = town.report(RUN, "report.json");
        assert_eq!(the_day(&report), want, "{point}: the resumed day's report");
        // Killed after delivering, the day was done; it only lacked its report.
        let outcome = if point == "delivered" {
            "already_done"
        } else {
            "sent_with_quarantine"
        };
        assert_eq!(report["outcome"], outcome, "{point}");
        assert_eq!(
            quarantine_list(&town, RUN, "quarantine.csv"),
            want_list,
            "{point}: the quarantine list"
        );

        assert_eq!(
            town.status()["quarantined_by_checks"],
            want_held,
            "{point}: the ledger's quarantine"
        );

        // A re-run of the finished day says so, and still tells the day as it was.
        let again = town.run(DAY, &[]);
        assert_eq!(again.status, 3, "{point}: {}{}", again.stdout, again.stderr);
        let report = town.report(RUN, "report.2.json");
        assert_eq!(report["outcome"], "already_done", "{point}");
        assert_eq!(the_day(&report), want, "{point}: the re-run's report");
        assert_eq!(
            quarantine_list(&town, RUN, "quarantine.2.csv"),
            want_list,
            "{point}"
        );
    }
}

/// Cells of a CSV line, split on commas (the generated 支援措置 list quotes nothing that holds
/// one).
fn cells(line: &[u8]) -> Vec<Vec<u8>> {
    line.split(|&b| b == b',').map(<[u8]>::to_vec).collect()
}

/// The 支援措置 list's lines (CRLF), the BOM left on the first.
fn shien_lines(town: &Town) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(town.path("data/shien.csv")).unwrap();
    let mut lines: Vec<Vec<u8>> = bytes.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    if lines.last().is_some_and(Vec::is_empty) {
        lines.pop();
    }
    lines
}

fn write_shien(town: &Town, lines: &[Vec<u8>]) {
    let mut bytes = Vec::new();
    for l in lines {
        bytes.extend_from_slice(l);
        bytes.push(b'\n');
    }
    std::fs::write(town.path("data/shien.csv"), bytes).unwrap();
}

/// Puts a byte that is never UTF-8 at the start of `cell` of the list's line `line` (1-based).
fn break_shien_cell(town: &Town, line: usize, cell: usize) {
    let mut lines = shien_lines(town);
    let mut cs = cells(&lines[line - 1]);
    let text = cs[cell].clone();
    let quoted = text.first() == Some(&b'"');
    cs[cell].insert(usize::from(quoted), 0xFF);
    lines[line - 1] = cs.join(&b","[..]);
    write_shien(town, &lines);
}

/// 宛名番号 → 個人番号, from the resident export (fixed width: bytes 1..11 and 11..23).
fn my_number_of(town: &Town, atena: &str) -> String {
    let bytes = std::fs::read(town.path("data/residents.dat")).unwrap();
    bytes
        .split(|&b| b == b'\n')
        .filter(|l| l.len() > 23 && l[0] == b'D')
        .find(|l| String::from_utf8_lossy(&l[1..11]).trim() == atena)
        .map(|l| String::from_utf8(l[11..23].to_vec()).unwrap())
        .unwrap_or_else(|| panic!("no resident {atena}"))
}

/// Every record a run folder sent.
fn sent(town: &Town, run_id: &str) -> Vec<Value> {
    let dir = town.path(&format!("outbox/{run_id}"));
    if !dir.exists() {
        return Vec::new();
    }
    payloads(&dir)
        .iter()
        .flat_map(|p| serde_json::from_slice::<Vec<Value>>(&std::fs::read(p).unwrap()).unwrap())
        .collect()
}

/// The first 支援措置 line (2 onwards) whose person was sent with `isNotDisclosed: true` on
/// the first day: (line, 宛名番号, 個人番号).
fn a_withheld_person(town: &Town) -> (usize, String, String) {
    let day_one = sent(town, RUN);
    for (i, line) in shien_lines(town).iter().enumerate().skip(1) {
        let atena = String::from_utf8(cells(line)[0].clone()).unwrap();
        let atena = atena.trim_matches('"').to_owned();
        let my_number = my_number_of(town, &atena);
        let records: Vec<&Value> = day_one
            .iter()
            .filter(|r| r["myNumber"] == my_number.as_str())
            .collect();
        if !records.is_empty() && records.iter().all(|r| r["isNotDisclosed"] == true) {
            return (i + 1, atena, my_number);
        }
    }
    panic!("no 支援措置 row in force for a sent person");
}

fn is_not_disclosed_of(records: &[Value], my_number: &str) -> BTreeSet<String> {
    records
        .iter()
        .filter(|r| r["myNumber"] == my_number)
        .map(|r| r["isNotDisclosed"].to_string())
        .collect()
}

/// 宛名番号 of the resident export's first `n` people.
fn first_residents(town: &Town, n: usize) -> Vec<String> {
    let bytes = std::fs::read(town.path("data/residents.dat")).unwrap();
    bytes
        .split(|&b| b == b'\n')
        .filter(|l| l.len() > 23 && l[0] == b'D')
        .take(n)
        .map(|l| String::from_utf8_lossy(&l[1..11]).trim().to_owned())
        .collect()
}

/// A town after its first day, with 支援措置 in force for a few of its people (the generator
/// draws few), sent with `isNotDisclosed: true`.
fn town_after_one_day() -> Town {
    let town = Town::new(60, 5, 1000);
    let mut lines = shien_lines(&town);
    for atena in first_residents(&town, 3) {
        lines.push(format!("{atena},2020-01-01,\r").into_bytes());
    }
    write_shien(&town, &lines);
    let first = town.run(DAY, &[]);
    assert_eq!(first.status, 0, "{}{}", first.stdout, first.stderr);
    town
}

/// The next day's export, with every history row changed, so each would be sent again.
fn touch_every_row(town: &Town) {
    let mut rows = town.subsidy();
    let column = rows[0]
        .iter()
        .position(|c| c == "疾病名")
        .expect("a 疾病名 column");
    for row in rows.iter_mut().skip(1) {
        row[column].push('Ⅱ');
    }
    town.write_subsidy(&rows);
}

#[test]
fn an_unreadable_support_measure_row_quarantines_the_records_it_names() {
    let town = town_after_one_day();
    let (line, _, my_number) = a_withheld_person(&town);
    touch_every_row(&town);
    // The 開始日 cell of the person's row does not decode; the 宛名番号 still does.
    break_shien_cell(&town, line, 1);
    let out = town.run(NEXT, &[]);
    assert_eq!(out.status, 3, "{}{}", out.stdout, out.stderr);
    let report = town.report(NEXT_RUN, "report.json");
    assert!(
        report["findings_by_code"]["join-row-unreadable"]["count"]
            .as_u64()
            .unwrap_or_else(|| panic!("{report:#}"))
            >= 1
    );
    assert_eq!(report["sources"][2]["unreadable_rows"], 1, "{report:#}");
    let day_two = sent(&town, NEXT_RUN);
    assert!(!day_two.is_empty(), "the other records were sent");
    assert_eq!(
        is_not_disclosed_of(&day_two, &my_number),
        BTreeSet::new(),
        "nothing of that person is sent while the row cannot be read"
    );
    let list = quarantine_list(&town, NEXT_RUN, "quarantine.csv");
    assert!(
        list.contains(&format!("shien,{line},")),
        "the unreadable row is on the list by its line:\n{list}"
    );
    assert!(list.contains("join-row-unreadable"), "{list}");
    assert!(!list.contains(&my_number), "the list masks My Number");
}

#[test]
fn a_support_measure_row_whose_key_cannot_be_read_stops_the_day_or_withholds() {
    let town = town_after_one_day();
    let (line, _, my_number) = a_withheld_person(&town);
    let before = town.holdings();
    touch_every_row(&town);
    break_shien_cell(&town, line, 0);

    let stopped = town.run(NEXT, &[]);
    assert_eq!(stopped.status, 4, "{}{}", stopped.stdout, stopped.stderr);
    let report = town.report(NEXT_RUN, "report.json");
    let error = report["error"].as_str().unwrap();
    assert!(
        error.contains("source `shien`")
            && error.contains(&format!("line {line}"))
            && error.contains("joins[1].on_unreadable_key"),
        "{error}"
    );
    assert!(!error.contains(&my_number));
    assert_eq!(sent(&town, NEXT_RUN), Vec::<Value>::new(), "nothing sent");
    assert_eq!(town.holdings(), before, "the ledger is as it was");
    let list = quarantine_list(&town, NEXT_RUN, "quarantine.csv");
    assert!(list.contains(&format!("shien,{line},")), "{list}");

    // Withholding instead: a record that found its 支援措置 row is sent as it says; every
    // other record could be the one the unreadable row names, and is held back.
    town.edit_pipeline(
        "valid_to = \"終了日\"",
        "valid_to = \"終了日\"\non_unreadable_key = \"withhold\"",
    );
    let withheld = town.run(NEXT, &[]);
    assert_eq!(withheld.status, 3, "{}{}", withheld.stdout, withheld.stderr);
    let report = town.report(NEXT_RUN, "report.2.json");
    let held = report["findings_by_code"]["join-row-unreadable"]["count"]
        .as_u64()
        .unwrap_or_else(|| panic!("{report:#}"));
    assert!(held > 0);
    let day_two = sent(&town, NEXT_RUN);
    assert!(!day_two.is_empty(), "records with their row were sent");
    assert!(
        day_two.iter().all(|r| r["isNotDisclosed"] == true),
        "only records that found their row went out"
    );
    assert_eq!(is_not_disclosed_of(&day_two, &my_number), BTreeSet::new());
}
