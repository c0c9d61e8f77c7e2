//! Runs killed at every point (SIGKILL) resume without sending anything twice; every ledger
//! failure we can name is a clear error that leaves the ledger as it was.

mod common;

use std::collections::BTreeSet;

use common::town::{Pmh, Town, import, payloads};
use common::{pmhlink, run};
use pmhlink_runner::failpoint::POINTS;

const DAY: &str = "2025-06-01";
const RUN: &str = "139998-20250601-pipeline";

/// Every history key in a run folder's payloads, with how often it appears.
fn sent_keys(town: &Town) -> Vec<String> {
    let mut keys = Vec::new();
    for p in payloads(&town.path(&format!("outbox/{RUN}"))) {
        let records: Vec<serde_json::Value> =
            serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
        keys.extend(
            records
                .iter()
                .map(|r| r["historyKey"].as_str().unwrap().to_owned()),
        );
    }
    keys
}

#[test]
fn a_run_killed_at_any_point_resumes_and_delivers_every_row_exactly_once() {
    // The uninterrupted run, for comparison.
    let reference = Town::new(80, 9, 25);
    assert_eq!(reference.run(DAY, &[]).status, 0);
    let mut want = sent_keys(&reference);
    want.sort();
    assert!(
        reference.report(RUN, "report.json")["batches"]
            .as_array()
            .unwrap()
            .len()
            > 3,
        "several batches, so a kill can fall between them"
    );

    for point in POINTS {
        let town = Town::new(80, 9, 25);
        let killed = town
            .command("run", DAY, &[])
            .env("PMHLINK_TEST_KILL_AT", point)
            .output()
            .unwrap();
        assert_eq!(
            killed.status.code(),
            None,
            "{point}: killed by a signal\n{}",
            String::from_utf8_lossy(&killed.stderr)
        );
        let again = town.run(DAY, &[]);
        assert_eq!(
            again.status, 0,
            "{point}: the rerun finishes\n{}{}",
            again.stdout, again.stderr
        );
        let (runs, partial) = town.run_folders();
        assert_eq!(
            runs.into_iter().collect::<Vec<_>>(),
            [RUN],
            "{point}: one run folder"
        );
        assert!(!partial, "{point}: nothing partial left behind");
        let mut got = sent_keys(&town);
        let unique: BTreeSet<&String> = got.iter().collect();
        assert_eq!(unique.len(), got.len(), "{point}: a row sent twice");
        got.sort();
        assert_eq!(got, want, "{point}: every row delivered");

        let status = town.status();
        assert_eq!(status["unfinished_runs"], serde_json::json!([]), "{point}");
        assert_eq!(status["pending_rows"], want.len(), "{point}: {status}");
        // The loop closes: results settle everything, and the next day sends nothing.
        let mut pmh = Pmh::default();
        let results = pmh.take(
            &town.path(&format!("outbox/{RUN}")),
            &[],
            &town.path("results"),
        );
        let imported = import(&town, &results);
        assert_eq!(
            imported.status, 0,
            "{point}: {}{}",
            imported.stdout, imported.stderr
        );
        let status = town.status();
        assert_eq!(status["accepted_rows"], want.len(), "{point}");
        assert_eq!(status["pending_rows"], 0, "{point}");
        let next = town.run("2025-06-02", &[]);
        assert_eq!(next.status, 0, "{point}: {}", next.stdout);
        assert_eq!(
            town.report("139998-20250602-pipeline", "report.json")["diff"]["sent"],
            0,
            "{point}: the ledger knows everything was sent"
        );
    }
}

/// A town after one accepted day, and what its ledger holds.
fn settled_town() -> (Town, serde_json::Value) {
    let town = Town::new(40, 4, 1000);
    assert_eq!(town.run(DAY, &[]).status, 0);
    let mut pmh = Pmh::default();
    let results = pmh.take(
        &town.path(&format!("outbox/{RUN}")),
        &[],
        &town.path("results"),
    );
    assert_eq!(import(&town, &results).status, 0);
    // A change, so that the next day has something to send.
    let mut rows = town.subsidy();
    for r in rows.iter_mut().skip(1) {
        r[common::town::col::MONTHLY_CAP] = "7777".into();
    }
    town.write_subsidy(&rows);
    let holdings = town.holdings();
    (town, holdings)
}

fn assert_failed(town: &Town, out: &common::Run, needle: &str) {
    assert_eq!(out.status, 4, "{}{}", out.stdout, out.stderr);
    let text = format!("{}{}", out.stdout, out.stderr);
    assert!(text.contains(needle), "`{needle}` in\n{text}");
    assert!(
        !town.path("outbox/139998-20250602-pipeline").exists(),
        "nothing delivered"
    );
}

#[test]
fn a_locked_ledger_is_refused_and_left_alone() {
    let (town, holdings) = settled_town();
    let key = pmhlink_ledger::MasterKey::from_file(&town.path("state/ledger.key")).unwrap();
    let held = pmhlink_ledger::Ledger::open(
        &town.path("state/ledger.sqlite"),
        &key,
        pmhlink_ledger::Access::Existing,
    )
    .unwrap();
    let out = town.run("2025-06-02", &[]);
    assert_failed(&town, &out, "in use by another pmhlink process");
    drop(held);
    assert_eq!(town.holdings(), holdings);
    assert_eq!(town.run("2025-06-02", &[]).status, 0, "runs once released");
}

#[test]
fn a_full_disk_during_the_commit_leaves_the_ledger_as_it_was() {
    let (town, holdings) = settled_town();
    let pages = std::fs::metadata(town.path("state/ledger.sqlite"))
        .unwrap()
        .len()
        / 4096;
    let out = common::run(
        town.command("run", "2025-06-02", &[])
            .env("PMHLINK_TEST_LEDGER_MAX_PAGES", (pages + 1).to_string()),
    );
    assert_failed(&town, &out, "disk is full");
    assert_eq!(town.holdings(), holdings);
    assert_eq!(
        town.run("2025-06-02", &[]).status,
        0,
        "runs once there is room"
    );
}

#[test]
fn a_damaged_ledger_is_refused_and_nothing_is_sent() {
    let (town, _) = settled_town();
    let path = town.path("state/ledger.sqlite");
    let mut bytes = std::fs::read(&path).unwrap();
    // Page 4 is the root of the accepted rows (the fourth table created).
    for b in &mut bytes[3 * 4096..4 * 4096] {
        *b = 0xA5;
    }
    std::fs::write(&path, &bytes).unwrap();
    let out = town.run("2025-06-02", &[]);
    assert_failed(&town, &out, "damaged");
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "left as it was");

    std::fs::write(&path, b"not a database at all, just text").unwrap();
    let out = town.run("2025-06-02", &[]);
    assert_failed(&town, &out, "damaged");
}

#[test]
fn the_wrong_key_is_refused_without_touching_the_ledger() {
    let (town, holdings) = settled_town();
    let before = std::fs::read(town.path("state/ledger.sqlite")).unwrap();
    let out = common::run(
        town.command("run", "2025-06-02", &[])
            .env("PMHLINK_LEDGER_KEY", "ab".repeat(32)),
    );
    assert_failed(&town, &out, "wrong key");
    assert!(
        !out.stderr.contains(&"ab".repeat(32)),
        "never shows the key"
    );
    assert_eq!(
        std::fs::read(town.path("state/ledger.sqlite")).unwrap(),
        before
    );
    assert_eq!(town.holdings(), holdings);

    let malformed = common::run(
        town.command("run", "2025-06-02", &[])
            .env("PMHLINK_LEDGER_KEY", "not-hex"),
    );
    assert_eq!(malformed.status, 2, "{}", malformed.stderr);
    assert!(malformed.stderr.contains("PMHLINK_LEDGER_KEY"));
}

#[test]
fn a_result_file_for_another_run_settles_nothing() {
    let (town, _) = settled_town();
    assert_eq!(town.run("2025-06-02", &[]).status, 0);
    let holdings = town.holdings();
    // Another municipality's results, and this town's own results imported a second time.
    let other = Town::new(40, 77, 1000);
    assert_eq!(other.run(DAY, &[]).status, 0);
    let mut pmh = Pmh::default();
    let foreign = pmh.take(
        &other.path(&format!("outbox/{RUN}")),
        &[],
        &other.path("results"),
    );
    let out = import(&town, &foreign);
    assert_eq!(out.status, 2, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("another run"), "{}", out.stderr);
    assert_eq!(town.holdings(), holdings);

    let again = import(&town, &[town.path("results/E06-0000.result.json")]);
    assert_eq!(again.status, 2, "{}{}", again.stdout, again.stderr);
    assert_eq!(town.holdings(), holdings);

    let broken = town.path("broken.json");
    std::fs::write(&broken, b"{\"taskId\": 1").unwrap();
    let out = import(&town, &[broken]);
    assert_eq!(out.status, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("broken.json"),
        "names the file: {}",
        out.stderr
    );
    assert_eq!(town.holdings(), holdings);
}

/// `results import A B …` is all or nothing: every file is checked first, and when any cannot
/// be used (broken, missing, given twice, not fitting its batch) none settles and every bad
/// file is named; exit 2 then means exactly what the README says, nothing settled.
#[test]
fn results_import_settles_every_file_or_none() {
    let town = Town::new(40, 4, 10);
    assert_eq!(town.run(DAY, &[]).status, 0);
    let mut pmh = Pmh::default();
    let results = pmh.take(
        &town.path(&format!("outbox/{RUN}")),
        &[],
        &town.path("results"),
    );
    assert!(results.len() >= 3, "several batches");
    let holdings = town.holdings();

    let broken = town.path("broken.json");
    std::fs::write(&broken, b"{\"taskId\": 1").unwrap();
    let missing = town.path("missing.json");
    let mut files = results.clone();
    files.insert(1, broken);
    files.push(missing);
    let out = import(&town, &files);
    assert_eq!(out.status, 2, "{}{}", out.stdout, out.stderr);
    for name in ["broken.json", "missing.json"] {
        assert!(out.stderr.contains(name), "names {name}: {}", out.stderr);
    }
    assert!(out.stderr.contains("none was settled"), "{}", out.stderr);
    assert_eq!(town.holdings(), holdings, "the good files settled nothing");

    // The same result twice in one import: the second would be a re-import.
    let mut twice = results.clone();
    twice.push(results[0].clone());
    let out = import(&town, &twice);
    assert_eq!(out.status, 2, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("E06-0000.result.json"),
        "{}",
        out.stderr
    );
    assert_eq!(town.holdings(), holdings);

    let out = import(&town, &results);
    assert_eq!(out.status, 0, "{}{}", out.stdout, out.stderr);
    let status = town.status();
    assert_eq!(status["pending_rows"], 0, "{status}");
    assert_eq!(
        status["accepted_rows"],
        town.report(RUN, "report.json")["diff"]["sent"],
        "every file settled"
    );
}

/// Two first-ever runs started together, both with stdout and stderr captured.
fn two_at_once(town: &Town, extra: &[&str]) -> Vec<(Option<i32>, String)> {
    let children: Vec<_> = (0..2)
        .map(|_| {
            town.command("run", DAY, extra)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|c| {
            let o = c.wait_with_output().unwrap();
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
            (o.status.code(), text)
        })
        .collect()
}

/// Of two first-ever runs started together exactly one wins and delivers; the other is
/// refused with the lock message (exit 4), or, told to wait, waits and finds the day done.
/// Never both refused, never a half-made key or "already exists", never a row sent twice.
#[test]
fn two_runs_started_together_one_wins() {
    for _ in 0..3 {
        let town = Town::new(40, 4, 1000);
        let mut codes: Vec<Option<i32>> = Vec::new();
        for (code, text) in two_at_once(&town, &[]) {
            assert!(!text.contains("already exists"), "{text}");
            assert!(
                code == Some(0) || (code == Some(4) && text.contains("in use")),
                "{code:?}: {text}"
            );
            codes.push(code);
        }
        codes.sort();
        if codes == [Some(0), Some(0)] {
            // The second started only after the first had finished (a loaded machine).
            assert_eq!(town.report(RUN, "report.2.json")["outcome"], "already_done");
        } else {
            assert_eq!(codes, [Some(0), Some(4)], "exactly one wins");
        }
        let got = sent_keys(&town);
        let unique: BTreeSet<&String> = got.iter().collect();
        assert_eq!(unique.len(), got.len(), "a row sent twice");
    }

    let town = Town::new(40, 4, 1000);
    for (code, text) in two_at_once(&town, &["--wait-lock", "120"]) {
        assert_eq!(code, Some(0), "both end well: {text}");
    }
    let outcomes: BTreeSet<String> = ["report.json", "report.2.json"]
        .iter()
        .map(|r| town.report(RUN, r)["outcome"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        outcomes,
        BTreeSet::from(["sent".to_owned(), "already_done".to_owned()]),
        "the one that waited found the day done"
    );
    let got = sent_keys(&town);
    let unique: BTreeSet<&String> = got.iter().collect();
    assert_eq!(unique.len(), got.len(), "a row sent twice");
}

/// A ledger knows the pipeline it belongs to: another pipeline file pointed at it (or a copy of
/// it in another town's folder) is refused before anything is read or sent.
#[test]
fn another_pipelines_ledger_is_refused() {
    let (town, holdings) = settled_town();
    std::fs::copy(town.path("pipeline.toml"), town.path("other.toml")).unwrap();
    let other = run(pmhlink().arg("run").arg(town.path("other.toml")).args([
        "--date",
        "2025-06-02",
        "--quiet",
    ]));
    assert_eq!(other.status, 4, "{}{}", other.stdout, other.stderr);
    assert!(
        other
            .stderr
            .contains("belongs to pipeline 139998/pipeline, not 139998/other"),
        "{}",
        other.stderr
    );
    assert!(!town.path("outbox/139998-20250602-other").exists());
    let status = run(pmhlink().args(["status"]).arg(town.path("other.toml")));
    assert_eq!(status.status, 4, "{}", status.stderr);
    assert_eq!(town.holdings(), holdings, "the ledger is as it was");
}
