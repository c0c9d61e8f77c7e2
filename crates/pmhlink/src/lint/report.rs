//! What lint prints: a JSON array of findings, or a report for people (Japanese labels, counts
//! by code, the first findings one by one). Neither ever holds a value from the file.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;

use pmhlink_profile::Layout;
use pmhlink_rules::{Code, Finding, Severity};
use serde::Serialize;

use super::{Located, Sink};

/// Pads to a terminal width where full-width characters take two columns.
fn pad(s: &str, width: usize) -> String {
    let used: usize = s.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum();
    format!("{s}{}", " ".repeat(width.saturating_sub(used)))
}

#[derive(Debug, Default)]
pub struct Summary {
    pub records: u64,
    pub records_with_errors: u64,
    pub errors: u64,
    pub warnings: u64,
    pub by_code: BTreeMap<(Severity, Code), u64>,
}

impl Summary {
    pub fn add_record(&mut self, findings: &[Finding]) {
        let mut has_error = false;
        for f in findings {
            *self.by_code.entry((f.severity, f.code)).or_default() += 1;
            match f.severity {
                Severity::Error => {
                    self.errors += 1;
                    has_error = true;
                }
                Severity::Warning => self.warnings += 1,
            }
        }
        self.records_with_errors += u64::from(has_error);
    }
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    record: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u64>,
    field: Option<&'a str>,
    code: Code,
    severity: Severity,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<u32>,
    message: String,
    message_en: String,
}

/// Streams findings as one JSON array, so `--json` output starts before the file is finished.
///
/// The first failed write (the reader closed the pipe) ends the output: later findings are
/// still counted by the caller, which decides the exit status, but no longer formatted.
pub struct JsonSink<W: Write> {
    out: std::io::BufWriter<W>,
    first: bool,
    failed: bool,
}

impl<W: Write> JsonSink<W> {
    pub fn new(out: W) -> Self {
        let mut sink = JsonSink {
            out: std::io::BufWriter::new(out),
            first: true,
            failed: false,
        };
        sink.write(|out| out.write_all(b"["));
        sink
    }

    fn write(&mut self, f: impl FnOnce(&mut std::io::BufWriter<W>) -> std::io::Result<()>) {
        if !self.failed && f(&mut self.out).is_err() {
            self.failed = true;
        }
    }

    pub fn close(mut self) {
        let end: &[u8] = if self.first { b"]\n" } else { b"\n]\n" };
        self.write(|out| out.write_all(end).and_then(|()| out.flush()));
    }
}

impl<W: Write> Sink for JsonSink<W> {
    fn finding(&mut self, l: Located<'_>) {
        if self.failed {
            return;
        }
        let f = l.finding;
        let item = JsonFinding {
            record: l.record,
            line: l.line,
            field: l.field,
            code: f.code,
            severity: f.severity,
            limit: f.limit,
            message: f.message_ja(),
            message_en: f.message_en(),
        };
        let separator: &[u8] = if self.first { b"\n  " } else { b",\n  " };
        self.write(|out| {
            out.write_all(separator)?;
            serde_json::to_writer(out, &item).map_err(std::io::Error::from)
        });
        self.first = false;
    }
}

struct Listed {
    record: u64,
    line: Option<u64>,
    field: String,
    finding: Finding,
}

/// Keeps the first findings for the report; the rest are only counted.
pub struct TextSink {
    max: usize,
    listed: Vec<Listed>,
}

impl TextSink {
    pub fn new(max: usize) -> Self {
        TextSink {
            max,
            listed: Vec::new(),
        }
    }

    pub fn render(&self, file: &str, layout: &Layout, s: &Summary) -> String {
        let mut o = String::new();
        let format = match layout.format() {
            pmhlink_profile::Format::Json => "JSON",
            pmhlink_profile::Format::Csv => "CSV",
        };
        let _ = writeln!(o, "pmhlink lint: {file}");
        let _ = writeln!(
            o,
            "  API:          {} {} ({format})",
            layout.api.full_name(),
            layout.spec.label
        );
        let _ = writeln!(
            o,
            "  プロファイル: {} {}",
            layout.profile_name, layout.profile_version
        );
        let _ = writeln!(o, "  レコード数:   {}", s.records);
        let _ = writeln!(o, "  エラーのあるレコード: {}", s.records_with_errors);
        let _ = writeln!(o, "  エラー: {}件  警告: {}件", s.errors, s.warnings);
        if !s.by_code.is_empty() {
            let _ = writeln!(o, "\nコード別件数:");
            for ((severity, code), n) in &s.by_code {
                let _ = writeln!(
                    o,
                    "  {} {:<30} {:>8}件  {}",
                    pad(severity.label_ja(), 6),
                    code.as_str(),
                    n,
                    code.message_ja_template().replace("{limit}", "N")
                );
            }
        }
        if !self.listed.is_empty() {
            let total = s.errors + s.warnings;
            let _ = writeln!(o, "\n明細 ({}件中 最初の{}件):", total, self.listed.len());
            for l in &self.listed {
                let at = match l.line {
                    Some(line) => format!("レコード {} (行 {line})", l.record),
                    None => format!("レコード {}", l.record),
                };
                let _ = writeln!(
                    o,
                    "  {at}  {}  {}  {}  {}",
                    l.field,
                    l.finding.severity.label_ja(),
                    l.finding.code,
                    l.finding.message_ja()
                );
            }
        }
        let verdict = if s.errors > 0 {
            "判定: エラーがあります。このファイルは送信できません。"
        } else if s.warnings > 0 {
            "判定: 送信できます(警告を確認してください)。"
        } else {
            "判定: 送信できます。"
        };
        let _ = writeln!(o, "\n{verdict}");
        o
    }
}

impl Sink for TextSink {
    fn finding(&mut self, l: Located<'_>) {
        if self.listed.len() < self.max {
            self.listed.push(Listed {
                record: l.record,
                line: l.line,
                field: l.field.unwrap_or("(レコード全体)").to_owned(),
                finding: l.finding.clone(),
            });
        }
    }
}
