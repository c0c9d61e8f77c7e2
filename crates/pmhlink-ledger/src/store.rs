//! Opening a ledger: one SQLite file, held exclusively for as long as it is open, migrated
//! forward, and proven to belong to the key before anything is read.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use crate::error::{LedgerError, Result};
use crate::keys::{Keys, MasterKey};
use crate::schema::{MIGRATIONS, VERSION};

/// Fault injection for tests: caps the file at this many pages, so "disk full" can be shown on
/// any file system (SQLite reports it exactly as a full disk).
const MAX_PAGES_ENV: &str = "PMHLINK_TEST_LEDGER_MAX_PAGES";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Creates the ledger when there is none.
    CreateOrOpen,
    /// The ledger must exist.
    Existing,
}

/// A pipeline's ledger. Holding one means holding the file's lock: a second process (a second
/// run, or `status` during a run) is told the ledger is in use.
pub struct Ledger {
    pub(crate) conn: Connection,
    pub(crate) keys: Keys,
    pub(crate) path: PathBuf,
    /// The advisory lock on `<ledger>.lock`, released when the ledger is dropped.
    pub(crate) _lock: std::fs::File,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger").field("path", &self.path).finish()
    }
}

pub(crate) fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The lock file beside a ledger: `state/ledger.sqlite.lock`.
fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Takes the ledger's lock, waiting up to `wait` for a process that holds it. The lock is an
/// advisory `flock` on a file of its own, taken before the ledger is looked at: of two runs
/// started together exactly one gets it (SQLite's own locks, taken while the file is being
/// created and switched to WAL, could leave both refused). Never on the ledger file itself:
/// closing any other handle on it would drop SQLite's POSIX locks.
fn take_lock(path: &Path, wait: Duration) -> Result<std::fs::File> {
    let lock = lock_path(path);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock)
        .map_err(|e| {
            LedgerError::other(
                path,
                format!("cannot open its lock file {}: {e}", lock.display()),
            )
        })?;
    let deadline = std::time::Instant::now() + wait;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(LedgerError::Locked {
                    path: path.to_owned(),
                });
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(LedgerError::other(
                    path,
                    format!("cannot lock {}: {e}", lock.display()),
                ));
            }
        }
    }
}

impl Ledger {
    /// Opens the ledger, refusing at once when another process holds it.
    pub fn open(path: &Path, master: &MasterKey, access: Access) -> Result<Ledger> {
        Ledger::open_waiting(path, master, access, Duration::ZERO)
    }

    /// Opens the ledger, waiting up to `wait` for another process to let it go.
    pub fn open_waiting(
        path: &Path,
        master: &MasterKey,
        access: Access,
        wait: Duration,
    ) -> Result<Ledger> {
        if access == Access::Existing && !path.exists() {
            return Err(LedgerError::Missing {
                path: path.to_owned(),
            });
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| LedgerError::other(path, format!("cannot create its folder: {e}")))?;
        }
        let lock = take_lock(path, wait)?;
        // Looked at only under the lock: a run that held it may have created the ledger.
        let exists = path.exists();
        let sql = |e| LedgerError::from_sql(path, e);
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if !exists {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let conn = Connection::open_with_flags(path, flags).map_err(sql)?;
        conn.busy_timeout(Duration::from_millis(500)).map_err(sql)?;
        // Exclusive locking keeps the lock from the first write until the file is closed, so a
        // run and a second run can never interleave; WAL with full sync makes each commit
        // durable and a killed process's half-written transaction invisible.
        conn.pragma_update(None, "locking_mode", "EXCLUSIVE")
            .map_err(sql)?;
        // An empty file (made by `touch`, or left by a creation that failed before its first
        // table) is a new ledger too.
        let fresh = !exists || std::fs::metadata(path).is_ok_and(|m| m.len() == 0);
        if fresh {
            // Only settable before the first table: lets settled plan rows give their pages back.
            conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")
                .map_err(sql)?;
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(sql)?;
        // 64 MiB of page cache instead of SQLite's 2 MiB: the accepted rows of a large
        // municipality are a b-tree of a few hundred thousand pages keyed by random hashes, and
        // settling inserts into it at random places.
        conn.pragma_update(None, "cache_size", -65_536)
            .map_err(sql)?;
        if let Some(pages) = std::env::var(MAX_PAGES_ENV)
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
        {
            conn.pragma_update(None, "max_page_count", pages)
                .map_err(sql)?;
        }
        let mut ledger = Ledger {
            conn,
            keys: Keys::new(master),
            path: path.to_owned(),
            _lock: lock,
        };
        ledger.prepare(fresh)?;
        if !fresh {
            ledger.check_structure()?;
        }
        // Only now that the file is known to be this pmhlink's ledger: switching the journal
        // mode rewrites the file's header, which must not happen to a file that is refused
        // (another program's database, a newer ledger). A ledger keeps the mode once set.
        ledger
            .conn
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(sql)?;
        // A first upload writes gigabytes through the log; without a limit the log keeps its
        // largest size until the ledger is closed.
        ledger
            .conn
            .pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)
            .map_err(sql)?;
        Ok(ledger)
    }

    /// SQLite keeps no page checksums: a damaged page is found only when read, possibly half
    /// way through a run. Walking every page once at open finds it before anything is decided.
    /// (Sealed content is authenticated on its own when read.)
    fn check_structure(&self) -> Result<()> {
        let sql = |e| LedgerError::from_sql(&self.path, e);
        let mut stmt = self.conn.prepare("PRAGMA quick_check").map_err(sql)?;
        let problems: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .map_err(sql)?
            .collect::<rusqlite::Result<_>>()
            .map_err(sql)?;
        match problems.first() {
            Some(first) if first != "ok" => Err(LedgerError::Corrupt {
                path: self.path.clone(),
                detail: format!("{} problem(s), first: {first}", problems.len()),
            }),
            _ => Ok(()),
        }
    }

    /// Takes the lock, refuses a newer schema, migrates an older one and checks the key, in one
    /// transaction: a failure leaves the file as it was.
    fn prepare(&mut self, created: bool) -> Result<()> {
        let path = self.path.clone();
        let sql = |e| LedgerError::from_sql(&path, e);
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive)
            .map_err(sql)?;
        let found: i64 = tx
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(sql)?;
        if found > VERSION {
            return Err(LedgerError::Newer {
                path,
                found,
                supported: VERSION,
            });
        }
        let has_meta: bool = tx
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'meta'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map_err(sql)?
            > 0;
        if found == 0 && !created && has_meta {
            return Err(LedgerError::Corrupt {
                path,
                detail: "its schema version is missing".into(),
            });
        }
        if found == 0 && !created {
            let tables: i64 = tx
                .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
                .map_err(sql)?;
            if tables > 0 {
                return Err(LedgerError::other(
                    &path,
                    "this SQLite file is not a pmhlink ledger",
                ));
            }
        }
        for (version, migration) in MIGRATIONS.iter().enumerate().skip(found as usize) {
            tx.execute_batch(migration).map_err(sql)?;
            tx.pragma_update(None, "user_version", version as i64 + 1)
                .map_err(sql)?;
        }
        let check = self.keys.check_value();
        let stored: Option<Vec<u8>> = tx
            .query_row("SELECT value FROM meta WHERE name = 'key_check'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(sql)?;
        match stored {
            Some(stored) if stored != check => return Err(LedgerError::WrongKey { path }),
            Some(_) => {}
            None => {
                tx.execute(
                    "INSERT INTO meta (name, value) VALUES ('key_check', ?1), ('created_by', ?2), ('created_at', ?3)",
                    params![
                        &check[..],
                        env!("CARGO_PKG_VERSION").as_bytes(),
                        now_unix().to_string().as_bytes()
                    ],
                )
                .map_err(sql)?;
            }
        }
        tx.commit().map_err(sql)
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// Binds the ledger to the pipeline that uses it (`identity`, e.g. `139998/pipeline`): a
    /// ledger bound to another pipeline is refused, since its rows describe what PMH holds for
    /// someone else's uploads. An unbound ledger is bound when `record` (a run; a dry run or
    /// `status` writes nothing).
    pub fn bind(&mut self, identity: &str, record: bool) -> Result<()> {
        let path = self.path.clone();
        let sql = |e| LedgerError::from_sql(&path, e);
        let bound: Option<Vec<u8>> = self
            .conn
            .query_row("SELECT value FROM meta WHERE name = 'pipeline'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(sql)?;
        match bound {
            Some(b) if b == identity.as_bytes() => Ok(()),
            Some(b) => Err(LedgerError::Foreign {
                path: self.path.clone(),
                bound: String::from_utf8_lossy(&b).into_owned(),
                identity: identity.to_owned(),
            }),
            None if !record => Ok(()),
            None => {
                self.conn
                    .execute(
                        "INSERT INTO meta (name, value) VALUES ('pipeline', ?1)",
                        [identity.as_bytes()],
                    )
                    .map_err(sql)?;
                Ok(())
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn sql(&self, e: rusqlite::Error) -> LedgerError {
        LedgerError::from_sql(&self.path, e)
    }

    /// The schema version this pmhlink writes.
    pub fn schema_version() -> i64 {
        VERSION
    }

    /// Gives back pages freed by settled runs' plan rows. Each step of the pragma frees one
    /// page, so it is stepped to the end.
    pub(crate) fn reclaim(&self) -> Result<()> {
        let sql = |e| self.sql(e);
        let mut stmt = self
            .conn
            .prepare("PRAGMA incremental_vacuum")
            .map_err(sql)?;
        let mut rows = stmt.query([]).map_err(sql)?;
        while rows.next().map_err(sql)?.is_some() {}
        Ok(())
    }

    /// The file's size on disk, the write-ahead log included.
    pub fn size_bytes(&self) -> u64 {
        let wal = PathBuf::from(format!("{}-wal", self.path.display()));
        [self.path.as_path(), wal.as_path()]
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum()
    }
}
