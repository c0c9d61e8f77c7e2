//! `cargo xtask bench-ledger`: the diff and the ledger at a large city's scale, without the
//! sources and plugins in the way. Day 1 fills a ledger with every generated certificate's
//! history rows as PMH would have accepted them; day 2 is the same city with 1 % of the rows
//! changed and 0.1 % gone, and the timed part is what a daily run adds to reading: keys and
//! digests of every row, the baseline load, the diff, the guard and the plan's commit.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use pmhlink_diff::{Action, Decision, Differ, GuardPolicy, SyncKind};
use pmhlink_ledger::{
    Access, Keys, Ledger, MasterKey, NewRun, PlannedRow, RecordOutcome, RecordSettlement,
    Settlement, Staged,
};
use pmhlink_model::Record;
use pmhlink_synth::{Synth, SynthConfig};

use crate::bench::rusage;

#[derive(Args, Debug, Clone)]
pub struct LedgerBenchArgs {
    #[arg(long, default_value_t = 1_000_000)]
    certificates: u64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Share of rows whose content changes on day 2.
    #[arg(long, default_value_t = 0.01)]
    changed: f64,
    /// Share of rows gone on day 2.
    #[arg(long, default_value_t = 0.001)]
    deleted: f64,
    /// Working directory (default: target/bench-ledger).
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// The city's history rows as clean records, in generation order.
fn records(args: &LedgerBenchArgs) -> Vec<Record> {
    let synth = Synth::new(SynthConfig {
        seed: args.seed,
        certificates: args.certificates,
        dirty: 0.0,
        ..SynthConfig::default()
    });
    let mut out = Vec::new();
    for person in synth.people() {
        out.extend(pmhlink_synth::expected_rows(&person).map(|e| e.record));
    }
    out
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Keys, digest and content of one row, as the mapping threads compute them in a run.
struct Keyed {
    key: [u8; 16],
    digest: [u8; 16],
    shield: [u8; 16],
    hk_hash: [u8; 16],
    content: Vec<u8>,
}

fn keyed(keys: &Keys, r: &Record) -> Keyed {
    let mut content = Vec::with_capacity(512);
    pmhlink_model::encode_content(r, &mut content);
    let hk = r.history.as_ref().map_or("", |h| h.key.as_str());
    let rn = r.receipt.recipient_number.as_deref().unwrap_or("");
    let sk = r.receipt.sub_key.as_deref().unwrap_or("");
    Keyed {
        key: keys.row_key(&r.certificate_id(), hk),
        digest: keys.digest(&content),
        shield: keys.shield(rn, sk),
        hk_hash: keys.history_key_hash(hk),
        content,
    }
}

pub fn run(args: &LedgerBenchArgs) -> Result<(), String> {
    // Measured in the release build only: `cargo xtask` runs a debug xtask, which hands over.
    if cfg!(debug_assertions) {
        crate::demo::cargo(&["build", "--release", "--quiet", "-p", "xtask"])?;
        let mut cmd =
            std::process::Command::new(crate::demo::target_dir().join("release").join("xtask"));
        cmd.args(std::env::args_os().skip(1));
        let status = cmd.status().map_err(err)?;
        return if status.success() {
            Ok(())
        } else {
            Err(format!("bench-ledger failed ({status})"))
        };
    }
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| crate::demo::target_dir().join("bench-ledger"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(err)?;
    let path = dir.join("ledger.sqlite");
    let master = MasterKey::generate_file(&dir.join("ledger.key")).map_err(err)?;

    let t = Instant::now();
    let mut day1 = records(args);
    println!(
        "bench-ledger: {} certificates → {} history rows generated in {:.1} s",
        args.certificates,
        day1.len(),
        t.elapsed().as_secs_f64()
    );

    // Day 1: the first upload, accepted whole.
    let t = Instant::now();
    let mut ledger = Ledger::open(&path, &master, Access::CreateOrOpen).map_err(err)?;
    let keys = ledger.keys().clone();
    let attempt = ledger
        .begin_run(&NewRun {
            run_id: "day1",
            business_date: "2025-06-01",
            kind: "diff",
            api: "E06",
            config_digest: "",
            plugins: serde_json::json!({}),
        })
        .map_err(err)?;
    {
        let mut plan = ledger.plan("day1").map_err(err)?;
        for r in &day1 {
            let k = keyed(&keys, r);
            plan.add(&PlannedRow {
                key: k.key,
                action: Action::Register,
                digest: k.digest,
                shield: k.shield,
                hk_hash: k.hk_hash,
                content: &k.content,
            })
            .map_err(err)?;
        }
        plan.commit(attempt, &serde_json::json!({})).map_err(err)?;
    }
    let planned = t.elapsed();
    let t = Instant::now();
    let batch = 1000u64;
    let rows = day1.len() as u64;
    let batches = rows.div_ceil(batch);
    for seq in 0..batches {
        let first = seq * batch;
        ledger
            .stage(&Staged {
                run_id: "day1",
                seq: seq as u32 + 1,
                api: "E06",
                first_position: first,
                records: (rows - first).min(batch) as u32,
                bytes: 0,
                payload_sha256: "",
                receipts: &[],
            })
            .map_err(err)?;
    }
    ledger.finish_delivery("day1", attempt).map_err(err)?;
    for seq in 0..batches {
        let n = (rows - seq * batch).min(batch) as u32;
        let all = (1..=n)
            .map(|number| RecordSettlement {
                number,
                hk_hash: None,
                outcome: RecordOutcome::Accepted,
            })
            .collect();
        ledger
            .settle(
                "day1",
                seq as u32 + 1,
                &Settlement::Records(all),
                &format!("r{seq}"),
            )
            .map_err(err)?;
    }
    let settled = t.elapsed();
    drop(ledger);
    let size1 = std::fs::metadata(&path).map_err(err)?.len();
    println!(
        "  day 1: plan of {rows} registrations sealed and committed {:.2} s; {batches} batches staged, delivered and settled {:.2} s; ledger {} MB",
        planned.as_secs_f64(),
        settled.as_secs_f64(),
        size1 / 1_000_000
    );

    // Day 2: 1 % changed, 0.1 % gone, written to a file the measured process streams (a run
    // streams its export too; holding 1.8 million records here would swamp the figure).
    let change_every = (1.0 / args.changed).round() as usize;
    let delete_every = (1.0 / args.deleted).round() as usize;
    let (mut changed, mut deleted, mut kept) = (0, 0, 0);
    let mut day2 =
        std::io::BufWriter::new(std::fs::File::create(dir.join("day2.bin")).map_err(err)?);
    let mut content = Vec::new();
    for (i, mut r) in day1.drain(..).enumerate() {
        if i % delete_every == 3 {
            deleted += 1;
            continue;
        }
        if i % change_every == 7 {
            r.receipt.valid_to = "2099-03-31".into();
            changed += 1;
        }
        content.clear();
        pmhlink_model::encode_content(&r, &mut content);
        std::io::Write::write_all(&mut day2, &(content.len() as u32).to_le_bytes()).map_err(err)?;
        std::io::Write::write_all(&mut day2, &content).map_err(err)?;
        kept += 1;
    }
    std::io::Write::flush(&mut day2).map_err(err)?;
    drop(day2);
    println!("  day 2: {kept} rows, {changed} changed, {deleted} gone");
    let t = Instant::now();
    let child = std::process::Command::new(std::env::current_exe().map_err(err)?)
        .arg("bench-ledger-day2")
        .arg(&dir)
        .spawn()
        .map_err(err)?;
    let (code, _) = rusage::wait(&child);
    std::mem::forget(child);
    println!(
        "  day 2 process: {:.2} s wall including its start, exit {code}; ledger {} MB",
        t.elapsed().as_secs_f64(),
        std::fs::metadata(&path).map_err(err)?.len() / 1_000_000
    );
    Ok(())
}

/// Rows of the day-2 file, a chunk at a time.
fn read_chunk(file: &mut impl std::io::Read, rows: usize) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::with_capacity(rows);
    let mut len = [0u8; 4];
    while out.len() < rows {
        match file.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(e.to_string()),
        }
        let mut content = vec![0; u32::from_le_bytes(len) as usize];
        file.read_exact(&mut content).map_err(err)?;
        out.push(content);
    }
    Ok(out)
}

fn keyed_content(keys: &Keys, content: Vec<u8>) -> Result<Keyed, String> {
    let r = pmhlink_model::decode_content(&content).map_err(err)?;
    let mut k = keyed(keys, &r);
    k.content = content;
    Ok(k)
}

/// The measured day: what a daily run does besides reading its sources, shaped like the run
/// (keys and digests on both cores per chunk, the diff and the plan on a thread of their own).
pub fn day2(dir: &std::path::Path) -> Result<(), String> {
    let path = dir.join("ledger.sqlite");
    let master = MasterKey::from_file(&dir.join("ledger.key")).map_err(err)?;
    let t = Instant::now();
    let mut ledger = Ledger::open(&path, &master, Access::Existing).map_err(err)?;
    let opened = t.elapsed();
    let keys = ledger.keys().clone();
    let run_id = format!("day2-{}", std::process::id());
    let attempt = ledger
        .begin_run(&NewRun {
            run_id: &run_id,
            business_date: "2025-06-02",
            kind: "diff",
            api: "E06",
            config_digest: "",
            plugins: serde_json::json!({}),
        })
        .map_err(err)?;
    let baseline = ledger.baseline().map_err(err)?;
    let rejected = ledger.rejected().map_err(err)?;
    let loaded = t.elapsed();
    let mut differ = Differ::new(SyncKind::Diff, baseline, rejected, false);
    let mut plan = ledger.plan(&run_id).map_err(err)?;
    let mut file = std::io::BufReader::with_capacity(
        1 << 20,
        std::fs::File::open(dir.join("day2.bin")).map_err(err)?,
    );
    let mut sent = 0u64;
    loop {
        let chunk = read_chunk(&mut file, 16_384)?;
        if chunk.is_empty() {
            break;
        }
        let mut chunk = chunk;
        let second = chunk.split_off(chunk.len() / 2);
        let (a, b) = std::thread::scope(|s| {
            let other = s.spawn(|| {
                second
                    .into_iter()
                    .map(|c| keyed_content(&keys, c))
                    .collect::<Result<Vec<_>, _>>()
            });
            let a = chunk
                .into_iter()
                .map(|c| keyed_content(&keys, c))
                .collect::<Result<Vec<_>, _>>();
            (a, other.join().expect("the key thread"))
        });
        for k in a?.into_iter().chain(b?) {
            if let Decision::Send(action) = differ.observe(k.key, k.digest) {
                sent += 1;
                plan.add(&PlannedRow {
                    key: k.key,
                    action,
                    digest: k.digest,
                    shield: k.shield,
                    hk_hash: k.hk_hash,
                    content: &k.content,
                })
                .map_err(err)?;
            }
        }
    }
    let observed = t.elapsed();
    let finished = differ.finish();
    pmhlink_diff::guard(
        &finished.counts,
        &GuardPolicy {
            max_removal_share: 0.05,
            confirmed_removals: None,
        },
    )
    .map_err(err)?;
    for (key, action) in &finished.removals {
        let content = plan
            .baseline_content(key)
            .map_err(err)?
            .ok_or("a removed row has no content")?;
        let k = keyed_content(&keys, content)?;
        plan.add(&PlannedRow {
            key: *key,
            action: *action,
            digest: k.digest,
            shield: k.shield,
            hk_hash: k.hk_hash,
            content: &k.content,
        })
        .map_err(err)?;
    }
    plan.commit(attempt, &serde_json::json!({})).map_err(err)?;
    let committed = t.elapsed();
    let c = &finished.counts;
    println!(
        "  day 2 diff: update {}, delete {}, unchanged {}; {} rows planned",
        c.update,
        c.delete,
        c.unchanged,
        sent + finished.removals.len() as u64
    );
    println!(
        "  day 2 diff + ledger commit: {:.2} s wall (open + structure check {:.2} s, baseline load {:.2} s, keys/digests/diff of every row {:.2} s, removals + commit {:.2} s), peak RSS {} MiB",
        committed.as_secs_f64(),
        opened.as_secs_f64(),
        (loaded - opened).as_secs_f64(),
        (observed - loaded).as_secs_f64(),
        (committed - observed).as_secs_f64(),
        rusage::vm_hwm_kib("self") / 1024
    );
    Ok(())
}
