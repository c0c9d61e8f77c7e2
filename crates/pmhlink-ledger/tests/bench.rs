//! `cargo test -p pmhlink-ledger --release --test bench -- --ignored --nocapture`
//!
//! A full-size day: how long the ledger takes to plan, deliver, settle and read back a
//! municipality's worth of rows.

mod common;

use std::time::Instant;

use common::*;
use pmhlink_diff::Action;
use pmhlink_ledger::{PlannedRow, RecordOutcome, RecordSettlement, RunState, Settlement};

const ROWS: u32 = 1_800_000;
const SIZE: usize = 450;
const PER_BATCH: u32 = 1000;

#[test]
#[ignore = "measurement: 1.8M rows, several minutes and a few GB of disk; run in release"]
fn full_size_day() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite");
    let keys = keys();
    let secs = |t: Instant| t.elapsed().as_secs_f64();
    let mut l = open(&path);

    let start = Instant::now();
    let attempt = new_run(&mut l, "day1");
    let mut w = l.plan("day1").unwrap();
    let mut content = vec![0u8; SIZE];
    for i in 0..ROWS {
        // Varied bytes, so nothing compresses or repeats by accident.
        for (j, b) in content.iter_mut().enumerate() {
            *b = (i as usize).wrapping_mul(31).wrapping_add(j * 7) as u8;
        }
        let id = i.to_le_bytes();
        w.add(&PlannedRow {
            key: keys.hash("bench-row", &[&id]),
            action: Action::Register,
            digest: keys.digest(&content),
            shield: keys.hash("bench-shield", &[&id]),
            hk_hash: keys.history_key_hash(&i.to_string()),
            content: &content,
        })
        .unwrap();
    }
    w.commit(attempt, &serde_json::json!({})).unwrap();
    let plan = secs(start);
    eprintln!("plan: {plan:.1}s");
    let planned_size = l.size_bytes();

    let start = Instant::now();
    let mut position = 0u64;
    let mut read = 0u64;
    loop {
        let rows = l.sent_rows("day1", position, 16_384).unwrap();
        let Some(last) = rows.last() else { break };
        position = last.position + 1;
        read += rows.len() as u64;
    }
    assert_eq!(read, u64::from(ROWS));
    let read_sent = secs(start);
    eprintln!("read_sent: {read_sent:.1}s");

    let start = Instant::now();
    let batches = stage_all(&mut l, "day1", PER_BATCH);
    assert_eq!(
        l.finish_delivery("day1", attempt).unwrap(),
        RunState::Delivered
    );
    let stage = secs(start);
    eprintln!("stage: {stage:.1}s");

    let start = Instant::now();
    for &(seq, records) in &batches {
        let hashes = l.submission_hk_hashes("day1", seq).unwrap();
        assert_eq!(hashes.len(), records as usize);
        let s = Settlement::Records(
            hashes
                .into_iter()
                .enumerate()
                .map(|(i, h)| RecordSettlement {
                    number: i as u32 + 1,
                    hk_hash: Some(h),
                    outcome: RecordOutcome::Accepted,
                })
                .collect(),
        );
        l.settle("day1", seq, &s, "bench").unwrap();
    }
    let settle = secs(start);
    eprintln!("settle: {settle:.1}s");
    assert_eq!(run_state(&l, "day1"), RunState::Settled);
    let settled_size = l.size_bytes();

    let start = Instant::now();
    let baseline = l.baseline().unwrap();
    let load = secs(start);
    eprintln!("load: {load:.1}s");
    assert_eq!(baseline.len(), ROWS as usize);
    drop(baseline);

    // A re-sent row and a deletion look up their held content by key.
    let start = Instant::now();
    for i in (0..ROWS).step_by(1800) {
        let key = keys.hash("bench-row", &[&i.to_le_bytes()]);
        assert!(l.baseline_content(&key).unwrap().is_some());
    }
    let lookups = secs(start);
    eprintln!("lookups: {lookups:.1}s");

    drop(l);
    let closed_size = std::fs::metadata(&path).unwrap().len();
    let start = Instant::now();
    let l = open(&path);
    let reopen = secs(start);
    eprintln!("reopen: {reopen:.1}s");
    assert_eq!(l.status(0).unwrap().accepted_rows, u64::from(ROWS));

    let mb = |b: u64| b as f64 / 1e6;
    println!(
        "{ROWS} rows x {SIZE} B: plan+commit {plan:.1}s, sent_rows read {read_sent:.1}s, \
         stage+finish {} batches {stage:.1}s, settle all accepted {settle:.1}s, \
         baseline() {load:.1}s, 1000 baseline_content {lookups:.2}s, reopen {reopen:.1}s; \
         size planned {:.0} MB (with WAL), settled {:.0} MB (with WAL), closed {:.0} MB",
        batches.len(),
        mb(planned_size),
        mb(settled_size),
        mb(closed_size),
    );
}
