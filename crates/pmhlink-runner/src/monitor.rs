//! What monitoring reads about a pipeline: what its ledger holds and how its last run went,
//! as one [`Watch`] (`pmhlink status --json`, `pmhlink fleet status`), and any number of them
//! as OpenMetrics text ([`openmetrics`]: the file a run leaves for node_exporter's textfile
//! collector, `status --metrics`, `fleet status --metrics`). One function makes each, so the
//! table, the JSON and the metrics cannot disagree.
//!
//! Counts and times only: no value of a record, no path but the ledger's and the report's.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use pmhlink_config::Pipeline;
use pmhlink_ledger::{RunState, Status};
use serde::Serialize;

use crate::report::{Outcome, RunReport};
use crate::vocab::PipelineError;

/// How one attempt at a day ended, as its run report says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LastRun {
    pub run_id: String,
    /// The attempt's number in the ledger's journal; none for an attempt that never opened
    /// the ledger (another process held it, say).
    pub attempt: Option<u32>,
    pub business_date: String,
    /// The report's `outcome` (`sent`, `sent_with_quarantine`, `unchanged`, `aborted`, …).
    pub outcome: String,
    pub exit_code: u8,
    /// Unix seconds.
    pub started_at: i64,
    pub finished_at: i64,
    /// Rows of the primary source the day read.
    pub rows_read: u64,
    /// Records the day's payloads carried.
    pub rows_sent: u64,
    /// Records the day quarantined.
    pub rows_quarantined: u64,
    /// The report file.
    pub report: String,
}

impl LastRun {
    /// The figures of a report just written (a run's own, before anything reads it back).
    pub fn of(report: &RunReport, path: &Path) -> LastRun {
        LastRun {
            run_id: report.run_id.clone(),
            attempt: report.attempt,
            business_date: report.business_date.clone(),
            outcome: outcome_name(report.outcome).to_owned(),
            exit_code: report.exit_code,
            started_at: crate::report::parse_rfc3339_utc(&report.started_at).unwrap_or(0),
            finished_at: crate::report::parse_rfc3339_utc(&report.finished_at).unwrap_or(0),
            rows_read: report.reading.records.rows,
            rows_sent: report.diff.as_ref().map_or(0, |d| d.sent),
            rows_quarantined: report.reading.records.quarantined,
            report: path.display().to_string(),
        }
    }

    /// The same figures read back from a report file; none when the file is not a report.
    fn read(path: &Path) -> Option<LastRun> {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
        let text = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_owned);
        let number = |x: Option<&serde_json::Value>| x.and_then(|x| x.as_u64()).unwrap_or(0);
        let time = |k: &str| text(k).and_then(|t| crate::report::parse_rfc3339_utc(&t));
        Some(LastRun {
            run_id: text("run_id")?,
            attempt: v.get("attempt").and_then(|a| a.as_u64()).map(|a| a as u32),
            business_date: text("business_date")?,
            outcome: text("outcome")?,
            exit_code: u8::try_from(v.get("exit_code")?.as_u64()?).ok()?,
            started_at: time("started_at")?,
            finished_at: time("finished_at")?,
            rows_read: number(v.pointer("/records/rows")),
            rows_sent: number(v.pointer("/diff/sent")),
            rows_quarantined: number(v.pointer("/records/quarantined")),
            report: path.display().to_string(),
        })
    }

    pub fn duration_seconds(&self) -> i64 {
        (self.finished_at - self.started_at).max(0)
    }
}

/// Every outcome a report can give, in the order metrics list them.
pub const OUTCOMES: [Outcome; 8] = [
    Outcome::Sent,
    Outcome::SentWithQuarantine,
    Outcome::Planned,
    Outcome::Unchanged,
    Outcome::AlreadyDone,
    Outcome::Stopped,
    Outcome::Interrupted,
    Outcome::Aborted,
];

pub fn outcome_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Sent => "sent",
        Outcome::SentWithQuarantine => "sent_with_quarantine",
        Outcome::Planned => "planned",
        Outcome::Unchanged => "unchanged",
        Outcome::AlreadyDone => "already_done",
        Outcome::Stopped => "stopped",
        Outcome::Interrupted => "interrupted",
        Outcome::Aborted => "aborted",
    }
}

/// A pipeline as monitoring sees it: what `status --json` prints.
#[derive(Clone, Debug, Serialize)]
pub struct Watch {
    pub municipality_code: String,
    pub municipality_name: String,
    /// The pipeline file's name without its extension (the run id's last part).
    pub pipeline: String,
    #[serde(flatten)]
    pub status: Status,
    /// The newest journaled run's latest report; none before the first run.
    pub last_run: Option<LastRun>,
    /// When the newest attempt that delivered everything (or had nothing to deliver) ended,
    /// Unix seconds; none when none of the journal's recent runs did.
    pub last_success_at: Option<i64>,
}

/// What the pipeline's ledger holds and how its last run went. Reads the ledger (which must
/// exist) and the last run's report; runs nothing.
pub fn watch(pipeline: &Pipeline, recent_runs: u32) -> Result<Watch, PipelineError> {
    let ledger = crate::prepare::existing_ledger(pipeline)?;
    let status = ledger.status(recent_runs).map_err(PipelineError::Ledger)?;
    drop(ledger);
    let last_run = status
        .recent_runs
        .first()
        .and_then(|r| latest_report(&report_dir(pipeline).join(&r.run_id)))
        .and_then(|p| LastRun::read(&p));
    let last_success_at = status
        .recent_runs
        .iter()
        .find(|r| matches!(r.state, RunState::Delivered | RunState::Settled))
        .and_then(|r| r.finished_at);
    Ok(Watch {
        municipality_code: pipeline.municipality.code.clone(),
        municipality_name: pipeline.municipality.name.clone(),
        pipeline: pipeline.name().to_owned(),
        status,
        last_run,
        last_success_at,
    })
}

fn report_dir(pipeline: &Pipeline) -> PathBuf {
    pipeline.resolve(Path::new(&pipeline.report.dir))
}

/// The report a run's folder got last: `report.json`, then `report.2.json`, … (a dry run's
/// `report-plan*.json` are not runs).
fn latest_report(dir: &Path) -> Option<PathBuf> {
    let attempt_of = |name: &str| -> Option<u32> {
        let tag = name.strip_prefix("report")?.strip_suffix(".json")?;
        match tag {
            "" => Some(1),
            _ => tag.strip_prefix('.')?.parse().ok(),
        }
    };
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            attempt_of(&name).map(|n| (n, e.path()))
        })
        .max_by_key(|(n, _)| *n)
        .map(|(_, p)| p)
}

/// One pipeline's sample set for [`openmetrics`]: its identity, and what could be learnt.
#[derive(Clone, Debug)]
pub struct Sampled<'a> {
    pub municipality_code: &'a str,
    pub pipeline: &'a str,
    /// The ledger's figures; none when the ledger could not be read (then `up` is 0).
    pub status: Option<&'a Status>,
    pub last_run: Option<&'a LastRun>,
    pub last_success_at: Option<i64>,
}

impl<'a> From<&'a Watch> for Sampled<'a> {
    fn from(w: &'a Watch) -> Self {
        Sampled {
            municipality_code: &w.municipality_code,
            pipeline: &w.pipeline,
            status: Some(&w.status),
            last_run: w.last_run.as_ref(),
            last_success_at: w.last_success_at,
        }
    }
}

/// A metric family: name, type and help, and how a pipeline gives its samples (label suffix,
/// value). The list is the documentation: `docs/monitoring.md` is generated from it.
pub struct Family {
    pub name: &'static str,
    pub kind: &'static str,
    pub help: &'static str,
    samples: fn(&Sampled<'_>) -> Vec<(String, f64)>,
}

fn one(v: Option<f64>) -> Vec<(String, f64)> {
    v.map(|v| vec![(String::new(), v)]).unwrap_or_default()
}

fn from_status(s: &Sampled<'_>, f: fn(&Status) -> f64) -> Vec<(String, f64)> {
    one(s.status.map(f))
}

fn from_last_run(s: &Sampled<'_>, f: fn(&LastRun) -> f64) -> Vec<(String, f64)> {
    one(s.last_run.map(f))
}

pub const FAMILIES: &[Family] = &[
    Family {
        name: "pmhlink_up",
        kind: "gauge",
        help: "1 when the pipeline's ledger could be read, 0 when not (locked, damaged, missing, wrong key).",
        samples: |s| one(Some(if s.status.is_some() { 1.0 } else { 0.0 })),
    },
    Family {
        name: "pmhlink_last_success_timestamp_seconds",
        kind: "gauge",
        help: "When the newest run that delivered everything (or had nothing to send) ended.",
        samples: |s| one(s.last_success_at.map(|t| t as f64)),
    },
    Family {
        name: "pmhlink_last_run_timestamp_seconds",
        kind: "gauge",
        help: "When the last run ended, whatever its outcome.",
        samples: |s| from_last_run(s, |r| r.finished_at as f64),
    },
    Family {
        name: "pmhlink_last_run_duration_seconds",
        kind: "gauge",
        help: "How long the last run took.",
        samples: |s| from_last_run(s, |r| r.duration_seconds() as f64),
    },
    Family {
        name: "pmhlink_last_run_exit_code",
        kind: "gauge",
        help: "The last run's exit status (0 sent, 3 with quarantined records, 4 aborted).",
        samples: |s| from_last_run(s, |r| f64::from(r.exit_code)),
    },
    Family {
        name: "pmhlink_last_run_outcome",
        kind: "gauge",
        help: "1 for the last run's outcome, 0 for every other outcome.",
        samples: |s| {
            let Some(run) = s.last_run else {
                return Vec::new();
            };
            OUTCOMES
                .iter()
                .map(|o| {
                    let name = outcome_name(*o);
                    let value = if run.outcome == name { 1.0 } else { 0.0 };
                    (format!(",outcome=\"{name}\""), value)
                })
                .collect()
        },
    },
    Family {
        name: "pmhlink_last_run_rows_read",
        kind: "gauge",
        help: "Rows of the primary source the last run read.",
        samples: |s| from_last_run(s, |r| r.rows_read as f64),
    },
    Family {
        name: "pmhlink_last_run_rows_sent",
        kind: "gauge",
        help: "Records the last run's payloads carried.",
        samples: |s| from_last_run(s, |r| r.rows_sent as f64),
    },
    Family {
        name: "pmhlink_last_run_rows_quarantined",
        kind: "gauge",
        help: "Records the last run quarantined.",
        samples: |s| from_last_run(s, |r| r.rows_quarantined as f64),
    },
    Family {
        name: "pmhlink_accepted_rows",
        kind: "gauge",
        help: "History rows PMH accepted and holds, as the ledger knows.",
        samples: |s| from_status(s, |st| st.accepted_rows as f64),
    },
    Family {
        name: "pmhlink_pending_rows",
        kind: "gauge",
        help: "Rows sent (or about to be) whose result from PMH has not come back.",
        samples: |s| from_status(s, |st| st.pending_rows as f64),
    },
    Family {
        name: "pmhlink_awaiting_result_batches",
        kind: "gauge",
        help: "Batches delivered whose result from PMH has not come back.",
        samples: |s| from_status(s, |st| st.awaiting_results.len() as f64),
    },
    Family {
        name: "pmhlink_quarantined_rows",
        kind: "gauge",
        help: "Rows held back: by pmhlink's checks (reason=\"check\") or refused by PMH (reason=\"rejected\").",
        samples: |s| {
            s.status
                .map(|st| {
                    vec![
                        (
                            ",reason=\"check\"".to_owned(),
                            st.quarantined_by_checks as f64,
                        ),
                        (",reason=\"rejected\"".to_owned(), st.rejected_by_pmh as f64),
                    ]
                })
                .unwrap_or_default()
        },
    },
    Family {
        name: "pmhlink_oldest_quarantine_age_seconds",
        kind: "gauge",
        help: "How long the oldest quarantined row has been held (absent when none is).",
        samples: |s| {
            one(s
                .status
                .and_then(|st| st.oldest_quarantine_since)
                .map(|since| (crate::report::now_unix() - since).max(0) as f64))
        },
    },
    Family {
        name: "pmhlink_unfinished_runs",
        kind: "gauge",
        help: "Runs planned but not fully delivered (the next run resumes them).",
        samples: |s| from_status(s, |st| st.unfinished_runs.len() as f64),
    },
    Family {
        name: "pmhlink_ledger_size_bytes",
        kind: "gauge",
        help: "The ledger file's size.",
        samples: |s| from_status(s, |st| st.size_bytes as f64),
    },
];

/// A label value as the exposition format writes it.
fn label_value(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The samples of every pipeline, family by family (a family is written once, whatever the
/// number of pipelines), labelled `municipality` and `pipeline`; ends with `# EOF`.
pub fn openmetrics(pipelines: &[Sampled<'_>]) -> String {
    let mut out = String::new();
    for f in FAMILIES {
        let _ = writeln!(out, "# TYPE {} {}", f.name, f.kind);
        let _ = writeln!(out, "# HELP {} {}", f.name, f.help);
        for p in pipelines {
            let labels = format!(
                "municipality=\"{}\",pipeline=\"{}\"",
                label_value(p.municipality_code),
                label_value(p.pipeline)
            );
            for (extra, value) in (f.samples)(p) {
                let _ = writeln!(out, "{}{{{labels}{extra}}} {value}", f.name);
            }
        }
    }
    out.push_str("# EOF\n");
    out
}

/// Writes `text` to `path` as node_exporter's textfile collector wants it: whole or not at
/// all (a temporary file beside it, renamed over it).
pub fn write_textfile(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("the metrics file has no file name"))?;
    // The collector reads `*.prom` only: the temporary name must not end so.
    let tmp = dir.join(format!(".{}.tmp", name.to_string_lossy()));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

/// The reference table of the metrics, for `docs/monitoring.md`.
pub fn reference_table() -> String {
    let mut out = String::from("| metric | type | labels | meaning |\n|---|---|---|---|\n");
    for f in FAMILIES {
        let labels = match f.name {
            "pmhlink_last_run_outcome" => "municipality, pipeline, outcome",
            "pmhlink_quarantined_rows" => "municipality, pipeline, reason",
            _ => "municipality, pipeline",
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {labels} | {} |",
            f.name,
            f.kind,
            f.help.replace('|', "\\|")
        );
    }
    out
}

/// `page` with the text between its metrics markers replaced by [`reference_table`]: how
/// `cargo xtask docs` writes `docs/monitoring.md`. None when the markers are missing.
pub fn with_reference_table(page: &str) -> Option<String> {
    let begin = page.find("<!-- metrics:begin")?;
    let body = begin + page[begin..].find('\n')? + 1;
    let end = body + page[body..].find("<!-- metrics:end -->")?;
    Some(format!(
        "{}{}{}",
        &page[..body],
        reference_table(),
        &page[end..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label_value(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(label_value("x\ny"), "x\\ny");
    }

    #[test]
    fn the_latest_report_is_the_highest_attempt_and_never_a_plan() {
        let dir = std::env::temp_dir().join(format!("pmhlink-monitor-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for name in [
            "report.json",
            "report.2.json",
            "report.10.json",
            "report-plan.json",
            "report-plan.11.json",
            "quarantine.json",
        ] {
            std::fs::write(dir.join(name), "{}").unwrap();
        }
        assert_eq!(latest_report(&dir), Some(dir.join("report.10.json")));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_pipeline_whose_ledger_cannot_be_read_is_down_with_no_other_sample() {
        let text = openmetrics(&[Sampled {
            municipality_code: "139998",
            pipeline: "pipeline",
            status: None,
            last_run: None,
            last_success_at: None,
        }]);
        let samples: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            samples,
            ["pmhlink_up{municipality=\"139998\",pipeline=\"pipeline\"} 0"]
        );
        assert!(text.ends_with("# EOF\n"));
    }
}
