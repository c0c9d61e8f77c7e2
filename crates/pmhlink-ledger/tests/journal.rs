//! The runs journal: which attempt decides a re-run, what is unfinished, what is recent.

mod common;

use common::*;
use pmhlink_diff::Action::*;
use pmhlink_ledger::{Ledger, RunState};

fn end(l: &mut Ledger, run: &str, attempt: u32, state: RunState) {
    l.end_run(
        run,
        attempt,
        state,
        &serde_json::json!({"n": attempt}),
        Some("why"),
    )
    .unwrap();
}

#[test]
fn the_deciding_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = open(&dir.path().join("ledger.sqlite"));
    assert!(l.run("d1").unwrap().is_none());
    // (what happens next to run "d1", the attempt and state run() then reports)
    type Act = fn(&mut Ledger) -> u32;
    let steps: &[(&str, Act, u32, RunState)] = &[
        (
            "a first attempt begins",
            |l| new_run(l, "d1"),
            1,
            RunState::Started,
        ),
        (
            "it is aborted",
            |l| {
                end(l, "d1", 1, RunState::Aborted);
                1
            },
            1,
            RunState::Aborted,
        ),
        (
            "a second is stopped by the guard",
            |l| {
                let a = new_run(l, "d1");
                end(l, "d1", a, RunState::Stopped);
                a
            },
            2,
            RunState::Stopped,
        ),
        (
            "a third commits its plan",
            |l| {
                let a = new_run(l, "d1");
                let mut w = l.plan("d1").unwrap();
                w.add(&planned(1, Register, 1, &content(1, 1))).unwrap();
                w.commit(a, &serde_json::json!({})).unwrap();
                a
            },
            3,
            RunState::Prepared,
        ),
        (
            "a later attempt is aborted: the committed one still decides",
            |l| {
                let a = new_run(l, "d1");
                end(l, "d1", a, RunState::Aborted);
                a
            },
            3,
            RunState::Prepared,
        ),
        (
            "and delivered",
            |l| {
                stage_all(l, "d1", 5);
                l.finish_delivery("d1", 3).unwrap();
                3
            },
            3,
            RunState::Delivered,
        ),
        (
            "another attempt begins",
            |l| new_run(l, "d1"),
            3,
            RunState::Delivered,
        ),
    ];
    for (what, act, attempt, state) in steps {
        act(&mut l);
        let run = l.run("d1").unwrap().unwrap();
        assert_eq!((run.attempt, run.state), (*attempt, *state), "{what}");
        assert!(l.run("d2").unwrap().is_none());
    }
    assert!(RunState::Delivered.is_committed() && !RunState::Aborted.is_committed());
    let recent = l.recent_runs(10).unwrap();
    assert_eq!(
        recent.iter().map(|r| r.attempt).collect::<Vec<_>>(),
        vec![5, 4, 3, 2, 1]
    );
    let first = recent.last().unwrap();
    assert_eq!(
        (
            first.kind.as_str(),
            first.api.as_str(),
            first.business_date.as_str()
        ),
        ("diff", "e05", "2025-04-01")
    );
    assert_eq!(first.counts, serde_json::json!({"n": 1}));
    assert_eq!(first.message.as_deref(), Some("why"));
    assert!(first.finished_at.is_some());
    assert!(recent[0].finished_at.is_none());
}

/// Runs ordered by when they started; runs started within the same second by run id (which
/// names the business date).
#[test]
fn unfinished_and_recent_runs_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite");
    let mut l = open(&path);
    // (run, what becomes of it)
    let runs: &[(&str, Option<RunState>)] = &[
        ("131-20250401-p", Some(RunState::Prepared)),
        ("131-20250402-p", None),
        ("131-20250403-p", Some(RunState::Prepared)),
        ("131-20250404-p", Some(RunState::Settled)),
        ("131-20250405-p", Some(RunState::Aborted)),
        ("131-20250406-p", Some(RunState::Prepared)),
    ];
    for (run, state) in runs {
        let a = new_run(&mut l, run);
        if let Some(s) = state {
            end(&mut l, run, a, *s);
        }
    }
    let ids =
        |v: Vec<pmhlink_ledger::RunRecord>| v.into_iter().map(|r| r.run_id).collect::<Vec<_>>();
    assert_eq!(
        ids(l.unfinished_runs().unwrap()),
        ["131-20250401-p", "131-20250403-p", "131-20250406-p"]
    );
    assert_eq!(l.status(0).unwrap().unfinished_runs.len(), 3);
    assert_eq!(
        ids(l.recent_runs(3).unwrap()),
        ["131-20250406-p", "131-20250405-p", "131-20250404-p"]
    );
    assert!(l.recent_runs(0).unwrap().is_empty());
    assert_eq!(l.status(4).unwrap().recent_runs.len(), 4);
    drop(l);

    // A clock that ran ahead: started_at, not the run id, orders runs.
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch(
        "UPDATE runs SET started_at = 2000000000 WHERE run_id = '131-20250401-p';
         UPDATE runs SET started_at = 1000000000 WHERE run_id != '131-20250401-p';",
    )
    .unwrap();
    drop(c);
    let l = open(&path);
    assert_eq!(
        ids(l.unfinished_runs().unwrap()),
        ["131-20250403-p", "131-20250406-p", "131-20250401-p"]
    );
    assert_eq!(ids(l.recent_runs(1).unwrap()), ["131-20250401-p"]);
}

/// A run's plan is written once, and only for an attempt the journal has begun.
#[test]
fn plans_are_written_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = open(&dir.path().join("ledger.sqlite"));
    // (run, how far it got, whether planning it again is refused)
    type Setup = fn(&mut Ledger, &str);
    let cases: &[(&str, Setup, bool)] = &[
        (
            "stopped",
            |l, r| {
                let a = new_run(l, r);
                end(l, r, a, RunState::Stopped);
            },
            false,
        ),
        (
            "aborted",
            |l, r| {
                let a = new_run(l, r);
                end(l, r, a, RunState::Aborted);
            },
            false,
        ),
        (
            "prepared",
            |l, r| {
                plan_run(l, r, &[(1, Register, 1)]);
            },
            true,
        ),
        (
            "delivered",
            |l, r| {
                plan_run(l, r, &[(1, Register, 1)]);
                stage_all(l, r, 5);
                l.finish_delivery(r, 1).unwrap();
            },
            true,
        ),
        (
            "settled",
            |l, r| {
                plan_run(l, r, &[]);
                l.finish_delivery(r, 1).unwrap();
            },
            true,
        ),
    ];
    for (run, setup, refused) in cases {
        setup(&mut l, run);
        let before = snapshot(&l);
        let attempt = new_run(&mut l, run);
        let refusal = match l.plan(run) {
            Ok(mut w) => {
                w.add(&planned(2, Register, 1, &content(2, 1))).unwrap();
                w.commit(attempt, &serde_json::json!({})).unwrap();
                None
            }
            Err(e) => Some(e),
        };
        match refusal {
            None => {
                assert!(!refused, "{run}");
                assert_eq!(run_state(&l, run), RunState::Prepared);
            }
            Some(e) => {
                assert!(refused, "{run}: {e}");
                let text = e.to_string();
                assert!(
                    text.contains(&format!("run {run} already has a plan")),
                    "{text}"
                );
                let after = snapshot(&l);
                assert_eq!(
                    after.replace(&format!("\"{run}/{attempt}:Started\", "), ""),
                    before,
                    "{run}"
                );
            }
        }
    }

    // Committing for an attempt the journal does not have (or has already committed) writes
    // nothing.
    let a = new_run(&mut l, "guarded");
    end(&mut l, "guarded", a, RunState::Stopped);
    new_run(&mut l, "begun");
    for (run, attempt) in [("unjournaled", 1), ("guarded", 1), ("begun", 9)] {
        let before = snapshot(&l);
        let mut w = l.plan(run).unwrap();
        w.add(&planned(3, Register, 1, &content(3, 1))).unwrap();
        let err = w.commit(attempt, &serde_json::json!({})).unwrap_err();
        assert!(err.to_string().contains("nothing was planned"), "{err}");
        assert_eq!(snapshot(&l), before, "{run}");
    }
}
