//! Whatever a plan seals comes back from sent_rows exactly, in order, and only the rows sent.

mod common;

use common::*;
use pmhlink_diff::Action;
use pmhlink_ledger::PlannedRow;
use proptest::prelude::*;

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        Just(Action::Register),
        Just(Action::Update),
        Just(Action::Resend),
        Just(Action::Keep),
        Just(Action::Delete),
        Just(Action::Omit),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn sent_rows_return_what_was_sealed(
        rows in prop::collection::vec((action(), prop::collection::vec(any::<u8>(), 0..2048)), 0..40),
        page in 1u32..8,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.sqlite");
        let mut l = open(&path);
        let attempt = new_run(&mut l, "p1");
        let keys = keys();
        let mut w = l.plan("p1").unwrap();
        for (i, (action, content)) in rows.iter().enumerate() {
            w.add(&PlannedRow {
                key: keys.hash("prop-row", &[&(i as u32).to_le_bytes()]),
                action: *action,
                digest: keys.digest(content),
                shield: [7; 16],
                hk_hash: [i as u8; 16],
                content,
            })
            .unwrap();
        }
        w.commit(attempt, &serde_json::json!({})).unwrap();
        drop(l);
        let l = open(&path);

        let want: Vec<&(Action, Vec<u8>)> = rows.iter().filter(|r| r.0.is_sent()).collect();
        // Read in pages, as delivery does.
        let mut got = Vec::new();
        loop {
            let next = l.sent_rows("p1", got.len() as u64, page).unwrap();
            prop_assert!(next.len() <= page as usize);
            if next.is_empty() {
                break;
            }
            got.extend(next);
        }
        prop_assert_eq!(got.len(), want.len());
        for (i, (row, (action, content))) in got.iter().zip(want).enumerate() {
            prop_assert_eq!(row.position, i as u64);
            prop_assert_eq!(row.action, *action);
            prop_assert_eq!(&row.content, content);
        }
        prop_assert_eq!(l.status(0).unwrap().pending_rows, got.len() as u64);
    }
}
