//! Every way a ledger can fail, each naming the file and what to do, never a row's content.

use std::path::{Path, PathBuf};

use rusqlite::ErrorCode;

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error(
        "ledger {}: in use by another pmhlink process (a run in progress?); try again when it has finished, or let the run wait for it with `--wait-lock SECS`",
        .path.display()
    )]
    Locked { path: PathBuf },
    #[error(
        "ledger {}: the disk is full; this step was rolled back and the ledger is as it was (free space and run again)",
        .path.display()
    )]
    DiskFull { path: PathBuf },
    #[error("ledger {}: the file is damaged ({detail}); restore it from a backup", .path.display())]
    Corrupt { path: PathBuf, detail: String },
    #[error(
        "ledger {}: opened with the wrong key (not the key it was created with); check the key file or the key variable",
        .path.display()
    )]
    WrongKey { path: PathBuf },
    #[error(
        "ledger {}: written by a newer pmhlink (schema {found}, this pmhlink knows up to {supported}); upgrade pmhlink",
        .path.display()
    )]
    Newer {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("ledger {}: the result does not fit {message}; nothing was settled", .path.display())]
    ResultMismatch { path: PathBuf, message: String },
    #[error("ledger {}: not found", .path.display())]
    Missing { path: PathBuf },
    #[error(
        "ledger {}: it belongs to pipeline {bound}, not {identity} (copied from another pipeline or municipality, or `ledger.path` names another pipeline's ledger); nothing was read or changed. Give this pipeline its own ledger",
        .path.display()
    )]
    Foreign {
        path: PathBuf,
        bound: String,
        identity: String,
    },
    #[error("ledger {}: {message}", .path.display())]
    Other { path: PathBuf, message: String },
}

pub type Result<T, E = LedgerError> = std::result::Result<T, E>;

impl LedgerError {
    pub(crate) fn other(path: &Path, message: impl Into<String>) -> LedgerError {
        LedgerError::Other {
            path: path.to_owned(),
            message: message.into(),
        }
    }

    /// SQLite's own words are kept only where they say something the operator can act on; they
    /// carry statement text at most, never bound values.
    pub(crate) fn from_sql(path: &Path, e: rusqlite::Error) -> LedgerError {
        let path = path.to_owned();
        match e.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
                LedgerError::Locked { path }
            }
            Some(ErrorCode::DiskFull) => LedgerError::DiskFull { path },
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => LedgerError::Corrupt {
                path,
                detail: e.to_string(),
            },
            _ => LedgerError::Other {
                path,
                message: e.to_string(),
            },
        }
    }
}
