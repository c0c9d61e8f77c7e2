//! Shared fixtures: a fixed test key, generated rows (opaque bytes carrying a recognisable
//! marker, never personal data) and the run steps every test file drives.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;

use pmhlink_diff::{Action, RowKey};
use pmhlink_ledger::{
    Access, Keys, Ledger, MasterKey, NewRun, PlannedRow, RecordOutcome, RecordSettlement, RunState,
    Settlement, Staged,
};

/// A key made up for the tests.
pub const KEY_HEX: &str = "f0e1d2c3b4a5968778695a4b3c2d1e0f00112233445566778899aabbccddeeff";
pub const OTHER_KEY_HEX: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f0ffeeddccbbaa99887766554433221100";

/// Every generated content starts with this, so tests can look for it anywhere it must not be.
pub const MARKER: &str = "PMHLINK-TEST-MARKER-7c1f";

pub fn master() -> MasterKey {
    MasterKey::from_hex(KEY_HEX).unwrap()
}

pub fn open(path: &Path) -> Ledger {
    Ledger::open(path, &master(), Access::CreateOrOpen).unwrap()
}

pub fn keys() -> Keys {
    Keys::new(&master())
}

/// The row identified by the small number `k`.
pub fn row_key(k: u8) -> RowKey {
    keys().hash("test-row", &[&[k]])
}

/// Version `v` of row `k`; version 0 is the empty content an omission carries.
pub fn content(k: u8, v: u8) -> Vec<u8> {
    if v == 0 {
        return Vec::new();
    }
    let mut c = format!("{MARKER} row {k} version {v} ").into_bytes();
    c.extend((0..64u8).map(|i| i.wrapping_mul(k).wrapping_add(v)));
    c
}

pub fn digest(k: u8, v: u8) -> [u8; 16] {
    if v == 0 {
        [0; 16]
    } else {
        keys().digest(&content(k, v))
    }
}

pub fn shield(k: u8) -> [u8; 16] {
    keys().shield(&format!("r{k:07}"), "01")
}

pub fn hk_hash(k: u8) -> [u8; 16] {
    keys().history_key_hash(&format!("hk-{k}"))
}

pub fn new_run(l: &mut Ledger, run_id: &str) -> u32 {
    l.begin_run(&NewRun {
        run_id,
        business_date: "2025-04-01",
        kind: "diff",
        api: "e05",
        config_digest: "0000",
        plugins: serde_json::json!({}),
    })
    .unwrap()
}

pub fn planned(k: u8, action: Action, v: u8, content: &[u8]) -> PlannedRow<'_> {
    let omitted = v == 0;
    PlannedRow {
        key: row_key(k),
        action,
        digest: digest(k, v),
        shield: if omitted { [0; 16] } else { shield(k) },
        hk_hash: if omitted { [0; 16] } else { hk_hash(k) },
        content,
    }
}

/// begin_run, a plan of `rows` (row, action, version), commit. Returns the attempt.
pub fn plan_run(l: &mut Ledger, run_id: &str, rows: &[(u8, Action, u8)]) -> u32 {
    let attempt = new_run(l, run_id);
    let mut w = l.plan(run_id).unwrap();
    let contents: Vec<Vec<u8>> = rows.iter().map(|&(k, _, v)| content(k, v)).collect();
    for (&(k, action, v), c) in rows.iter().zip(&contents) {
        if action.uses_baseline_content() {
            // What the runner does: a kept or deleted row re-sends what PMH is believed to hold.
            assert_eq!(
                w.baseline_content(&row_key(k)).unwrap().as_deref(),
                Some(&c[..]),
                "baseline content of row {k} is not version {v}"
            );
        }
        w.add(&planned(k, action, v, c)).unwrap();
    }
    let sent = rows.iter().filter(|r| r.1.is_sent()).count() as u64;
    assert_eq!(w.rows(), (rows.len() as u64, sent));
    w.commit(attempt, &serde_json::json!({"sent": sent}))
        .unwrap();
    attempt
}

/// Stages the run's sent rows in batches of `per` (seq from 1). Returns (seq, records).
pub fn stage_all(l: &mut Ledger, run_id: &str, per: u32) -> Vec<(u32, u32)> {
    let sent = l.sent_rows(run_id, 0, u32::MAX).unwrap().len() as u64;
    let mut batches = Vec::new();
    let mut first = 0u64;
    let mut seq = 1u32;
    let receipts = vec!["sink-a:receipt".to_string()];
    while first < sent {
        let records = (sent - first).min(u64::from(per)) as u32;
        l.stage(&Staged {
            run_id,
            seq,
            api: "e05",
            first_position: first,
            records,
            bytes: 100 * u64::from(records),
            payload_sha256: "ab",
            receipts: &receipts,
        })
        .unwrap();
        batches.push((seq, records));
        first += u64::from(records);
        seq += 1;
    }
    batches
}

/// A result for batch `seq` of `run_id`: one letter per record, `A` accepted, `R` rejected;
/// `F` alone is a failed task. Records name the history key the batch sent there.
pub fn settlement(l: &Ledger, run_id: &str, seq: u32, result: &str) -> Settlement {
    if result == "F" {
        return Settlement::TaskFailed;
    }
    let hashes = l.submission_hk_hashes(run_id, seq).unwrap();
    assert_eq!(hashes.len(), result.len(), "batch {seq} of {run_id}");
    Settlement::Records(
        result
            .chars()
            .zip(hashes)
            .enumerate()
            .map(|(i, (c, h))| RecordSettlement {
                number: i as u32 + 1,
                // Every other record names its history key; results need not.
                hk_hash: (i % 2 == 0).then_some(h),
                outcome: match c {
                    'A' => RecordOutcome::Accepted,
                    'R' => RecordOutcome::Rejected {
                        codes: vec!["E1001".into(), "E2002".into()],
                        message: "a rule was broken".into(),
                    },
                    other => panic!("result letter {other}"),
                },
            })
            .collect(),
    )
}

/// Names rows by their (row, version) numbers for readable expectations: "1:1 2:3".
pub struct Names {
    keys: BTreeMap<RowKey, u8>,
    digests: BTreeMap<[u8; 16], (u8, u8)>,
}

impl Names {
    pub fn new() -> Names {
        let mut keys = BTreeMap::new();
        let mut digests = BTreeMap::new();
        for k in 0..32u8 {
            keys.insert(row_key(k), k);
            for v in 1..10u8 {
                digests.insert(digest(k, v), (k, v));
            }
        }
        Names { keys, digests }
    }

    fn name(&self, key: &RowKey, digest: &[u8; 16]) -> String {
        let k = self.keys[key];
        match self.digests.get(digest) {
            Some(&(dk, v)) if dk == k => format!("{k}:{v}"),
            _ => format!("{k}:?"),
        }
    }

    pub fn baseline(&self, l: &Ledger) -> String {
        let b = l.baseline().unwrap();
        for (key, row) in &b {
            assert_eq!(row.shield, shield(self.keys[key]), "shield kept");
        }
        self.sorted(b.iter().map(|(k, r)| self.name(k, &r.digest)))
    }

    pub fn rejected(&self, l: &Ledger) -> String {
        self.sorted(l.rejected().unwrap().iter().map(|(k, d)| self.name(k, d)))
    }

    fn sorted(&self, names: impl Iterator<Item = String>) -> String {
        let mut v: Vec<(u32, String)> = names
            .map(|n| (n.split(':').next().unwrap().parse().unwrap(), n))
            .collect();
        v.sort();
        v.into_iter().map(|(_, n)| n).collect::<Vec<_>>().join(" ")
    }
}

/// (accepted_rows, pending_rows, rejected_by_pmh, awaiting_results)
pub fn counts(l: &Ledger) -> [u64; 4] {
    let s = l.status(0).unwrap();
    [
        s.accepted_rows,
        s.pending_rows,
        s.rejected_by_pmh,
        s.awaiting_results.len() as u64,
    ]
}

pub fn run_state(l: &Ledger, run_id: &str) -> RunState {
    l.run(run_id).unwrap().unwrap().state
}

/// Everything a failed step must leave as it was.
pub fn snapshot(l: &Ledger) -> String {
    let s = l.status(100).unwrap();
    let names = Names::new();
    let mut subs = Vec::new();
    for r in &s.recent_runs {
        for sub in l.submissions(&r.run_id).unwrap() {
            subs.push(format!("{}#{}:{:?}", sub.run_id, sub.seq, sub.state));
        }
    }
    subs.sort();
    subs.dedup();
    format!(
        "accepted {} pending {} checks {} rejected {} unfinished {:?} awaiting {} runs {:?} \
         baseline [{}] rejected [{}] submissions {:?}",
        s.accepted_rows,
        s.pending_rows,
        s.quarantined_by_checks,
        s.rejected_by_pmh,
        s.unfinished_runs,
        s.awaiting_results.len(),
        s.recent_runs
            .iter()
            .map(|r| format!("{}/{}:{:?}", r.run_id, r.attempt, r.state))
            .collect::<Vec<_>>(),
        names.baseline(l),
        names.rejected(l),
        subs,
    )
}

/// The bytes of the ledger file and its write-ahead log, if any.
pub fn file_bytes(path: &Path) -> Vec<u8> {
    let mut bytes = std::fs::read(path).unwrap_or_default();
    let wal = format!("{}-wal", path.display());
    bytes.extend(std::fs::read(wal).unwrap_or_default());
    bytes
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
