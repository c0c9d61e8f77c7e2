//! Payload writers: records in the layout's wire form, split into calls that respect the
//! profile's limits (records and bytes per call).

use pmhlink_model::{FieldKind, Record};

use crate::api::Format;
use crate::layout::{Layout, Node, Part};
use crate::spec::LineEnding;

/// One registration call's body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    /// 0-based position among the run's batches for this API.
    pub seq: usize,
    pub records: usize,
    pub bytes: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(
        "record {index} alone is {bytes} bytes, over the limit of {limit} bytes per payload (the pipeline's `batch.max_bytes`, else the profile's `limits.max_bytes`)"
    )]
    RecordTooLarge {
        index: usize,
        bytes: usize,
        limit: usize,
    },
    #[error(
        "record {index} has {items} certificate face items; the profile's CSV layout has {columns} column pairs"
    )]
    TooManyItemsForCsv {
        index: usize,
        items: usize,
        columns: usize,
    },
    #[error("cannot encode record {index}: {message}")]
    Encode { index: usize, message: String },
}

fn present(layout: &Layout, record: &Record, node: &Node) -> bool {
    match node {
        Node::Field(i) => {
            let id = layout.fields[*i].id;
            match id.kind() {
                FieldKind::Text => record.text(id).is_some(),
                FieldKind::Flag => record.flag(id).is_some(),
                FieldKind::Items => true,
            }
        }
        Node::Object(children) => children.iter().any(|(_, n)| present(layout, record, n)),
    }
}

/// A JSON string exactly as serde_json writes one: `"` `\\` and control characters escaped
/// (`\b \f \n \r \t`, the rest as `\u00XX`), everything else, non-ASCII included, as is.
fn json_str(s: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let short: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0C => b"\\f",
            0x00..=0x1F => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if short.is_empty() {
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 15)],
            ]);
        } else {
            out.extend_from_slice(short);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

fn json_object(layout: &Layout, record: &Record, members: &[(String, Node)], out: &mut Vec<u8>) {
    out.push(b'{');
    let mut first = true;
    for (key, node) in members {
        if !present(layout, record, node) {
            continue;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        json_str(key, out);
        out.push(b':');
        match node {
            Node::Object(children) => json_object(layout, record, children, out),
            Node::Field(i) => {
                let spec = &layout.fields[*i];
                match spec.id.kind() {
                    FieldKind::Text => json_str(record.text(spec.id).unwrap_or(""), out),
                    FieldKind::Flag => {
                        let b = record.flag(spec.id).unwrap_or(false);
                        out.extend_from_slice(if b { b"true" } else { b"false" });
                    }
                    FieldKind::Items => {
                        let shape = spec.items.as_ref().expect("items field has a shape");
                        out.push(b'[');
                        for (n, item) in record.face.details.iter().enumerate() {
                            if n > 0 {
                                out.push(b',');
                            }
                            out.push(b'{');
                            json_str(&shape.name_key, out);
                            out.push(b':');
                            json_str(&item.name, out);
                            out.push(b',');
                            json_str(&shape.value_key, out);
                            out.push(b':');
                            json_str(item.value.expose(), out);
                            out.push(b'}');
                        }
                        out.push(b']');
                    }
                }
            }
        }
    }
    out.push(b'}');
}

/// One record as the JSON object of the layout (optional fields that are absent are omitted),
/// written directly: this runs for every record of every run.
pub fn record_to_json(layout: &Layout, record: &Record, out: &mut Vec<u8>) {
    json_object(layout, record, &layout.tree, out);
}

/// The CSV cells of one record, in column order.
pub fn record_to_csv_cells<'r>(
    layout: &'r Layout,
    record: &'r Record,
) -> Result<Vec<&'r str>, usize> {
    let items = &record.face.details;
    if items.len() > layout.csv.detail_columns {
        return Err(items.len());
    }
    let csv = &layout.csv;
    Ok(layout
        .columns
        .iter()
        .map(|col| {
            let id = layout.fields[col.field].id;
            match (col.part, id.kind()) {
                (Part::Value, FieldKind::Flag) => match record.flag(id) {
                    Some(true) => csv.bool_true.as_str(),
                    Some(false) => csv.bool_false.as_str(),
                    None => "",
                },
                (Part::Value, _) => record.text(id).unwrap_or(""),
                (Part::ItemName(n), _) => items.get(n).map_or("", |i| i.name.as_str()),
                (Part::ItemValue(n), _) => items.get(n).map_or("", |i| i.value.expose().as_str()),
            }
        })
        .collect())
}

/// Appends one CSV row (RFC 4180 quoting: a cell is quoted when it holds a quote, a comma or a
/// line break, or when it is the only, empty cell of the row).
pub fn csv_row(cells: &[&str], ending: LineEnding, out: &mut Vec<u8>) {
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let needs_quotes = cell
            .bytes()
            .any(|b| matches!(b, b'"' | b',' | b'\r' | b'\n'))
            || (cells.len() == 1 && cell.is_empty());
        if needs_quotes {
            out.push(b'"');
            for b in cell.bytes() {
                if b == b'"' {
                    out.push(b'"');
                }
                out.push(b);
            }
            out.push(b'"');
        } else {
            out.extend_from_slice(cell.as_bytes());
        }
    }
    out.extend_from_slice(ending.as_bytes());
}

/// Appends one record in the layout's wire form (a JSON object or a CSV row) to `out`;
/// `index` only names the record in an error.
pub fn encode_record(
    layout: &Layout,
    record: &Record,
    index: usize,
    out: &mut Vec<u8>,
) -> Result<(), WriteError> {
    match layout.format() {
        Format::Json => {
            record_to_json(layout, record, out);
            Ok(())
        }
        Format::Csv => {
            let columns = layout.csv.detail_columns;
            let cells = record_to_csv_cells(layout, record).map_err(|items| {
                WriteError::TooManyItemsForCsv {
                    index,
                    items,
                    columns,
                }
            })?;
            csv_row(&cells, layout.csv.line_ending, out);
            Ok(())
        }
    }
}

/// Turns records into batches no larger than the profile allows, streaming: each `push` may
/// hand back the batch it just closed.
pub struct PayloadWriter<'l> {
    layout: &'l Layout,
    current: Vec<u8>,
    records: usize,
    seq: usize,
    pushed: usize,
    scratch: Vec<u8>,
    /// `[` or the CSV header row, computed once.
    prefix: Vec<u8>,
}

impl<'l> PayloadWriter<'l> {
    pub fn new(layout: &'l Layout) -> Self {
        let mut w = PayloadWriter {
            layout,
            current: Vec::new(),
            records: 0,
            seq: 0,
            pushed: 0,
            scratch: Vec::new(),
            prefix: Vec::new(),
        };
        w.prefix = w.make_prefix();
        w
    }

    fn make_prefix(&self) -> Vec<u8> {
        match self.layout.format() {
            Format::Json => b"[".to_vec(),
            Format::Csv if self.layout.csv.header => {
                let headers: Vec<&str> = self
                    .layout
                    .columns
                    .iter()
                    .map(|c| c.header.as_str())
                    .collect();
                let mut row = Vec::new();
                csv_row(&headers, self.layout.csv.line_ending, &mut row);
                row
            }
            Format::Csv => Vec::new(),
        }
    }

    fn suffix(&self) -> &'static [u8] {
        match self.layout.format() {
            Format::Json => b"]",
            Format::Csv => b"",
        }
    }

    fn separator(&self) -> &'static [u8] {
        match self.layout.format() {
            Format::Json if self.records > 0 => b",",
            _ => b"",
        }
    }

    /// Adds a record; returns the previous batch when this record did not fit in it.
    pub fn push(&mut self, record: &Record) -> Result<Option<Batch>, WriteError> {
        let mut encoded = std::mem::take(&mut self.scratch);
        encoded.clear();
        encode_record(self.layout, record, self.pushed, &mut encoded)?;
        let closed = self.push_encoded(&encoded);
        self.scratch = encoded;
        closed
    }

    /// Adds a record already encoded by [`encode_record`] for this layout (so that encoding can
    /// run on other threads); returns the previous batch when this record did not fit in it.
    pub fn push_encoded(&mut self, encoded: &[u8]) -> Result<Option<Batch>, WriteError> {
        let index = self.pushed;
        self.pushed += 1;
        let limit = self.layout.limits.max_bytes;
        let alone = self.prefix.len() + encoded.len() + self.suffix().len();
        if alone > limit {
            return Err(WriteError::RecordTooLarge {
                index,
                bytes: alone,
                limit,
            });
        }
        let grown =
            self.current.len() + self.separator().len() + encoded.len() + self.suffix().len();
        let full = self.records >= self.layout.limits.max_records || grown > limit;
        let closed = if self.records > 0 && full {
            self.close()
        } else {
            None
        };
        if self.records == 0 {
            self.current.clear();
            self.current.extend_from_slice(&self.prefix);
        }
        let sep = self.separator();
        self.current.extend_from_slice(sep);
        self.current.extend_from_slice(encoded);
        self.records += 1;
        Ok(closed)
    }

    fn close(&mut self) -> Option<Batch> {
        if self.records == 0 {
            return None;
        }
        let mut bytes = std::mem::take(&mut self.current);
        bytes.extend_from_slice(self.suffix());
        let batch = Batch {
            seq: self.seq,
            records: self.records,
            bytes,
        };
        self.seq += 1;
        self.records = 0;
        Some(batch)
    }

    /// The last, partly filled batch, if any record is in it.
    pub fn finish(mut self) -> Option<Batch> {
        self.close()
    }
}

/// All records as batches, for callers that hold the set in memory.
pub fn write_batches<'r>(
    layout: &Layout,
    records: impl IntoIterator<Item = &'r Record>,
) -> Result<Vec<Batch>, WriteError> {
    let mut writer = PayloadWriter::new(layout);
    let mut out = Vec::new();
    for r in records {
        out.extend(writer.push(r)?);
    }
    out.extend(writer.finish());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::json_str;

    #[test]
    fn strings_are_escaped_exactly_as_serde_json_escapes_them() {
        let all: String = (0u32..0x80)
            .filter_map(char::from_u32)
            .chain("愛知\u{3000}ｱ😀".chars())
            .collect();
        for s in [
            all.as_str(),
            "",
            "plain",
            "\"quoted\" \\ back",
            "\u{7f}\u{1f}\n\r\t\u{8}\u{c}",
        ] {
            let mut out = Vec::new();
            json_str(s, &mut out);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(s).unwrap()
            );
        }
    }
}
