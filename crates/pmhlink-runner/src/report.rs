//! The run report: what was read, mapped, sent and quarantined, every normalisation counted,
//! findings by code. Counts and codes only, never a record's content.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceStats {
    pub name: String,
    pub plugin: String,
    pub rows: u64,
    pub unreadable_rows: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordCounts {
    /// Rows of the primary source.
    pub rows: u64,
    /// Records that passed every rule; the diff decides which of them are sent.
    pub clean: u64,
    pub quarantined: u64,
    /// Clean records that carry at least one warning.
    pub with_warnings: u64,
    /// Rows the vendor marked deleted (削除区分): not part of today's set.
    pub withdrawn: u64,
    /// Rows of programmes the pipeline ignores (`program.ignore`): never sent, quarantined or
    /// deleted.
    #[serde(default)]
    pub ignored: u64,
}

/// Results collected from sinks during a run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ResultsSeen {
    /// Batches settled.
    pub batches: u64,
    pub accepted: u64,
    pub rejected: u64,
    /// Rows of tasks PMH failed as a whole (sent again by the next run).
    pub failed: u64,
    /// Batches still awaiting their result.
    pub pending: u64,
    /// Why some results could not be fetched this time (asked again later).
    pub errors: Vec<String>,
}

impl ResultsSeen {
    pub fn add(&mut self, p: &crate::results::Polled) {
        self.batches += p.settled.len() as u64;
        for s in &p.settled {
            self.accepted += s.settled.accepted;
            self.rejected += s.settled.rejected;
            self.failed += s.settled.failed;
        }
        self.pending = p.pending as u64;
        self.errors = p.errors.clone();
    }
}

impl From<&crate::results::Polled> for ResultsSeen {
    fn from(p: &crate::results::Polled) -> Self {
        let mut seen = ResultsSeen::default();
        seen.add(p);
        seen
    }
}

/// What the diff against the ledger decided, by action.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct DiffCounts {
    /// History rows PMH held (accepted or in flight) before this run.
    pub baseline: u64,
    pub register: u64,
    pub update: u64,
    pub delete: u64,
    /// Full sync and reset: unchanged rows sent again.
    pub resend: u64,
    /// Full sync and reset: rows held back today whose accepted version is sent again.
    pub keep: u64,
    /// Full sync and reset: rows left out, which PMH drops.
    pub omit: u64,
    pub unchanged: u64,
    /// Rows PMH refused with exactly this content; sent again once the source changes.
    pub still_rejected: u64,
    /// Removals not made because a quarantined row may be the same certificate.
    pub withheld: u64,
    /// Rows sent in this run's payloads.
    pub sent: u64,
}

impl DiffCounts {
    /// The counts a run journaled; a journal entry without them (an attempt that never planned)
    /// reads as zero.
    pub fn from_journal(counts: &serde_json::Value) -> DiffCounts {
        serde_json::from_value(counts.clone()).unwrap_or_default()
    }
}

impl From<&pmhlink_diff::Counts> for DiffCounts {
    fn from(c: &pmhlink_diff::Counts) -> Self {
        DiffCounts {
            baseline: c.baseline,
            register: c.register,
            update: c.update,
            delete: c.delete,
            resend: c.resend,
            keep: c.keep,
            omit: c.omit,
            unchanged: c.unchanged,
            still_rejected: c.still_rejected,
            withheld: c.withheld,
            sent: c.sent(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeCount {
    pub severity: pmhlink_rules::Severity,
    pub count: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
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
            Outcome::Unchanged => "変更はありません(送信するものはありません)",
            Outcome::AlreadyDone => "この業務日の実行は完了済みです(何もしていません)",
            Outcome::Stopped => {
                "大量削除の防止のため停止しました(何も送信していません。件数を確認してください)"
            }
            Outcome::Aborted => "中止しました(この実行では何も送信していません)",
            Outcome::Interrupted => "送信の途中で停止しました(次回の実行で続きから再開します)",
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
    /// Nothing changed since PMH last accepted: nothing to send.
    Unchanged,
    /// This business day's run had already been delivered: a no-op.
    AlreadyDone,
    /// The mass-change guard stopped the run before anything was sent.
    Stopped,
    /// Planned, and delivery failed part way: the next run resumes it.
    Interrupted,
    /// Stopped before delivery completed; nothing of this run was delivered.
    Aborted,
}

#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    pub pmhlink_version: &'static str,
    pub run_id: String,
    /// This process's attempt at the run (journaled in the ledger); none for a dry run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u32>,
    pub mode: &'static str,
    pub municipality_code: String,
    pub municipality_name: String,
    pub pipeline: String,
    pub api: String,
    pub profile: String,
    pub business_date: String,
    pub started_at: String,
    pub finished_at: String,
    /// What the day's reading found: the same on every path of the day (first attempt,
    /// resumed, re-run).
    #[serde(flatten)]
    pub reading: crate::day::Reading,
    /// `diff`, `full` or `reset`.
    pub sync: &'static str,
    /// What changed against the ledger; absent when the run never got that far.
    pub diff: Option<DiffCounts>,
    /// The ledger file this run used.
    pub ledger: Option<String>,
    /// Earlier interrupted runs this run finished delivering first.
    pub resumed: Vec<String>,
    /// PMH's results this run collected (for its own batches and earlier ones).
    pub results: ResultsSeen,
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

/// The Unix time of a `YYYY-MM-DDTHH:MM:SSZ` written by [`rfc3339_utc`]; none for other text.
pub fn parse_rfc3339_utc(text: &str) -> Option<i64> {
    let (date, time) = text.strip_suffix('Z')?.split_once('T')?;
    let day = pmhlink_rules::CivilDate::parse_iso(date).ok()?;
    let mut hms = time.split(':').map(|p| p.parse::<i64>().ok());
    let (h, m, s) = (hms.next()??, hms.next()??, hms.next()??);
    if hms.next().is_some() || h > 23 || m > 59 || s > 59 || h < 0 || m < 0 || s < 0 {
        return None;
    }
    Some(day.to_unix_days() * 86_400 + h * 3600 + m * 60 + s)
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
        for t in [0, 1_767_225_599, 1_700_000_000, 951_782_400] {
            assert_eq!(super::parse_rfc3339_utc(&super::rfc3339_utc(t)), Some(t));
        }
        for bad in [
            "",
            "2025-12-31",
            "2025-12-31T24:00:00Z",
            "2025-12-31T23:59:59",
            "x",
        ] {
            assert_eq!(super::parse_rfc3339_utc(bad), None, "{bad}");
        }
    }
}
