//! Opening a ledger: creation, the lock, the key, versions, damage, a full disk, and what the
//! file and the errors never show.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use pmhlink_diff::Action::*;
use pmhlink_ledger::{Access, Ledger, LedgerError, MasterKey, RunState, Settlement};

fn ledger_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("state").join("ledger.sqlite")
}

/// A ledger with rows accepted, one refused, and a run in flight.
fn populated(path: &Path) {
    let mut l = open(path);
    plan_run(
        &mut l,
        "r1",
        &[(1, Register, 1), (2, Register, 1), (3, Register, 1)],
    );
    stage_all(&mut l, "r1", 2);
    l.finish_delivery("r1", 1).unwrap();
    let s = settlement(&l, "r1", 1, "AR");
    l.settle("r1", 1, &s, "x").unwrap();
    let s = settlement(&l, "r1", 2, "A");
    l.settle("r1", 2, &s, "x").unwrap();
    plan_run(&mut l, "r2", &[(1, Update, 2), (4, Register, 1)]);
    stage_all(&mut l, "r2", 10);
    l.finish_delivery("r2", 1).unwrap();
}

fn user_version(path: &Path) -> i64 {
    let c = rusqlite::Connection::open(path).unwrap();
    c.pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap()
}

fn shown(e: &LedgerError) -> String {
    format!("{e} {e:?}")
}

#[test]
fn create_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = ledger_path(&dir);
    let missing = Ledger::open(&path, &master(), Access::Existing).unwrap_err();
    assert!(
        matches!(missing, LedgerError::Missing { .. }),
        "{missing:?}"
    );
    assert!(missing.to_string().contains("not found"));
    assert!(!path.exists(), "Existing must not create the file");

    // The folder is made on creation.
    let l = open(&path);
    assert_eq!(l.path(), path);
    let status = l.status(5).unwrap();
    assert_eq!(status.schema_version, Ledger::schema_version());
    assert_eq!(
        (status.accepted_rows, status.pending_rows),
        (0, 0),
        "a new ledger is empty"
    );
    assert!(status.size_bytes > 0);
    drop(l);
    assert_eq!(user_version(&path), Ledger::schema_version());

    populated(&path);
    let l = Ledger::open(&path, &master(), Access::Existing).unwrap();
    let before = snapshot(&l);
    assert!(before.contains("accepted 2 pending 2"), "{before}");
    drop(l);
    let l = Ledger::open(&path, &master(), Access::CreateOrOpen).unwrap();
    assert_eq!(snapshot(&l), before);
}

/// A file that exists but is empty (made by `touch`, say) becomes a ledger like a new one.
#[test]
fn empty_file_becomes_a_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite");
    std::fs::write(&path, b"").unwrap();
    let mut l = open(&path);
    plan_run(&mut l, "r1", &[(1, Register, 1)]);
    drop(l);
    let c = rusqlite::Connection::open(&path).unwrap();
    let auto_vacuum: i64 = c
        .pragma_query_value(None, "auto_vacuum", |r| r.get(0))
        .unwrap();
    assert_eq!(auto_vacuum, 2, "incremental auto-vacuum, as on a new file");
}

#[test]
fn a_second_open_is_told_the_ledger_is_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let path = ledger_path(&dir);
    populated(&path);
    let first = open(&path);
    for access in [Access::Existing, Access::CreateOrOpen] {
        let err = Ledger::open(&path, &master(), access).unwrap_err();
        assert!(matches!(err, LedgerError::Locked { .. }), "{err:?}");
        assert!(err.to_string().contains("in use"), "{err}");
    }
    // From another thread too (the lock is the file's, not the thread's).
    let p = path.clone();
    let err =
        std::thread::spawn(move || Ledger::open(&p, &master(), Access::Existing).unwrap_err())
            .join()
            .unwrap();
    assert!(matches!(err, LedgerError::Locked { .. }), "{err:?}");
    let before = snapshot(&first);
    drop(first);
    let again = open(&path);
    assert_eq!(snapshot(&again), before);
}

/// Opens that must be refused, each leaving the file's bytes exactly as they were.
#[test]
fn refusals_leave_the_file_alone() {
    // (case, how the file is made, the error expected and what its message says)
    type Make = fn(&Path);
    type Check = fn(&LedgerError) -> bool;
    let cases: &[(&str, Make, Check, &str)] = &[
        (
            "wrong key",
            |p| populated(p),
            |e| matches!(e, LedgerError::WrongKey { .. }),
            "wrong key",
        ),
        (
            "newer schema",
            |p| {
                populated(p);
                let c = rusqlite::Connection::open(p).unwrap();
                c.pragma_update(None, "user_version", 99).unwrap();
            },
            |e| {
                matches!(e, LedgerError::Newer { found: 99, supported, .. }
                    if *supported == Ledger::schema_version())
            },
            "schema 99",
        ),
        (
            "not a database",
            |p| std::fs::write(p, vec![0xAB; 8192]).unwrap(),
            |e| matches!(e, LedgerError::Corrupt { .. }),
            "damaged",
        ),
        (
            "another program's database",
            |p| {
                let c = rusqlite::Connection::open(p).unwrap();
                c.execute_batch(
                    "CREATE TABLE patients (id INTEGER PRIMARY KEY, name TEXT);
                     INSERT INTO patients (name) VALUES ('generated name');",
                )
                .unwrap();
            },
            |e| matches!(e, LedgerError::Other { .. }),
            "not a pmhlink ledger",
        ),
        (
            "a ledger without its version",
            |p| {
                populated(p);
                let c = rusqlite::Connection::open(p).unwrap();
                c.pragma_update(None, "user_version", 0).unwrap();
            },
            |e| matches!(e, LedgerError::Corrupt { .. }),
            "schema version is missing",
        ),
    ];
    for (case, make, check, says) in cases {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.sqlite");
        make(&path);
        let before = std::fs::read(&path).unwrap();
        let key = if *case == "wrong key" {
            MasterKey::from_hex(OTHER_KEY_HEX).unwrap()
        } else {
            master()
        };
        for access in [Access::Existing, Access::CreateOrOpen] {
            let err = Ledger::open(&path, &key, access).unwrap_err();
            assert!(check(&err), "{case}: {err:?}");
            let text = err.to_string();
            assert!(text.contains(says), "{case}: {text}");
            assert!(text.contains(&path.display().to_string()), "{case}: {text}");
            assert!(!shown(&err).contains(MARKER), "{case}: {err:?}");
            assert!(
                std::fs::read(&path).unwrap() == before,
                "{case}: file changed"
            );
        }
        if *case == "newer schema" {
            let text = Ledger::open(&path, &key, Access::Existing)
                .unwrap_err()
                .to_string();
            assert!(
                text.contains(&format!("knows up to {}", Ledger::schema_version())),
                "{text}"
            );
        }
    }
}

/// A ledger written by the first schema is migrated when opened, its rows and holds kept.
#[test]
fn a_version_1_ledger_is_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite");
    populated(&path);
    let mut l = open(&path);
    let a = new_run(&mut l, "r3");
    let held = [pmhlink_ledger::HeldRow {
        qkey: row_key(7),
        codes: "R001",
        history_key: None,
        source: "primary",
        line: Some(3),
    }];
    l.record_check_quarantine("r3", &held).unwrap();
    l.end_run("r3", a, RunState::Stopped, &serde_json::json!({}), None)
        .unwrap();
    let before = snapshot(&l);
    drop(l);
    // Back to the first shape: one quarantine entry per key, no plan index by key, no day
    // records.
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch(
        "CREATE TABLE q1 (
            qkey BLOB PRIMARY KEY, kind TEXT NOT NULL, codes TEXT NOT NULL, message TEXT,
            digest BLOB, history_key TEXT, source TEXT, line INTEGER, first_run TEXT NOT NULL,
            first_at INTEGER NOT NULL, last_run TEXT NOT NULL, last_at INTEGER NOT NULL,
            runs_in_a_row INTEGER NOT NULL) WITHOUT ROWID;
         INSERT INTO q1 SELECT qkey, kind, codes, message, digest, history_key, source, line,
            first_run, first_at, last_run, last_at, runs_in_a_row FROM quarantine;
         DROP TABLE quarantine;
         ALTER TABLE q1 RENAME TO quarantine;
         DROP INDEX plan_rows_by_key;
         DROP TABLE day_records;
         PRAGMA user_version = 1;",
    )
    .unwrap();
    drop(c);
    assert_eq!(user_version(&path), 1);
    let l = open(&path);
    assert_eq!(snapshot(&l), before);
    drop(l);
    assert_eq!(user_version(&path), Ledger::schema_version());
    let c = rusqlite::Connection::open(&path).unwrap();
    let index: i64 = c
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name IN ('plan_rows_by_key', 'day_records')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(index, 2);
}

/// A page in the middle overwritten: the ledger opens (its header and journal are intact) and
/// the damage surfaces as `Corrupt` where the damaged table is first read.
#[test]
fn a_damaged_page_is_reported_as_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite");
    let mut l = open(&path);
    bulk_settled(&mut l, "r1", 400, 300);
    drop(l);
    let mut bytes = std::fs::read(&path).unwrap();
    let page_size = 4096;
    assert!(bytes.len() > 30 * page_size, "{}", bytes.len());
    let middle = bytes.len() / page_size / 2 * page_size;
    bytes[middle..middle + page_size].fill(0xAB);
    std::fs::write(&path, &bytes).unwrap();

    // The structure is checked at open; a damage that check missed would surface at the
    // first read of the table. Either way it is `Corrupt`, never anything else.
    let err = match Ledger::open(&path, &master(), Access::Existing) {
        Err(e) => e,
        Ok(l) => l.baseline().unwrap_err(),
    };
    assert!(matches!(err, LedgerError::Corrupt { .. }), "{err:?}");
    assert!(
        err.to_string().contains("restore it from a backup"),
        "{err}"
    );
    assert!(
        std::fs::read(&path).unwrap() == bytes,
        "the damaged file was changed"
    );
}

/// A run of `n` distinct rows of `size` bytes, accepted.
fn bulk_settled(l: &mut pmhlink_ledger::Ledger, run: &str, n: u32, size: usize) {
    let attempt = new_run(l, run);
    let mut w = l.plan(run).unwrap();
    let content = vec![0x5Au8; size];
    for i in 0..n {
        let mut row = planned(1, Register, 1, &content);
        row.key = keys().hash("bulk", &[&i.to_le_bytes()]);
        w.add(&row).unwrap();
    }
    w.commit(attempt, &serde_json::json!({})).unwrap();
    stage_all(l, run, n);
    assert_eq!(
        l.finish_delivery(run, attempt).unwrap(),
        RunState::Delivered
    );
    let s = settlement(l, run, 1, &"A".repeat(n as usize));
    assert!(l.settle(run, 1, &s, "x").unwrap().run_settled);
}

/// Sealed content that no longer authenticates (a blob changed in place) is damage too.
#[test]
fn tampered_content_is_corrupt_not_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite");
    populated(&path);
    let c = rusqlite::Connection::open(&path).unwrap();
    // Swap two rows' sealed content: each is valid, but bound to the other row.
    c.execute_batch(
        "UPDATE plan_rows SET content = (SELECT content FROM rows LIMIT 1)
         WHERE run_id = 'r2' AND ordinal = 0",
    )
    .unwrap();
    drop(c);
    let l = open(&path);
    let err = l.sent_rows("r2", 0, 10).err().unwrap();
    assert!(matches!(err, LedgerError::Corrupt { .. }), "{err:?}");
    assert!(!shown(&err).contains(MARKER));
}

/// Content is sealed at rest: the marker every generated content carries appears nowhere in
/// the file, nor in anything the ledger prints.
#[test]
fn content_never_shows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite");
    populated(&path);
    let mut l = open(&path);
    // The write-ahead log while the ledger is open, then the file after.
    assert!(!contains(&file_bytes(&path), MARKER.as_bytes()));
    assert!(!format!("{l:?}").contains(MARKER));
    assert!(!format!("{:?}", l.keys()).contains(MARKER));
    let status = l.status(10).unwrap();
    let json = serde_json::to_string(&status).unwrap();
    assert!(!json.contains(MARKER) && !format!("{status:?}").contains(MARKER));

    // Errors that carry a message about the data: a result that does not fit.
    let s = settlement(&l, "r2", 1, "AA");
    let mut wrong_history_key = s.clone();
    if let Settlement::Records(records) = &mut wrong_history_key {
        records[0].hk_hash = Some(hk_hash(9));
    }
    let errors = [
        l.settle("r2", 7, &s, "x").unwrap_err(),
        l.settle("r2", 1, &Settlement::Records(Vec::new()), "x")
            .unwrap_err(),
        l.settle("r2", 1, &wrong_history_key, "x").unwrap_err(),
    ];
    for e in &errors {
        assert!(!shown(e).contains(MARKER), "{e:?}");
    }
    // The plain content was really there to be found: sent_rows decrypts it.
    let sent = l.sent_rows("r2", 0, 10).unwrap();
    assert!(contains(&sent[0].content, MARKER.as_bytes()));
    l.settle("r2", 1, &s, "x").unwrap();
    drop(l);
    let bytes = file_bytes(&path);
    assert!(bytes.len() > 4096);
    assert!(!contains(&bytes, MARKER.as_bytes()));
    assert!(!contains(&bytes, b"row 1 version"));
}

/// The run lifecycle survives a reopen at every stage.
#[test]
fn reopen_between_steps() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite");
    let mut l = open(&path);
    plan_run(&mut l, "r1", &[(1, Register, 1), (2, Register, 1)]);
    drop(l);
    let mut l = open(&path);
    assert_eq!(run_state(&l, "r1"), RunState::Prepared);
    assert_eq!(l.unfinished_runs().unwrap()[0].run_id, "r1");
    stage_all(&mut l, "r1", 1);
    drop(l);
    let mut l = open(&path);
    assert_eq!(l.finish_delivery("r1", 1).unwrap(), RunState::Delivered);
    drop(l);
    let mut l = open(&path);
    let s = settlement(&l, "r1", 1, "A");
    l.settle("r1", 1, &s, "x").unwrap();
    drop(l);
    let mut l = open(&path);
    let s = settlement(&l, "r1", 2, "R");
    assert!(l.settle("r1", 2, &s, "x").unwrap().run_settled);
    drop(l);
    let l = open(&path);
    assert_eq!(Names::new().baseline(&l), "1:1");
    assert_eq!(Names::new().rejected(&l), "2:1");
}

/// Settled plans give their pages back: the file does not keep every plan it ever had.
#[test]
fn settled_plans_are_reclaimed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite");
    let mut l = open(&path);
    let rows: Vec<_> = (1..=30).map(|k| (k, Register, 1)).collect();
    plan_run(&mut l, "r1", &rows);
    stage_all(&mut l, "r1", 100);
    l.finish_delivery("r1", 1).unwrap();
    let s = settlement(&l, "r1", 1, &"A".repeat(30));
    l.settle("r1", 1, &s, "x").unwrap();
    drop(l);
    let c = rusqlite::Connection::open(&path).unwrap();
    let free: i64 = c
        .pragma_query_value(None, "freelist_count", |r| r.get(0))
        .unwrap();
    assert_eq!(free, 0, "free pages left in the file");
}

const CHILD_PATH_ENV: &str = "PMHLINK_TEST_DISK_FULL_LEDGER";
const MAX_PAGES_ENV: &str = "PMHLINK_TEST_LEDGER_MAX_PAGES";

/// A full disk in the middle of a plan and of a settlement: each step is rolled back and the
/// ledger is exactly as it was. The capped steps run in a child process (this test binary,
/// running `disk_full_child`) so the variable that caps the file never touches other tests.
#[test]
fn disk_full_rolls_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite");
    populated(&path);
    let mut l = open(&path);
    let more: Vec<_> = (5..=30).map(|k| (k, Register, 1)).collect();
    plan_run(&mut l, "r3", &more);
    stage_all(&mut l, "r3", 100);
    l.finish_delivery("r3", 1).unwrap();
    new_run(&mut l, "big");
    let before = snapshot(&l);
    drop(l);
    let pages: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_query_value(None, "page_count", |r| r.get(0))
        .unwrap();

    // Not one page more than the file has.
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "disk_full_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_PATH_ENV, &path)
        .env(MAX_PAGES_ENV, pages.to_string())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("disk-full child: plan DiskFull"),
        "{stdout}"
    );
    assert!(
        stdout.contains("disk-full child: settle DiskFull"),
        "{stdout}"
    );

    let mut l = open(&path);
    assert_eq!(snapshot(&l), before);
    assert!(l.sent_rows("big", 0, 10).unwrap().is_empty());
    assert_eq!(run_state(&l, "big"), RunState::Started);
    // Uncapped, the same steps go through.
    let s = settlement(&l, "r3", 1, &"A".repeat(26));
    l.settle("r3", 1, &s, "x").unwrap();
    assert_eq!(l.status(0).unwrap().accepted_rows, 2 + 26);
}

#[test]
fn disk_full_child() {
    let Some(path) = std::env::var_os(CHILD_PATH_ENV) else {
        return; // Only does something when run by `disk_full_rolls_back`.
    };
    assert!(std::env::var(MAX_PAGES_ENV).is_ok());
    let path = PathBuf::from(path);
    let mut l = open(&path);
    let content = vec![0x5Au8; 2000];
    let mut w = l.plan("big").unwrap();
    let mut failed = None;
    for i in 0..5000u32 {
        let mut row = planned(1, Register, 1, &content);
        row.key = keys().hash("bulk", &[&i.to_le_bytes()]);
        if let Err(e) = w.add(&row) {
            failed = Some(e);
            break;
        }
    }
    let err = match failed {
        Some(e) => {
            drop(w);
            e
        }
        None => w.commit(1, &serde_json::json!({})).unwrap_err(),
    };
    assert!(matches!(err, LedgerError::DiskFull { .. }), "{err:?}");
    assert!(err.to_string().contains("disk is full"), "{err}");
    assert!(err.to_string().contains("rolled back"), "{err}");
    println!("disk-full child: plan {err:?}");

    // A settlement that needs room: r3's rows become accepted rows.
    let s = settlement(&l, "r3", 1, &"A".repeat(26));
    match l.settle("r3", 1, &s, "x") {
        Err(e @ LedgerError::DiskFull { .. }) => println!("disk-full child: settle {e:?}"),
        other => panic!("settle under a full disk: {other:?}"),
    }
}
