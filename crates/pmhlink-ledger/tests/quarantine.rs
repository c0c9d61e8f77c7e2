//! Rows held back by checks, across runs: new, continuing, recovered.

mod common;

use std::collections::BTreeMap;

use common::*;
use pmhlink_diff::Action::*;
use pmhlink_ledger::{HeldRow, QuarantineChange, RunState};

/// One run: its id, the state it ends in, the rows its checks held (by number), the change
/// expected, then every row held afterwards as (row, runs in a row, first run).
struct Case {
    run: &'static str,
    state: RunState,
    held: &'static [u8],
    change: [u64; 3],
    after: &'static [(u8, i64, &'static str)],
}

const CASES: &[Case] = &[
    Case {
        run: "d1",
        state: RunState::Settled,
        held: &[1, 2],
        change: [2, 0, 0],
        after: &[(1, 1, "d1"), (2, 1, "d1")],
    },
    Case {
        run: "d2",
        state: RunState::Settled,
        held: &[1, 3],
        change: [1, 1, 1],
        after: &[(1, 2, "d1"), (3, 1, "d2")],
    },
    // A run stopped by the guard read the export too.
    Case {
        run: "d3",
        state: RunState::Stopped,
        held: &[1, 3],
        change: [0, 2, 0],
        after: &[(1, 3, "d1"), (3, 2, "d2")],
    },
    // An attempt that failed before planning recorded its holds but was not a reading run…
    Case {
        run: "d4",
        state: RunState::Aborted,
        held: &[1, 3, 4],
        change: [1, 2, 0],
        after: &[(1, 4, "d1"), (3, 3, "d2"), (4, 1, "d4")],
    },
    // …so the next run, whose previous reading run is d3, counts afresh what d4 held last.
    Case {
        run: "d5",
        state: RunState::Prepared,
        held: &[1, 4],
        change: [2, 0, 1],
        after: &[(1, 1, "d5"), (4, 1, "d5")],
    },
    // The same row held twice in one run counts once.
    Case {
        run: "d6",
        state: RunState::Delivered,
        held: &[1, 1, 4],
        change: [0, 2, 0],
        after: &[(1, 2, "d5"), (4, 2, "d5")],
    },
    Case {
        run: "d7",
        state: RunState::Settled,
        held: &[],
        change: [0, 0, 2],
        after: &[],
    },
];

fn held_rows(path: &std::path::Path) -> Vec<(u8, i64, String)> {
    let names: BTreeMap<_, _> = (0..32u8).map(|k| (row_key(k), k)).collect();
    let c = rusqlite::Connection::open(path).unwrap();
    let mut st = c
        .prepare("SELECT qkey, runs_in_a_row, first_run FROM quarantine WHERE kind = 'check'")
        .unwrap();
    let mut rows: Vec<(u8, i64, String)> = st
        .query_map([], |r| {
            let key: Vec<u8> = r.get(0)?;
            Ok((names[&key[..]], r.get(1)?, r.get(2)?))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    rows.sort();
    rows
}

#[test]
fn check_quarantine_across_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite");
    for case in CASES {
        let mut l = open(&path);
        let attempt = new_run(&mut l, case.run);
        let codes = "R001,R002";
        let held: Vec<HeldRow<'_>> = case
            .held
            .iter()
            .map(|&k| HeldRow {
                qkey: row_key(k),
                codes,
                history_key: Some("hk-generated"),
                source: "primary",
                line: Some(u64::from(k) + 1),
            })
            .collect();
        let change = l.record_check_quarantine(case.run, &held).unwrap();
        let [new, continuing, recovered] = case.change;
        assert_eq!(
            change,
            QuarantineChange {
                new,
                continuing,
                recovered
            },
            "{}",
            case.run
        );
        l.end_run(case.run, attempt, case.state, &serde_json::json!({}), None)
            .unwrap();
        let status = l.status(0).unwrap();
        assert_eq!(status.quarantined_by_checks, case.after.len() as u64);
        assert_eq!(
            status.oldest_quarantine_since.is_some(),
            !case.after.is_empty(),
            "{}",
            case.run
        );
        if let Some(since) = status.oldest_quarantine_since {
            assert!(since > 1_600_000_000, "{since}");
            assert_eq!(status.oldest_quarantine_days, Some(0));
        }
        drop(l);
        let want: Vec<(u8, i64, String)> = case
            .after
            .iter()
            .map(|&(k, n, first)| (k, n, first.to_owned()))
            .collect();
        assert_eq!(held_rows(&path), want, "{}", case.run);
    }
}

/// A row PMH refused and a row the checks hold are kept apart, even when they are the same
/// row: neither replaces nor hides the other.
#[test]
fn refusals_and_checks_are_separate() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite");
    let mut l = open(&path);
    plan_run(&mut l, "r1", &[(1, Register, 1), (2, Register, 1)]);
    stage_all(&mut l, "r1", 5);
    l.finish_delivery("r1", 1).unwrap();
    let s = settlement(&l, "r1", 1, "RA");
    l.settle("r1", 1, &s, "x").unwrap();
    assert_eq!(Names::new().rejected(&l), "1:1");

    // The next day row 1 (still refused) and row 2 fail a check.
    let attempt = new_run(&mut l, "r2");
    let held: Vec<HeldRow<'_>> = [1u8, 2]
        .iter()
        .map(|&k| HeldRow {
            qkey: row_key(k),
            codes: "R001",
            history_key: None,
            source: "primary",
            line: None,
        })
        .collect();
    let change = l.record_check_quarantine("r2", &held).unwrap();
    assert_eq!(change.new, 2);
    l.end_run(
        "r2",
        attempt,
        RunState::Stopped,
        &serde_json::json!({}),
        None,
    )
    .unwrap();
    let status = l.status(0).unwrap();
    assert_eq!(
        (status.quarantined_by_checks, status.rejected_by_pmh),
        (2, 1)
    );
    assert_eq!(Names::new().rejected(&l), "1:1");

    // Held again the day after: both continue.
    let attempt = new_run(&mut l, "r3");
    let change = l.record_check_quarantine("r3", &held).unwrap();
    assert_eq!((change.new, change.continuing), (0, 2));
    l.end_run(
        "r3",
        attempt,
        RunState::Stopped,
        &serde_json::json!({}),
        None,
    )
    .unwrap();
    // New content for row 1 accepted: the refusal goes; the check holds are their own.
    plan_run(&mut l, "r4", &[(1, Update, 2)]);
    stage_all(&mut l, "r4", 5);
    l.finish_delivery("r4", 1).unwrap();
    let s = settlement(&l, "r4", 1, "A");
    l.settle("r4", 1, &s, "x").unwrap();
    let status = l.status(0).unwrap();
    assert_eq!(
        (status.quarantined_by_checks, status.rejected_by_pmh),
        (2, 0)
    );
    assert_eq!(Names::new().rejected(&l), "");
    drop(l);
    let rows = held_rows(&path);
    assert_eq!(rows, vec![(1, 2, "r2".to_owned()), (2, 2, "r2".to_owned())]);
}
