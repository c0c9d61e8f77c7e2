//! What a day's reading found — source counts, record counts, findings by code,
//! normalisations, unreadable rows and the quarantine list — as one value. A run builds it
//! from what it read and keeps it in the ledger with its plan (the day record); a resumed run,
//! or a re-run of a finished day, reports from the kept one, so that every path of a day tells
//! the same counts, quarantine list and exit status.

use std::collections::BTreeMap;

use pmhlink_profile::Layout;
use serde::{Deserialize, Serialize};

use crate::quarantine::{self, UnreadableRow};
use crate::report::{CodeCount, RecordCounts, SourceStats};
use crate::run::RunOutput;

/// Unreadable rows the report lists by name; the quarantine list has every one, and each
/// source's `unreadable_rows` counts them all.
pub const UNREADABLE_LISTED_MAX: usize = 1000;

/// The part of a run report that the reading decides.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reading {
    pub sources: Vec<SourceStats>,
    pub records: RecordCounts,
    pub findings_by_code: BTreeMap<String, CodeCount>,
    pub normalisations: BTreeMap<String, u64>,
    /// Rows of any source the plugin could not read: source, line and the plugin's reason (at
    /// most [`UNREADABLE_LISTED_MAX`]).
    pub unreadable: Vec<UnreadableRow>,
}

/// A day as the ledger keeps it with the plan.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayRecord {
    pub reading: Reading,
    /// The quarantine list exactly as the first attempt wrote it (UTF-8 CSV).
    pub quarantine_csv: String,
}

impl Reading {
    pub fn of(out: &RunOutput) -> Reading {
        let mut findings_by_code: BTreeMap<String, CodeCount> = BTreeMap::new();
        for (code, severity) in &out.findings {
            findings_by_code
                .entry(code.as_str().to_owned())
                .or_insert(CodeCount {
                    severity: *severity,
                    count: 0,
                })
                .count += 1;
        }
        Reading {
            sources: out.sources.clone(),
            records: out.records.clone(),
            findings_by_code,
            normalisations: out
                .normalisations
                .by_name()
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
            unreadable: out
                .unreadable
                .iter()
                .take(UNREADABLE_LISTED_MAX)
                .cloned()
                .collect(),
        }
    }
}

impl DayRecord {
    pub fn of(layout: &Layout, primary: &str, out: &RunOutput) -> DayRecord {
        let csv = quarantine::to_csv(
            layout,
            primary,
            out.quarantine_key.as_deref(),
            &out.quarantined,
            &out.unreadable,
        );
        DayRecord {
            reading: Reading::of(out),
            quarantine_csv: String::from_utf8(csv).expect("the quarantine list is UTF-8"),
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a day record serialises")
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<DayRecord, String> {
        serde_json::from_slice(bytes).map_err(|e| format!("the day record is unreadable: {e}"))
    }
}
