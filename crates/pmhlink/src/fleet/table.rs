//! The fleet's one table: a line per municipality (団体, outcome, rows sent, quarantined,
//! pending results, time, and why a failed one failed), as text or JSON, and the fleet's
//! exit status, the worst of its members'.

use serde::Serialize;

use pmhlink_runner::exit;

/// One member's line.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Row {
    /// The pipeline file, as given or found.
    pub file: String,
    pub municipality_code: Option<String>,
    pub municipality_name: Option<String>,
    /// `sent`, `unchanged`, `aborted`, … as a run report says; `ok` / `failed` for `check`
    /// and `status`; `config_error` when the pipeline could not be loaded, `timed_out`,
    /// `crashed` when the process ended without a status of pmhlink's.
    pub outcome: String,
    /// The member's exit status as `pmhlink run`/`check`/`status` documents it (a time-out or
    /// crash counts as 4).
    pub exit_code: u8,
    pub rows_read: Option<u64>,
    pub rows_sent: Option<u64>,
    pub rows_quarantined: Option<u64>,
    /// Rows sent whose result from PMH has not come back, from the ledger.
    pub pending_rows: Option<u64>,
    pub seconds: f64,
    /// Why it failed: pmhlink's own message (files and keys, never values).
    pub reason: Option<String>,
    /// The run's report file.
    pub report: Option<String>,
}

/// The fleet's exit status: 4 when any member aborted, timed out or crashed, else 2 when any
/// could not be loaded or checked, else 3 when any quarantined records, else 0.
pub fn worst(rows: &[Row]) -> u8 {
    let rank = |code: u8| match code {
        exit::OK => 0,
        exit::QUARANTINED => 1,
        exit::CONFIG => 2,
        _ => 3,
    };
    rows.iter()
        .map(|r| r.exit_code)
        .max_by_key(|c| rank(*c))
        .unwrap_or(exit::OK)
}

fn cell(v: Option<u64>) -> String {
    v.map_or_else(|| "-".to_owned(), |n| n.to_string())
}

/// The table as the operator reads it.
pub fn render(rows: &[Row]) -> String {
    let mut out = format!(
        "{:<6}  {:<20}  {:>9}  {:>7}  {:>9}  {:>8}  {}\n",
        "団体", "結果", "送信", "隔離", "結果待ち", "時間", "団体名 / 理由"
    );
    for r in rows {
        let mut tail = r
            .municipality_name
            .clone()
            .unwrap_or_else(|| r.file.clone());
        if let Some(reason) = &r.reason {
            tail.push_str(" — ");
            tail.push_str(reason);
        }
        out.push_str(&format!(
            "{:<6}  {:<20}  {:>9}  {:>7}  {:>9}  {:>7.1}s  {}\n",
            r.municipality_code.as_deref().unwrap_or("-"),
            r.outcome,
            cell(r.rows_sent),
            cell(r.rows_quarantined),
            cell(r.pending_rows),
            r.seconds,
            tail
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(code: u8) -> Row {
        Row {
            exit_code: code,
            ..Row::default()
        }
    }

    #[test]
    fn the_worst_status_wins() {
        let cases: [(&[u8], u8); 6] = [
            (&[], 0),
            (&[0, 0], 0),
            (&[0, 3], 3),
            (&[3, 2, 0], 2),
            (&[2, 4, 3], 4),
            (&[4, 0], 4),
        ];
        for (codes, expected) in cases {
            let rows: Vec<Row> = codes.iter().map(|c| row(*c)).collect();
            assert_eq!(worst(&rows), expected, "{codes:?}");
        }
    }
}
