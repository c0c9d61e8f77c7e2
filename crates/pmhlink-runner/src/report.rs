//! The run report: what was read, mapped, sent and quarantined, every normalisation counted,
//! findings by code. Counts and codes only, never a record's content.

use std::collections::BTreeMap;

use serde::Serialize;

#[derive(Clone, Debug, Default, Serialize)]
pub struct SourceStats {
    pub name: String,
    pub plugin: String,
    pub rows: u64,
    pub unreadable_rows: u64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct RecordCounts {
    /// Rows of the primary source.
    pub rows: u64,
    /// Records that passed every rule and went into payloads.
    pub sent: u64,
    pub quarantined: u64,
    /// Sent records that carry at least one warning.
    pub with_warnings: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct CodeCount {
    pub severity: pmhlink_rules::Severity,
    pub count: u64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct BatchReport {
    pub seq: usize,
    pub records: usize,
    pub bytes: usize,
    pub receipt: Option<String>,
}

impl Outcome {
    pub fn label_ja(self) -> &'static str {
        match self {
            Outcome::Sent => "すべて送信しました",
            Outcome::SentWithQuarantine => {
                "送信しました(一部のレコードを隔離しました。隔離一覧を確認してください)"
            }
            Outcome::Planned => "計画のみ(送信していません)",
            Outcome::Aborted => "中止しました(この実行では何も送信していません)",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every record was sent.
    Sent,
    /// Sent, with some records quarantined.
    SentWithQuarantine,
    /// `plan`: nothing was meant to be delivered.
    Planned,
    /// Stopped before delivery completed; nothing of this run was delivered.
    Aborted,
}

#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    pub pmhlink_version: &'static str,
    pub run_id: String,
    pub mode: &'static str,
    pub municipality_code: String,
    pub municipality_name: String,
    pub pipeline: String,
    pub api: String,
    pub profile: String,
    pub business_date: String,
    pub started_at: String,
    pub finished_at: String,
    pub sources: Vec<SourceStats>,
    pub records: RecordCounts,
    pub findings_by_code: BTreeMap<&'static str, CodeCount>,
    pub normalisations: BTreeMap<&'static str, u64>,
    pub batches: Vec<BatchReport>,
    pub sinks: Vec<String>,
    pub outcome: Outcome,
    pub exit_code: u8,
    /// Why the run stopped, if it did: a message that names files and keys, never values.
    pub error: Option<String>,
}

/// `YYYY-MM-DDTHH:MM:SSZ` from a Unix time, without a date-time dependency.
pub fn rfc3339_utc(unix_secs: i64) -> String {
    let day = pmhlink_rules::CivilDate::from_unix_days(unix_secs.div_euclid(86_400));
    let s = unix_secs.rem_euclid(86_400);
    format!("{day}T{:02}:{:02}:{:02}Z", s / 3600, s / 60 % 60, s % 60)
}

pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps() {
        assert_eq!(super::rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339_utc(1_767_225_599), "2025-12-31T23:59:59Z");
    }
}
