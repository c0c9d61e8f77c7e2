//! Records that failed a rule are quarantined, not sent. Operators open the quarantine list in
//! Excel: UTF-8 with a BOM (so Excel reads it as UTF-8), CRLF, Japanese headers, one row per
//! finding, with where the record came from. My Number appears masked to its last four
//! digits, enough to find the person in the vendor system; no other personal value appears.
//! Rows a plugin could not read — of the primary source or of a joined one — are listed too,
//! with the plugin's reason (which names a position, never content).

use pmhlink_profile::Layout;
use pmhlink_profile::spec::LineEnding;
use pmhlink_profile::write::csv_row;
use pmhlink_rules::{FieldRef, Finding, Severity};
use serde::Serialize;

/// One quarantined record: where it came from, and every finding about it.
#[derive(Clone, Debug)]
pub struct Quarantined {
    pub source: String,
    pub line: Option<u64>,
    pub history_key: Option<String>,
    pub my_number_masked: Option<String>,
    pub findings: Vec<Finding>,
    /// The ledger's name for the row across runs (a keyed hash; never shown).
    pub qkey: [u8; 16],
    /// For a row the plugin could not read: its reason.
    pub reason: Option<String>,
    /// The row's value in `report.quarantine_key` (宛名番号, …), so staff find it in the vendor
    /// system; never for a row the plugin could not read (its cells may be misaligned).
    pub source_key: Option<String>,
}

/// A quarantined record as the ledger's check quarantine keeps it (since when, how many runs
/// in a row): only the errors quarantined it, one code per kind of error.
#[derive(Clone, Debug)]
pub struct Held {
    pub qkey: [u8; 16],
    pub codes: String,
    pub history_key: Option<String>,
    pub source: String,
    pub line: Option<u64>,
}

impl Held {
    pub fn of(q: &Quarantined) -> Held {
        let mut codes: Vec<&str> = q
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .map(|f| f.code.as_str())
            .collect();
        codes.dedup();
        Held {
            qkey: q.qkey,
            codes: codes.join(","),
            history_key: q.history_key.clone(),
            source: q.source.clone(),
            line: q.line,
        }
    }

    pub fn row(&self) -> pmhlink_ledger::HeldRow<'_> {
        pmhlink_ledger::HeldRow {
            qkey: self.qkey,
            codes: &self.codes,
            history_key: self.history_key.as_deref(),
            source: &self.source,
            line: self.line,
        }
    }
}

/// A row of any source that its plugin could not read.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UnreadableRow {
    pub source: String,
    pub line: u64,
    /// The plugin's row error: a position and what is wrong there, never content.
    pub reason: String,
}

/// A plugin's reason as the reports show it: bounded, whatever a third-party plugin said.
pub fn bounded_reason(reason: &str) -> String {
    const MAX: usize = 240;
    if reason.len() <= MAX {
        return reason.to_owned();
    }
    let cut = (0..=MAX)
        .rev()
        .find(|&i| reason.is_char_boundary(i))
        .unwrap_or(0);
    format!("{}…", &reason[..cut])
}

fn with_reason(message: String, reason: Option<&str>) -> String {
    match reason {
        Some(r) => format!("{message} ({r})"),
        None => message,
    }
}

pub fn mask_my_number(my_number: &str) -> Option<String> {
    let digits: Vec<char> = my_number.chars().filter(char::is_ascii_digit).collect();
    (digits.len() >= 4).then(|| {
        format!(
            "********{}",
            digits[digits.len() - 4..].iter().collect::<String>()
        )
    })
}

pub const CSV_HEADERS: [&str; 9] = [
    "ソース",
    "行",
    "履歴キー",
    "個人番号(下4桁)",
    "項目",
    "キー",
    "コード",
    "重大度",
    "メッセージ",
];

/// A finding as a report shows it: the field's label and wire key from the layout.
#[derive(Clone, Debug, Serialize)]
pub struct FindingView {
    pub label: String,
    pub key: String,
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    pub message_en: String,
}

pub fn view(layout: &Layout, f: &Finding) -> FindingView {
    let (label, key) = match &f.field {
        FieldRef::Field(id) => match layout.fields.iter().find(|s| s.id == *id) {
            Some(spec) => (spec.label.clone(), spec.key.clone()),
            None => (id.name().to_owned(), id.name().to_owned()),
        },
        FieldRef::Key(k) => (k.clone(), k.clone()),
        FieldRef::Record => ("(レコード全体)".to_owned(), String::new()),
    };
    FindingView {
        label,
        key,
        code: f.code.as_str(),
        severity: f.severity,
        message: f.message_ja(),
        message_en: f.message_en(),
    }
}

/// The list's cells in order: with a key column (`report.quarantine_key`, headed by its
/// column name) beside the line number when the pipeline names one.
fn row_with_key<'a>(cells: [&'a str; 9], key: Option<&'a str>) -> Vec<&'a str> {
    let mut row = cells.to_vec();
    if let Some(key) = key {
        row.insert(2, key);
    }
    row
}

/// The quarantine list as CSV bytes: the primary source's quarantined rows, then the rows of
/// joined sources that could not be read (the primary's own unreadable rows are quarantined
/// records already). `key_column` names the primary source's column shown beside the line.
pub fn to_csv(
    layout: &Layout,
    primary: &str,
    key_column: Option<&str>,
    quarantined: &[Quarantined],
    unreadable: &[UnreadableRow],
) -> Vec<u8> {
    let mut out = "\u{FEFF}".as_bytes().to_vec();
    csv_row(
        &row_with_key(CSV_HEADERS, key_column),
        LineEnding::Crlf,
        &mut out,
    );
    for q in quarantined {
        let key = key_column.map(|_| q.source_key.as_deref().unwrap_or(""));
        let line = q.line.map(|l| l.to_string()).unwrap_or_default();
        for f in &q.findings {
            let v = view(layout, f);
            let message = with_reason(v.message, q.reason.as_deref());
            let severity = f.severity.label_ja();
            let cells = [
                q.source.as_str(),
                line.as_str(),
                q.history_key.as_deref().unwrap_or(""),
                q.my_number_masked.as_deref().unwrap_or(""),
                v.label.as_str(),
                v.key.as_str(),
                v.code,
                severity,
                message.as_str(),
            ];
            csv_row(&row_with_key(cells, key), LineEnding::Crlf, &mut out);
        }
    }
    let unreadable_code = Finding::on(pmhlink_rules::Code::SourceRowUnreadable, FieldRef::Record);
    for u in unreadable.iter().filter(|u| u.source != primary) {
        let v = view(layout, &unreadable_code);
        let line = u.line.to_string();
        let message = with_reason(v.message, Some(&u.reason));
        let cells = [
            u.source.as_str(),
            line.as_str(),
            "",
            "",
            v.label.as_str(),
            v.key.as_str(),
            v.code,
            unreadable_code.severity.label_ja(),
            message.as_str(),
        ];
        csv_row(
            &row_with_key(cells, key_column.map(|_| "")),
            LineEnding::Crlf,
            &mut out,
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_keeps_only_the_last_four_digits() {
        assert_eq!(
            mask_my_number("123456789018").as_deref(),
            Some("********9018")
        );
        assert_eq!(mask_my_number("12"), None);
        assert_eq!(mask_my_number(""), None);
    }
}
