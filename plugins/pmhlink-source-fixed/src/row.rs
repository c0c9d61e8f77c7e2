//! Cuts one record into cells by byte offsets, with the row errors of the record.

use pmhlink_pdk::api::BatchBuilder;

use crate::{
    config::{Settings, trim_spaces},
    records::Record,
};

/// Reused across records so a row costs no allocation for its character boundaries.
#[derive(Default)]
pub struct Cutter {
    starts: Vec<bool>,
}

/// Whether a record is yielded at all.
pub fn wanted(settings: &Settings, record: &Record<'_>) -> bool {
    match &settings.record_type {
        None => true,
        // Too short to have a type: yielded, so the row error reports it.
        Some(filter) => match record.bytes.get(filter.bytes.clone()) {
            Some(t) => filter.keep.iter().any(|k| k == trim_spaces(t)),
            None => true,
        },
    }
}

fn trim(text: &str) -> &str {
    text.trim_matches([' ', '\u{3000}'])
}

impl Cutter {
    /// Appends the record as a row. Every field gives a cell, empty when the field is missing,
    /// splits a character or does not decode; each such field adds a row error.
    pub fn push_row(&mut self, settings: &Settings, record: &Record<'_>, batch: &mut BatchBuilder) {
        let (file, line, bytes) = (&settings.file_name, record.number, record.bytes);
        let what = match settings.line_ending {
            crate::config::LineEnding::None => "record",
            _ => "line",
        };
        let mut short = false;
        if let Some(ending) = record.wrong_ending {
            batch.row_error(format!(
                "{file} {what} {line}: ends with {ending}, the layout says {}",
                if ending == "LF" { "CRLF" } else { "LF" }
            ));
        }
        if let Some(length) = settings.record_length.filter(|&l| l != bytes.len()) {
            batch.row_error(format!(
                "{file} {what} {line}: {} bytes, the layout has {length}",
                bytes.len()
            ));
            // The length error already says why fields do not fit.
            short = bytes.len() < length;
        }
        if let Some(filter) = &settings.record_type
            && filter.bytes.end > bytes.len()
            && !short
        {
            batch.row_error(format!(
                "{file} {what} {line}: the record type needs bytes {}..{}, the {what} has {}",
                filter.bytes.start,
                filter.bytes.end,
                bytes.len()
            ));
            short = true;
        }
        let ascii = bytes.is_ascii();
        if !ascii {
            crate::decode::char_starts(settings.encoding, bytes, &mut self.starts);
        }
        for field in &settings.fields {
            let (start, end) = (field.bytes.start, field.bytes.end);
            let name = &field.name;
            let Some(cut) = bytes.get(start..end) else {
                if !short {
                    batch.row_error(format!(
                        "{file} {what} {line}: field `{name}` needs bytes {start}..{end}, the {what} has {}",
                        bytes.len()
                    ));
                    // One missing field says it; the ones after it would repeat it.
                    short = true;
                }
                batch.push_cell("");
                continue;
            };
            let split = if ascii {
                None
            } else if !self.starts[start] {
                Some(("starts", start))
            } else if !self.starts[end] {
                Some(("ends", end - 1))
            } else {
                None
            };
            if let Some((edge, at)) = split {
                batch.row_error(format!(
                    "{file} {what} {line}, field `{name}` (bytes {start}..{end}): {edge} inside a {} character at byte {at}",
                    crate::decode::wide(settings.encoding)
                ));
                batch.push_cell("");
                continue;
            }
            match settings.encoding.decode(cut) {
                Ok(text) if settings.trim => batch.push_cell(trim(&text)),
                Ok(text) => batch.push_cell(&text),
                Err(offset) => {
                    batch.row_error(format!(
                        "{file} {what} {line}, field `{name}` (bytes {start}..{end}): malformed {} byte at byte {}",
                        settings.encoding.name(),
                        start + offset
                    ));
                    batch.push_cell("");
                }
            }
        }
        batch.end_row(line);
    }
}
