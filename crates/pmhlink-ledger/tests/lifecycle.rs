//! The run lifecycle as scenarios: plan → deliver → settle, with what the ledger believes PMH
//! holds checked after each step.

mod common;

use common::*;
use pmhlink_diff::Action::{self, *};
use pmhlink_ledger::{RunState, Settled};

#[derive(Clone, Copy, Debug)]
enum Step {
    /// begin_run, plan these (row, action, version) and commit.
    Plan(&'static str, &'static [(u8, Action, u8)]),
    /// begin_run, plan these and drop the writer without committing.
    Abandon(&'static str, &'static [(u8, Action, u8)]),
    /// Stage the run's sent rows in batches of this many and finish delivery: the run's
    /// state afterwards.
    Deliver(&'static str, u32, RunState),
    /// Settle batch `seq` with a result ("AAR": accepted, accepted, rejected; "F": the task
    /// failed); whether the run settled with it.
    Settle(&'static str, u32, &'static str, bool),
    /// baseline() as "row:version …", rejected() likewise, and
    /// [accepted_rows, pending_rows, rejected_by_pmh, awaiting_results].
    Expect(&'static str, &'static str, [u64; 4]),
    State(&'static str, RunState),
}
use Step::*;

const SCENARIOS: &[(&str, &[Step])] = &[
    (
        "register, update and delete, each held once accepted",
        &[
            Plan(
                "r1",
                &[(1, Register, 1), (2, Register, 1), (3, Register, 1)],
            ),
            // In flight: a pending registration already counts as held.
            Expect("1:1 2:1 3:1", "", [0, 3, 0, 0]),
            State("r1", RunState::Prepared),
            Deliver("r1", 2, RunState::Delivered),
            Expect("1:1 2:1 3:1", "", [0, 3, 0, 2]),
            Settle("r1", 1, "AA", false),
            Expect("1:1 2:1 3:1", "", [2, 1, 0, 1]),
            State("r1", RunState::Delivered),
            Settle("r1", 2, "A", true),
            Expect("1:1 2:1 3:1", "", [3, 0, 0, 0]),
            State("r1", RunState::Settled),
            Plan("r2", &[(1, Update, 2), (3, Delete, 1)]),
            // A pending update overlays the accepted version, a pending delete removes it.
            Expect("1:2 2:1", "", [3, 2, 0, 0]),
            Deliver("r2", 10, RunState::Delivered),
            Settle("r2", 1, "AA", true),
            Expect("1:2 2:1", "", [2, 0, 0, 0]),
            State("r2", RunState::Settled),
        ],
    ),
    (
        "a rejection quarantines the content and rolls the overlay back",
        &[
            Plan("r1", &[(1, Register, 1), (2, Register, 1)]),
            Deliver("r1", 5, RunState::Delivered),
            Settle("r1", 1, "AR", true),
            Expect("1:1", "2:1", [1, 0, 1, 0]),
            Plan("r2", &[(1, Update, 2)]),
            Deliver("r2", 5, RunState::Delivered),
            Expect("1:2", "2:1", [1, 1, 1, 1]),
            Settle("r2", 1, "R", true),
            // The refused update leaves the accepted version held, and replaces nothing.
            Expect("1:1", "1:2 2:1", [1, 0, 2, 0]),
            // A changed registration accepted answers the refusal.
            Plan("r3", &[(2, Register, 2)]),
            Deliver("r3", 5, RunState::Delivered),
            Settle("r3", 1, "A", true),
            Expect("1:1 2:2", "1:2", [2, 0, 1, 0]),
        ],
    ),
    (
        "only new content clears a rejection: keep and resend do not",
        &[
            Plan("r1", &[(1, Register, 1), (2, Register, 1)]),
            Deliver("r1", 5, RunState::Delivered),
            Settle("r1", 1, "AA", true),
            Plan("r2", &[(2, Update, 2)]),
            Deliver("r2", 5, RunState::Delivered),
            Settle("r2", 1, "R", true),
            Expect("1:1 2:1", "2:2", [2, 0, 1, 0]),
            Plan("r3", &[(1, Resend, 1), (2, Keep, 1)]),
            Deliver("r3", 5, RunState::Delivered),
            Settle("r3", 1, "AA", true),
            Expect("1:1 2:1", "2:2", [2, 0, 1, 0]),
            Plan("r4", &[(1, Resend, 1), (2, Resend, 1)]),
            Deliver("r4", 1, RunState::Delivered),
            Settle("r4", 2, "A", false),
            Settle("r4", 1, "A", true),
            Expect("1:1 2:1", "2:2", [2, 0, 1, 0]),
            Plan("r5", &[(2, Update, 3)]),
            Deliver("r5", 5, RunState::Delivered),
            Settle("r5", 1, "A", true),
            Expect("1:1 2:3", "", [2, 0, 0, 0]),
        ],
    ),
    (
        "a refused deletion keeps the row; an accepted one clears the refusal",
        &[
            Plan("r1", &[(1, Register, 1), (2, Register, 1)]),
            Deliver("r1", 5, RunState::Delivered),
            Settle("r1", 1, "AA", true),
            Plan("r2", &[(1, Delete, 1)]),
            Expect("2:1", "", [2, 1, 0, 0]),
            Deliver("r2", 5, RunState::Delivered),
            Settle("r2", 1, "R", true),
            Expect("1:1 2:1", "1:1", [2, 0, 1, 0]),
            Plan("r3", &[(1, Delete, 1)]),
            Deliver("r3", 5, RunState::Delivered),
            Settle("r3", 1, "A", true),
            Expect("2:1", "", [1, 0, 0, 0]),
        ],
    ),
    (
        "omitted rows are forgotten only when the whole run has settled",
        &[
            Plan(
                "r1",
                &[(1, Register, 1), (2, Register, 1), (3, Register, 1)],
            ),
            Deliver("r1", 5, RunState::Delivered),
            Settle("r1", 1, "AAA", true),
            Plan("r2", &[(1, Resend, 1), (2, Omit, 0), (3, Resend, 1)]),
            // Omission is not sent and not pending, but the baseline already lacks the row.
            Expect("1:1 3:1", "", [3, 2, 0, 0]),
            Deliver("r2", 1, RunState::Delivered),
            Settle("r2", 1, "A", false),
            Expect("1:1 3:1", "", [3, 1, 0, 1]),
            Settle("r2", 2, "A", true),
            Expect("1:1 3:1", "", [2, 0, 0, 0]),
            State("r2", RunState::Settled),
        ],
    ),
    (
        "a failed task sends its rows again next time; its run still settles",
        &[
            Plan(
                "r1",
                &[(1, Register, 1), (2, Register, 1), (3, Register, 1)],
            ),
            Deliver("r1", 2, RunState::Delivered),
            Settle("r1", 1, "F", false),
            // The failed batch is no longer in flight.
            Expect("3:1", "", [0, 1, 0, 1]),
            Settle("r1", 2, "A", true),
            Expect("3:1", "", [1, 0, 0, 0]),
            State("r1", RunState::Settled),
            Plan("r2", &[(1, Register, 1), (2, Register, 1), (3, Update, 2)]),
            Deliver("r2", 3, RunState::Delivered),
            Settle("r2", 1, "F", true),
            // A failed update leaves the accepted version held.
            Expect("3:1", "", [1, 0, 0, 0]),
        ],
    ),
    (
        "runs in flight overlay in run order",
        &[
            Plan("r1", &[(1, Register, 1), (2, Register, 1)]),
            Deliver("r1", 5, RunState::Delivered),
            Plan("r2", &[(1, Update, 2), (2, Delete, 1)]),
            Expect("1:2", "", [0, 4, 0, 1]),
            Plan("r3", &[(1, Update, 3), (2, Register, 2)]),
            Expect("1:3 2:2", "", [0, 6, 0, 1]),
            Deliver("r2", 5, RunState::Delivered),
            Deliver("r3", 5, RunState::Delivered),
            Settle("r1", 1, "AA", true),
            Expect("1:3 2:2", "", [2, 4, 0, 2]),
            // Results out of order: r3's accepted versions supersede r2's, still in flight.
            Settle("r3", 1, "AA", true),
            Expect("1:3 2:2", "", [2, 2, 0, 1]),
            // r2's result comes last, but PMH applied r2 before r3: the newer versions stay.
            Settle("r2", 1, "AA", true),
            Expect("1:3 2:2", "", [2, 0, 0, 0]),
        ],
    ),
    (
        "a refusal of a version already replaced is not quarantined",
        &[
            Plan("r1", &[(1, Register, 1), (2, Register, 1)]),
            Deliver("r1", 5, RunState::Delivered),
            Plan("r2", &[(1, Update, 2), (2, Update, 2)]),
            Deliver("r2", 5, RunState::Delivered),
            Settle("r2", 1, "AA", true),
            Expect("1:2 2:2", "", [2, 2, 0, 1]),
            Settle("r1", 1, "RA", true),
            Expect("1:2 2:2", "", [2, 0, 0, 0]),
        ],
    ),
    (
        "a row omitted, then registered again by a later run settled first, stays",
        &[
            Plan("r1", &[(1, Register, 1), (2, Register, 1)]),
            Deliver("r1", 5, RunState::Delivered),
            Settle("r1", 1, "AA", true),
            Plan("r2", &[(1, Resend, 1), (2, Omit, 0)]),
            Deliver("r2", 5, RunState::Delivered),
            Plan("r3", &[(2, Register, 2)]),
            Deliver("r3", 5, RunState::Delivered),
            Settle("r3", 1, "A", true),
            Expect("1:1 2:2", "", [2, 1, 0, 1]),
            Settle("r2", 1, "A", true),
            Expect("1:1 2:2", "", [2, 0, 0, 0]),
        ],
    ),
    (
        "an abandoned plan leaves nothing; nothing to send settles at once",
        &[
            Plan("r1", &[(1, Register, 1)]),
            Deliver("r1", 5, RunState::Delivered),
            Settle("r1", 1, "A", true),
            Abandon("r2", &[(1, Delete, 1), (2, Register, 1)]),
            Expect("1:1", "", [1, 0, 0, 0]),
            State("r2", RunState::Started),
            Plan("r3", &[]),
            State("r3", RunState::Prepared),
            Deliver("r3", 5, RunState::Settled),
            Expect("1:1", "", [1, 0, 0, 0]),
            Plan("r4", &[(1, Omit, 0)]),
            Expect("", "", [1, 0, 0, 0]),
            Deliver("r4", 5, RunState::Settled),
            Expect("", "", [0, 0, 0, 0]),
        ],
    ),
];

#[test]
fn scenarios() {
    let names = Names::new();
    for (name, steps) in SCENARIOS {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.sqlite");
        let mut l = open(&path);
        // What each run planned to send, in order, to check sent_rows against.
        let mut sent_by_run: std::collections::HashMap<&str, Vec<(Action, Vec<u8>)>> =
            Default::default();
        let mut planned_keys: std::collections::HashMap<&str, Vec<u8>> = Default::default();
        for (i, step) in steps.iter().enumerate() {
            let at = format!("{name}, step {i} {step:?}");
            match *step {
                Plan(run, rows) => {
                    plan_run(&mut l, run, rows);
                    sent_by_run.insert(
                        run,
                        rows.iter()
                            .filter(|r| r.1.is_sent())
                            .map(|&(k, a, v)| (a, content(k, v)))
                            .collect(),
                    );
                    planned_keys.insert(
                        run,
                        rows.iter().filter(|r| r.1.is_sent()).map(|r| r.0).collect(),
                    );
                }
                Abandon(run, rows) => {
                    new_run(&mut l, run);
                    let mut w = l.plan(run).unwrap();
                    for &(k, a, v) in rows {
                        w.add(&planned(k, a, v, &content(k, v))).unwrap();
                    }
                    drop(w);
                    assert!(l.sent_rows(run, 0, 100).unwrap().is_empty(), "{at}");
                }
                Deliver(run, per, state) => {
                    let sent = l.sent_rows(run, 0, u32::MAX).unwrap();
                    let want = &sent_by_run[run];
                    assert_eq!(sent.len(), want.len(), "{at}");
                    for (j, (row, (action, content))) in sent.iter().zip(want).enumerate() {
                        assert_eq!(row.position, j as u64, "{at}");
                        assert_eq!(row.action, *action, "{at}");
                        assert_eq!(&row.content, content, "{at}");
                    }
                    // Paging from a position gives the rest.
                    if sent.len() > 1 {
                        let rest = l.sent_rows(run, 1, 1).unwrap();
                        assert_eq!(rest.len(), 1);
                        assert_eq!(rest[0].position, 1);
                    }
                    let batches = stage_all(&mut l, run, per);
                    let mut first = 0;
                    for &(seq, records) in &batches {
                        // A result is matched to its batch by the history keys sent there.
                        let hashes = l.submission_hk_hashes(run, seq).unwrap();
                        let want: Vec<[u8; 16]> = planned_keys[run]
                            [first..first + records as usize]
                            .iter()
                            .map(|&k| hk_hash(k))
                            .collect();
                        assert_eq!(hashes, want, "{at}");
                        first += records as usize;
                    }
                    let attempt = l.run(run).unwrap().unwrap().attempt;
                    assert_eq!(l.finish_delivery(run, attempt).unwrap(), state, "{at}");
                    assert_eq!(run_state(&l, run), state, "{at}");
                }
                Settle(run, seq, result, run_settled) => {
                    let s = settlement(&l, run, seq, result);
                    let got = l.settle(run, seq, &s, "result-sha").unwrap();
                    let want = if result == "F" {
                        Settled {
                            failed: l.submissions(run).unwrap()[seq as usize - 1].records.into(),
                            run_settled,
                            ..Settled::default()
                        }
                    } else {
                        Settled {
                            accepted: result.matches('A').count() as u64,
                            rejected: result.matches('R').count() as u64,
                            failed: 0,
                            run_settled,
                        }
                    };
                    assert_eq!(got, want, "{at}");
                    if run_settled {
                        // The plan is gone: the accepted rows hold the content now.
                        assert!(l.sent_rows(run, 0, 100).unwrap().is_empty(), "{at}");
                        assert_eq!(run_state(&l, run), RunState::Settled, "{at}");
                    }
                }
                Expect(baseline, rejected, want) => {
                    assert_eq!(names.baseline(&l), baseline, "{at}: baseline");
                    assert_eq!(names.rejected(&l), rejected, "{at}: rejected");
                    assert_eq!(counts(&l), want, "{at}: counts");
                }
                State(run, state) => assert_eq!(run_state(&l, run), state, "{at}"),
            }
        }
        // Whatever a scenario did survives closing and reopening.
        let before = snapshot(&l);
        drop(l);
        let l = open(&path);
        assert_eq!(snapshot(&l), before, "{name}: reopened");
    }
}

/// What a kept or deleted row re-sends is the last version sent: in flight first, else held.
#[test]
fn baseline_content_follows_the_overlay() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite");
    let mut l = open(&path);
    assert_eq!(l.baseline_content(&row_key(1)).unwrap(), None);
    plan_run(&mut l, "r1", &[(1, Register, 1), (2, Register, 1)]);
    stage_all(&mut l, "r1", 10);
    l.finish_delivery("r1", 1).unwrap();
    let s = settlement(&l, "r1", 1, "AA");
    l.settle("r1", 1, &s, "x").unwrap();

    // (plan of the next run, row asked for, the version expected)
    type Plan = &'static [(u8, Action, u8)];
    let cases: &[(Plan, u8, Option<u8>)] = &[
        (&[], 1, Some(1)),
        (&[(1, Update, 2)], 1, Some(2)),
        (&[(1, Update, 3)], 1, Some(3)),
        // A pending deletion sends the held content; it is not new content itself.
        (&[(1, Delete, 3)], 1, Some(3)),
        (&[(2, Omit, 0)], 2, Some(1)),
        (&[], 3, None),
    ];
    for (i, (rows, k, want)) in cases.iter().enumerate() {
        plan_run(&mut l, &format!("r{}", i + 2), rows);
        assert_eq!(
            l.baseline_content(&row_key(*k)).unwrap(),
            want.map(|v| content(*k, v)),
            "case {i}"
        );
    }
}
