//! Diff-history sync over simulated business days, with the real binary, plugin libraries and
//! SQLite ledger: after each day's run and its results, what PMH holds equals what a fresh
//! upload of that day's exports would hold (plus, for rows held back today, the version PMH
//! accepted before), and no history row is ever sent twice with the same content.

mod common;

use std::collections::BTreeMap;

use common::town::{Pmh, RowId, Town, col, import};
use serde_json::Value;

/// One day's edits to the vendor export, and what PMH does with the day's records.
#[derive(Default)]
struct Day {
    date: &'static str,
    /// Rows (by index among the data rows) whose monthly cap changes: updates.
    change: Vec<usize>,
    /// Rows removed from the export: deletions.
    remove: Vec<usize>,
    /// Rows the vendor marks deleted (削除区分 = 1): deletions.
    withdraw: Vec<usize>,
    /// Rows copied as a new later period: registrations.
    add_period: Vec<usize>,
    /// Rows whose start date becomes unreadable today (quarantined) — and restored the next day.
    break_date: Vec<usize>,
    /// History keys PMH rejects today.
    reject: Vec<usize>,
    /// Expected diff counts: (register, update, delete, unchanged-or-more check skipped).
    expect: (u64, u64, u64),
    /// Expected exit status.
    exit: i32,
}

fn history_key(rows: &[Vec<String>], i: usize) -> String {
    rows[i + 1][col::HISTORY].clone()
}

#[test]
fn a_week_of_changes_keeps_pmh_equal_to_the_source() {
    let town = Town::new(120, 21, 40);
    town.edit_pipeline("max_deletion_share = 0.05", "max_deletion_share = 0.5");
    let days = [
        Day {
            date: "2025-06-02",
            exit: 0,
            ..Day::default()
        },
        Day {
            date: "2025-06-03",
            change: vec![3, 10, 11, 40],
            remove: vec![50, 51],
            withdraw: vec![60],
            add_period: vec![70, 71],
            break_date: vec![80, 81],
            reject: vec![10],
            expect: (2, 4, 3),
            exit: 3,
        },
        Day {
            // The broken rows are fixed: unchanged against what PMH accepted, nothing to send.
            // The rejected row is unchanged too: not sent again.
            date: "2025-06-04",
            change: vec![20],
            expect: (0, 1, 0),
            exit: 0,
            ..Day::default()
        },
        Day {
            // The rejected row is corrected in the source: it goes again.
            date: "2025-06-05",
            change: vec![10],
            expect: (0, 1, 0),
            exit: 0,
            ..Day::default()
        },
        Day {
            date: "2025-06-06",
            expect: (0, 0, 0),
            exit: 0,
            ..Day::default()
        },
    ];
    let mut pmh = Pmh::default();
    let mut repairs: Vec<(String, String)> = Vec::new();
    // Rows PMH refused whose source has not changed since: PMH keeps what it had.
    let mut refused: Vec<String> = Vec::new();
    for (n, day) in days.iter().enumerate() {
        let mut rows = town.subsidy();
        let original = rows.clone();
        let key = |i: usize| history_key(&original, i);
        let reject: Vec<String> = day.reject.iter().map(|&i| key(i)).collect();
        // Yesterday's broken dates are repaired first.
        for (hk, from) in repairs.drain(..) {
            if let Some(r) = rows.iter_mut().find(|r| r[col::HISTORY] == hk) {
                r[col::VALID_FROM] = from;
            }
        }
        let changed: Vec<String> = day.change.iter().map(|&i| key(i)).collect();
        for &i in &day.change {
            let cap = &mut rows[i + 1][col::MONTHLY_CAP];
            *cap = if cap.is_empty() || cap == "10000" {
                format!("{}", 2000 + n * 100)
            } else {
                "10000".into()
            };
        }
        for &i in &day.withdraw {
            rows[i + 1][col::DELETED] = "1".into();
        }
        let held: Vec<String> = day.break_date.iter().map(|&i| key(i)).collect();
        for &i in &day.break_date {
            let from = std::mem::replace(&mut rows[i + 1][col::VALID_FROM], "R07XX01".into());
            repairs.push((key(i), from));
        }
        for &i in &day.add_period {
            // Another history row of the same certificate (a new key for the same period keeps
            // the period's dates valid whatever they are).
            let mut copy = rows[i + 1].clone();
            copy[col::HISTORY] = format!("9{:09}", 100 + i);
            rows.push(copy);
        }
        let removed: Vec<usize> = day.remove.iter().map(|i| i + 1).collect();
        let rows: Vec<Vec<String>> = rows
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !removed.contains(i))
            .map(|(_, r)| r)
            .collect();
        town.write_subsidy(&rows);

        let out = town.run(day.date, &[]);
        assert_eq!(
            out.status, day.exit,
            "{}: exit\n{}{}",
            day.date, out.stdout, out.stderr
        );
        let run_id = format!("139998-{}-pipeline", day.date.replace('-', ""));
        let report = town.report(&run_id, "report.json");
        if n > 0 {
            let d = &report["diff"];
            assert_eq!(
                (
                    d["register"].as_u64().unwrap(),
                    d["update"].as_u64().unwrap(),
                    d["delete"].as_u64().unwrap()
                ),
                day.expect,
                "{}: {d}",
                day.date
            );
        }
        let before = pmh.rows.clone();
        let run_dir = town.path(&format!("outbox/{run_id}"));
        if run_dir.exists() {
            let results = pmh.take(&run_dir, &reject, &town.path(&format!("results/{run_id}")));
            let imported = import(&town, &results);
            let want = if reject.is_empty() { 0 } else { 3 };
            assert_eq!(
                imported.status, want,
                "import\n{}{}",
                imported.stdout, imported.stderr
            );
        }

        // The oracle: a town with a fresh ledger sends today's whole clean set.
        let fresh = town.fresh_copy();
        let first = fresh.run(day.date, &[]);
        assert!(
            first.status == 0 || first.status == 3,
            "{}{}",
            first.stdout,
            first.stderr
        );
        let mut expected: BTreeMap<RowId, Value> =
            Pmh::full_set(&fresh.path(&format!("outbox/{run_id}")));
        // Rows held back today, and rows PMH refused, keep what PMH accepted before.
        refused.retain(|hk| !changed.contains(hk));
        for hk in held.iter().chain(&reject).chain(&refused) {
            expected.retain(|id, _| &id.1 != hk);
            for (id, v) in before.iter().filter(|(id, _)| &id.1 == hk) {
                expected.insert(id.clone(), v.clone());
            }
        }
        assert_eq!(
            pmh.rows.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>(),
            "{}: the rows PMH holds",
            day.date
        );
        for (id, v) in &expected {
            assert_eq!(&pmh.rows[id], v, "{}: row {id:?}", day.date);
        }
        assert!(
            pmh.duplicates.is_empty(),
            "sent twice with the same content: {:?}",
            pmh.duplicates
        );
        let status = town.status();
        assert_eq!(status["pending_rows"], 0, "{}: {status}", day.date);
        assert_eq!(
            status["accepted_rows"].as_u64().unwrap() as usize,
            pmh.rows.len(),
            "{}: the ledger holds what PMH holds",
            day.date
        );
        assert_eq!(
            status["quarantined_by_checks"].as_u64().unwrap() as usize,
            held.len()
        );
        refused.extend(reject);
    }
}

#[test]
fn the_guard_stops_a_mass_deletion_until_the_exact_count_is_confirmed() {
    let town = Town::new(60, 5, 1000);
    let day1 = town.run("2025-06-01", &[]);
    assert_eq!(day1.status, 0, "{}{}", day1.stdout, day1.stderr);
    let run1 = town.path("outbox/139998-20250601-pipeline");
    let mut pmh = Pmh::default();
    let results = pmh.take(&run1, &[], &town.path("results"));
    assert_eq!(import(&town, &results).status, 0);
    let holdings = town.holdings();

    // The vendor's export lost a fifth of its rows.
    let rows = town.subsidy();
    let keep: Vec<Vec<String>> = rows
        .iter()
        .enumerate()
        .filter(|(i, _)| *i == 0 || i % 5 != 0)
        .map(|(_, r)| r.clone())
        .collect();
    town.write_subsidy(&keep);
    let gone = (rows.len() - keep.len()) as u64;

    let stopped = town.run("2025-06-02", &[]);
    assert_eq!(stopped.status, 4, "{}{}", stopped.stdout, stopped.stderr);
    assert!(
        stopped.stdout.contains(&format!("{gone}"))
            && stopped.stdout.contains("--confirm-deletions"),
        "names the count and the way out\n{}",
        stopped.stdout
    );
    assert!(!town.path("outbox/139998-20250602-pipeline").exists());
    assert_eq!(
        town.holdings(),
        holdings,
        "nothing of the stopped run is kept"
    );

    let wrong = town.run(
        "2025-06-02",
        &["--confirm-deletions", &(gone + 1).to_string()],
    );
    assert_eq!(wrong.status, 4, "{}", wrong.stdout);
    assert_eq!(town.holdings(), holdings);

    let confirmed = town.run("2025-06-02", &["--confirm-deletions", &gone.to_string()]);
    assert_eq!(
        confirmed.status, 0,
        "{}{}",
        confirmed.stdout, confirmed.stderr
    );
    let report = town.report("139998-20250602-pipeline", "report.json");
    assert_eq!(report["diff"]["delete"], gone);
    let run2 = town.path("outbox/139998-20250602-pipeline");
    let results = pmh.take(&run2, &[], &town.path("results2"));
    assert_eq!(import(&town, &results).status, 0);
    assert_eq!(
        town.status()["accepted_rows"].as_u64().unwrap() as usize,
        pmh.rows.len()
    );

    // An empty export never becomes a deletion of everything.
    town.write_subsidy(&rows[..1]);
    let empty = town.run("2025-06-03", &[]);
    assert_eq!(empty.status, 4, "{}{}", empty.stdout, empty.stderr);
    assert!(!town.path("outbox/139998-20250603-pipeline").exists());
}

#[test]
fn a_rerun_of_a_finished_day_sends_nothing_and_plan_writes_nothing() {
    let town = Town::new(30, 3, 1000);
    assert_eq!(town.run("2025-06-01", &[]).status, 0);
    let status = town.holdings();
    let plan = common::run(&mut town.command("plan", "2025-06-02", &[]));
    assert_eq!(plan.status, 0, "{}{}", plan.stdout, plan.stderr);
    assert_eq!(town.holdings(), status, "plan changes nothing");
    let again = town.run("2025-06-01", &[]);
    assert_eq!(again.status, 0);
    assert_eq!(town.run_folders().0.len(), 1);
    assert_eq!(town.holdings(), status);
}

#[test]
fn full_sync_sends_everything_and_keeps_the_ledger_too() {
    let town = Town::new(40, 8, 1000);
    town.edit_pipeline("sync = \"diff\"", "sync = \"full\"");
    let first = town.run("2025-06-01", &[]);
    assert_eq!(first.status, 0, "{}{}", first.stdout, first.stderr);
    let run1 = town.path("outbox/139998-20250601-pipeline");
    assert!(run1.join("E02-0000.json").exists(), "full sync speaks E02");
    let mut pmh = Pmh::default();
    let results = pmh.take(&run1, &[], &town.path("results1"));
    assert_eq!(import(&town, &results).status, 0);
    let rows = town.subsidy();
    let held = town.status()["accepted_rows"].as_u64().unwrap();
    assert_eq!(held as usize, rows.len() - 1);

    // One row gone: every other row is sent again, the gone one is left out, and the ledger
    // forgets it once PMH accepted the upload.
    town.write_subsidy(&rows[..rows.len() - 1]);
    town.edit_pipeline("max_deletion_share = 0.05", "max_deletion_share = 0.5");
    let second = town.run("2025-06-02", &[]);
    assert_eq!(second.status, 0, "{}{}", second.stdout, second.stderr);
    let report = town.report("139998-20250602-pipeline", "report.json");
    assert_eq!(report["diff"]["omit"], 1, "{}", report["diff"]);
    assert_eq!(report["diff"]["resend"], held - 1);
    assert_eq!(report["diff"]["sent"], held - 1);
    let results = pmh.take(
        &town.path("outbox/139998-20250602-pipeline"),
        &[],
        &town.path("results2"),
    );
    assert_eq!(import(&town, &results).status, 0);
    assert_eq!(town.status()["accepted_rows"], held - 1);
}

#[test]
fn reset_sends_the_whole_set_and_rebuilds_the_ledger_from_its_result() {
    let town = Town::new(40, 12, 1000);
    assert_eq!(town.run("2025-06-01", &[]).status, 0);
    let mut pmh = Pmh::default();
    let results = pmh.take(
        &town.path("outbox/139998-20250601-pipeline"),
        &[],
        &town.path("results1"),
    );
    assert_eq!(import(&town, &results).status, 0);

    // A vendor change renumbered every history key.
    let mut rows = town.subsidy();
    for (i, r) in rows.iter_mut().enumerate().skip(1) {
        r[col::HISTORY] = format!("8{i:09}");
    }
    town.write_subsidy(&rows);
    let current = rows.len() as u64 - 1;

    let unconfirmed = common::run(&mut town.command("reset", "2025-06-02", &[]));
    assert_eq!(
        unconfirmed.status, 2,
        "{}{}",
        unconfirmed.stdout, unconfirmed.stderr
    );
    assert!(
        unconfirmed.stderr.contains("--yes"),
        "{}",
        unconfirmed.stderr
    );
    assert!(!town.path("outbox/139998-20250602-pipeline-reset").exists());

    let reset = common::run(&mut town.command("reset", "2025-06-02", &["--yes"]));
    assert_eq!(reset.status, 0, "{}{}", reset.stdout, reset.stderr);
    let dir = town.path("outbox/139998-20250602-pipeline-reset");
    assert!(dir.join("E12-0000.json").exists(), "a reset speaks E12");
    let report = town.report("139998-20250602-pipeline-reset", "report.json");
    assert_eq!(report["diff"]["register"], current, "{}", report["diff"]);
    assert_eq!(report["diff"]["omit"], current, "the old keys are dropped");
    let results = pmh.take(&dir, &[], &town.path("results2"));
    assert_eq!(import(&town, &results).status, 0);
    let status = town.status();
    assert_eq!(status["accepted_rows"], current, "{status}");
    assert_eq!(status["pending_rows"], 0);

    // The next day's diff starts from the new baseline: nothing to send.
    assert_eq!(town.run("2025-06-03", &[]).status, 0);
    assert_eq!(
        town.report("139998-20250603-pipeline", "report.json")["diff"]["sent"],
        0
    );
}
