//! Results that do not fit the batch they claim to answer: each is refused as a whole, names
//! the batch and the run, and leaves the ledger as it was.

mod common;

use common::*;
use pmhlink_diff::Action::*;
use pmhlink_ledger::{LedgerError, RecordOutcome, RecordSettlement, Settlement};

fn accepted(number: u32, hk: Option<[u8; 16]>) -> RecordSettlement {
    RecordSettlement {
        number,
        hk_hash: hk,
        outcome: RecordOutcome::Accepted,
    }
}

fn rejected(number: u32) -> RecordSettlement {
    RecordSettlement {
        number,
        hk_hash: None,
        outcome: RecordOutcome::Rejected {
            codes: vec!["E9".into()],
            message: "rule".into(),
        },
    }
}

/// r1: batch 1 settled (rows 1, 2), batch 2 (rows 3, 4, 5) delivered and awaiting.
/// r2: batch 1 (row 6) staged, never made final.
fn setup(path: &std::path::Path) {
    let mut l = open(path);
    plan_run(
        &mut l,
        "r1",
        &[
            (1, Register, 1),
            (2, Register, 1),
            (3, Register, 1),
            (4, Register, 1),
            (5, Register, 1),
        ],
    );
    // Batches of 2, 2 and 1.
    assert_eq!(stage_all(&mut l, "r1", 2), vec![(1, 2), (2, 2), (3, 1)]);
    l.finish_delivery("r1", 1).unwrap();
    let s = settlement(&l, "r1", 1, "AA");
    l.settle("r1", 1, &s, "first-result").unwrap();
    plan_run(&mut l, "r2", &[(6, Register, 1)]);
    stage_all(&mut l, "r2", 5);
}

#[test]
fn mismatched_results_change_nothing() {
    let hk = |k| Some(hk_hash(k));
    // (case, run, seq, the result, what the message says)
    let cases: Vec<(&str, &str, u32, Settlement, &str)> = vec![
        (
            "too few records",
            "r1",
            2,
            Settlement::Records(vec![accepted(1, hk(3))]),
            "the result has 1 records, the batch sent 2",
        ),
        (
            "too many records",
            "r1",
            2,
            Settlement::Records(vec![
                accepted(1, None),
                accepted(2, None),
                accepted(3, None),
            ]),
            "the result has 3 records, the batch sent 2",
        ),
        (
            "no records",
            "r1",
            2,
            Settlement::Records(vec![]),
            "the result has 0 records",
        ),
        (
            "record number 0",
            "r1",
            2,
            Settlement::Records(vec![accepted(1, None), accepted(0, None)]),
            "record number 0 is outside the batch (1–2)",
        ),
        (
            "record number past the batch",
            "r1",
            2,
            Settlement::Records(vec![accepted(1, hk(3)), accepted(3, None)]),
            "record number 3 is outside the batch",
        ),
        (
            "a huge record number",
            "r1",
            2,
            Settlement::Records(vec![accepted(u32::MAX, None), accepted(1, None)]),
            "outside the batch",
        ),
        (
            "a number twice",
            "r1",
            2,
            Settlement::Records(vec![accepted(2, hk(4)), rejected(2)]),
            "record number 2 appears twice",
        ),
        (
            "another history key at a position",
            "r1",
            2,
            Settlement::Records(vec![accepted(1, hk(3)), accepted(2, hk(5))]),
            "record 2 names a different history key",
        ),
        (
            "history keys swapped",
            "r1",
            2,
            Settlement::Records(vec![accepted(2, hk(3)), accepted(1, hk(4))]),
            "different history key",
        ),
        (
            "already imported",
            "r1",
            1,
            Settlement::Records(vec![accepted(1, None), accepted(2, None)]),
            "already imported",
        ),
        (
            "already imported, as a failed task",
            "r1",
            1,
            Settlement::TaskFailed,
            "already imported",
        ),
        (
            "a batch still staged",
            "r2",
            1,
            Settlement::Records(vec![accepted(1, hk(6))]),
            "never made final",
        ),
        (
            "an unknown batch",
            "r1",
            9,
            Settlement::TaskFailed,
            "no such batch",
        ),
        (
            "an unknown run",
            "nope",
            1,
            Settlement::Records(vec![accepted(1, None)]),
            "no such batch",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite");
    setup(&path);
    let mut l = open(&path);
    // Batch 2 of r1 is rows 3 and 4; batch 3 is row 5.
    assert_eq!(
        l.submission_hk_hashes("r1", 2).unwrap(),
        vec![hk_hash(3), hk_hash(4)]
    );
    assert_eq!(
        l.submission_hk_hashes("r1", 9).unwrap(),
        Vec::<[u8; 16]>::new()
    );
    let before = snapshot(&l);
    for (case, run, seq, settlement, says) in &cases {
        let err = l.settle(run, *seq, settlement, "some-result").unwrap_err();
        let LedgerError::ResultMismatch { message, .. } = &err else {
            panic!("{case}: {err:?}");
        };
        assert!(
            message.starts_with(&format!("batch {seq} of run {run}: ")),
            "{case}: {message}"
        );
        assert!(message.contains(says), "{case}: {message}");
        let text = err.to_string();
        assert!(text.contains("nothing was settled"), "{case}: {text}");
        assert!(!text.contains(MARKER) && !format!("{err:?}").contains(MARKER));
        assert_eq!(snapshot(&l), before, "{case}: the ledger changed");
    }
    // The batch still settles with its right result, once; numbers may come in any order.
    let right = Settlement::Records(vec![rejected(2), accepted(1, Some(hk_hash(3)))]);
    l.settle("r1", 2, &right, "right").unwrap();
    let again = l.settle("r1", 2, &right, "right").unwrap_err();
    assert!(again.to_string().contains("already imported"), "{again}");
    assert_eq!(Names::new().rejected(&l), "4:1");
    drop(l);
    let l = open(&path);
    assert_eq!(Names::new().baseline(&l), "1:1 2:1 3:1 5:1 6:1");
}
