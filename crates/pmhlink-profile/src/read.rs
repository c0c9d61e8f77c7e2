//! Payload readers: a PMH payload file back into records, streaming, with a finding for every
//! place the wire form departs from the layout. Used by `pmhlink lint` and by tests that read
//! what a writer wrote.

use std::io::Read;

use pmhlink_model::{DetailItem, FieldKind, Pii, Record};
use pmhlink_rules::{Code, FieldRef, Finding};
use serde_json::{Map, Value};

/// One element of a JSON payload as read, with the keys its objects repeat.
pub use crate::json_stream::Element as JsonElement;

use crate::layout::{Layout, Node, Part};

/// One record as read: `record` is `None` when its shape is too broken to check further.
#[derive(Debug)]
pub struct Decoded {
    pub record: Option<Record>,
    pub findings: Vec<Finding>,
    /// 1-based line where the record starts, where the format tells it (CSV).
    pub line: Option<u64>,
}

/// A file that cannot be read as a payload at all. Positions, never content.
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    #[error("the file is empty")]
    Empty,
    #[error("not a JSON array of records: {0}")]
    Json(String),
    #[error("cannot read the CSV: {0}")]
    Csv(String),
    #[error("the CSV header is not the layout of {api}: {detail}")]
    Header { api: String, detail: String },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

// ---------------------------------------------------------------------------------------------
// JSON

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

fn missing(layout: &Layout, node: &Node, out: &mut Vec<Finding>) {
    match node {
        Node::Field(i) => {
            let spec = &layout.fields[*i];
            // Missing text is left empty and reported by the shape check, which also sees
            // records that never had a wire form.
            if spec.required && spec.id.kind() == FieldKind::Flag {
                out.push(Finding::new(Code::RequiredMissing, spec.id));
            }
        }
        Node::Object(children) => children.iter().for_each(|(_, n)| missing(layout, n, out)),
    }
}

fn decode_items(
    layout: &Layout,
    field: usize,
    value: Value,
    record: &mut Record,
    out: &mut Vec<Finding>,
) {
    let spec = &layout.fields[field];
    let shape = spec.items.as_ref().expect("items field has a shape");
    let Value::Array(items) = value else {
        out.push(Finding::new(Code::WrongType, spec.id));
        return;
    };
    let mut wrong = false;
    for item in items {
        let Value::Object(mut obj) = item else {
            wrong = true;
            continue;
        };
        let mut take = |k: &str| match obj.remove(k) {
            Some(Value::String(s)) => Some(s),
            Some(Value::Null) | None => Some(String::new()),
            Some(_) => None,
        };
        let (name, value) = (take(&shape.name_key), take(&shape.value_key));
        match (name, value) {
            (Some(name), Some(value)) => record.face.details.push(DetailItem {
                name,
                value: Pii::new(value),
            }),
            _ => wrong = true,
        }
        for key in obj.keys() {
            out.push(Finding::on(
                Code::UnknownKey,
                FieldRef::Key(format!("{}[].{key}", spec.key)),
            ));
        }
    }
    if wrong {
        out.push(Finding::new(Code::WrongType, spec.id));
    }
}

fn decode_object(
    layout: &Layout,
    members: &[(String, Node)],
    mut obj: Map<String, Value>,
    prefix: &str,
    record: &mut Record,
    out: &mut Vec<Finding>,
) {
    for (key, node) in members {
        match (obj.remove(key), node) {
            (None | Some(Value::Null), _) => missing(layout, node, out),
            (Some(Value::Object(inner)), Node::Object(children)) => {
                decode_object(layout, children, inner, &join(prefix, key), record, out)
            }
            (Some(_), Node::Object(_)) => out.push(Finding::on(
                Code::WrongType,
                FieldRef::Key(join(prefix, key)),
            )),
            (Some(value), Node::Field(i)) => {
                let id = layout.fields[*i].id;
                match (id.kind(), value) {
                    (FieldKind::Text, Value::String(s)) => record.set_text(id, s),
                    (FieldKind::Flag, Value::Bool(b)) => record.set_flag(id, b),
                    (FieldKind::Items, v) => decode_items(layout, *i, v, record, out),
                    (_, _) => out.push(Finding::new(Code::WrongType, id)),
                }
            }
        }
    }
    for key in obj.keys() {
        out.push(Finding::on(
            Code::UnknownKey,
            FieldRef::Key(join(prefix, key)),
        ));
    }
}

/// One JSON array element against the layout, with a `duplicate-key` finding for every key an
/// object gave twice (the value judged is the last, as serde_json keeps it).
pub fn decode_json_element(layout: &Layout, element: JsonElement) -> Decoded {
    let mut decoded = decode_json_record(layout, element.value);
    decoded.findings.extend(
        element
            .duplicate_keys
            .into_iter()
            .map(|path| Finding::on(Code::DuplicateKey, FieldRef::Key(path))),
    );
    decoded
}

/// One JSON array element against the layout.
pub fn decode_json_record(layout: &Layout, value: Value) -> Decoded {
    let mut findings = Vec::new();
    let Value::Object(obj) = value else {
        findings.push(Finding::on(Code::RecordNotObject, FieldRef::Record));
        return Decoded {
            record: None,
            findings,
            line: None,
        };
    };
    let mut record = Record::default();
    decode_object(layout, &layout.tree, obj, "", &mut record, &mut findings);
    record.normalise_empty_parts();
    Decoded {
        record: Some(record),
        findings,
        line: None,
    }
}

/// Streams the elements of a top-level JSON array, one `Value` at a time, so a file of any size
/// is read in constant memory. Returns the element count.
pub fn for_each_json_element(
    reader: impl Read,
    on_element: impl FnMut(JsonElement),
) -> Result<u64, PayloadError> {
    crate::json_stream::for_each_element(reader, on_element).map_err(|e| match e {
        crate::json_stream::Error::Io(e) => PayloadError::Io(e),
        crate::json_stream::Error::Empty => PayloadError::Empty,
        crate::json_stream::Error::Json(p) => PayloadError::Json(format!(
            "{} at line {} column {}",
            p.message, p.line, p.column
        )),
    })
}

/// Every record of a JSON payload through `on_record`, with its 0-based index.
pub fn read_json_payload(
    layout: &Layout,
    reader: impl Read,
    mut on_record: impl FnMut(u64, Decoded),
) -> Result<u64, PayloadError> {
    let mut index = 0;
    for_each_json_element(reader, |element| {
        on_record(index, decode_json_element(layout, element));
        index += 1;
    })
}

// ---------------------------------------------------------------------------------------------
// CSV

fn header_detail(expected: &[&str], found: &[String]) -> Option<String> {
    if expected.len() == found.len() && expected.iter().zip(found).all(|(e, f)| e == f) {
        return None;
    }
    let absent: Vec<&str> = expected
        .iter()
        .copied()
        .filter(|e| !found.iter().any(|f| f == e))
        .collect();
    let extra: Vec<&str> = found
        .iter()
        .map(String::as_str)
        .filter(|f| !expected.contains(f))
        .collect();
    let mut parts = Vec::new();
    if !absent.is_empty() {
        parts.push(format!("missing column(s) {}", absent.join(", ")));
    }
    if !extra.is_empty() {
        parts.push(format!("unknown column(s) {}", extra.join(", ")));
    }
    if parts.is_empty() {
        let at = expected
            .iter()
            .zip(found)
            .position(|(e, f)| e != f)
            .unwrap_or(0);
        parts.push(format!(
            "columns out of order from column {} (`{}` expected)",
            at + 1,
            expected[at]
        ));
    }
    Some(parts.join("; "))
}

fn decode_flag(layout: &Layout, cell: &str) -> Option<bool> {
    if cell == layout.csv.bool_true {
        Some(true)
    } else if cell == layout.csv.bool_false {
        Some(false)
    } else {
        None
    }
}

fn decode_csv_row(layout: &Layout, row: &csv::ByteRecord, findings: &mut Vec<Finding>) -> Record {
    let mut record = Record::default();
    let mut items: Vec<(String, String)> = Vec::new();
    for (col, raw) in layout.columns.iter().zip(row.iter()) {
        let spec = &layout.fields[col.field];
        let Ok(cell) = std::str::from_utf8(raw) else {
            let f = Finding::new(Code::TextNotUtf8, spec.id);
            if !findings.contains(&f) {
                findings.push(f);
            }
            continue;
        };
        match (col.part, spec.id.kind()) {
            (Part::Value, FieldKind::Flag) if cell.is_empty() => {
                if spec.required {
                    findings.push(Finding::new(Code::RequiredMissing, spec.id));
                }
            }
            (Part::Value, FieldKind::Flag) => match decode_flag(layout, cell) {
                Some(b) => record.set_flag(spec.id, b),
                None => findings.push(Finding::new(Code::NotInCodeList, spec.id)),
            },
            (Part::Value, _) if cell.is_empty() => {}
            (Part::Value, _) => record.set_text(spec.id, cell.to_owned()),
            (Part::ItemName(n) | Part::ItemValue(n), _) => {
                if items.len() <= n {
                    items.resize(n + 1, Default::default());
                }
                let slot = &mut items[n];
                *(if matches!(col.part, Part::ItemName(_)) {
                    &mut slot.0
                } else {
                    &mut slot.1
                }) = cell.to_owned();
            }
        }
    }
    // Trailing empty column pairs are the unused part of the fixed layout, not items.
    while items
        .last()
        .is_some_and(|(n, v)| n.is_empty() && v.is_empty())
    {
        items.pop();
    }
    record.face.details = items
        .into_iter()
        .map(|(name, value)| DetailItem {
            name,
            value: Pii::new(value),
        })
        .collect();
    record.normalise_empty_parts();
    record
}

/// Every record of a CSV payload through `on_record`, with its 0-based index.
pub fn read_csv_payload(
    layout: &Layout,
    reader: impl Read,
    mut on_record: impl FnMut(u64, Decoded),
) -> Result<u64, PayloadError> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(layout.csv.header)
        .flexible(true)
        .from_reader(std::io::BufReader::with_capacity(1 << 16, reader));
    if layout.csv.header {
        let headers = rdr
            .byte_headers()
            .map_err(|e| PayloadError::Csv(e.to_string()))?
            .clone();
        if headers.is_empty() {
            return Err(PayloadError::Empty);
        }
        let found: Vec<String> = headers
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let h = if i == 0 {
                    h.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(h)
                } else {
                    h
                };
                String::from_utf8(h.to_vec()).map_err(|_| {
                    PayloadError::Csv(format!(
                        "line 1: header column {} is not UTF-8 (is the file CP932?)",
                        i + 1
                    ))
                })
            })
            .collect::<Result<_, _>>()?;
        let expected: Vec<&str> = layout.columns.iter().map(|c| c.header.as_str()).collect();
        if let Some(detail) = header_detail(&expected, &found) {
            return Err(PayloadError::Header {
                api: layout.api.full_name(),
                detail,
            });
        }
    }
    let mut row = csv::ByteRecord::new();
    let mut index = 0;
    // csv's own Position::line lags by one after the first record, so lines are counted here:
    // one per record plus the line breaks inside its quoted cells (blank lines, which csv skips,
    // are not counted).
    let mut next_line: u64 = if layout.csv.header { 2 } else { 1 };
    loop {
        match rdr.read_byte_record(&mut row) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(PayloadError::Csv(e.to_string())),
        }
        let line = Some(next_line);
        next_line += 1 + row
            .iter()
            .map(|cell| cell.iter().filter(|&&b| b == b'\n').count() as u64)
            .sum::<u64>();
        let mut findings = Vec::new();
        let record = if row.len() != layout.columns.len() {
            findings.push(Finding::on(Code::CsvFieldCount, FieldRef::Record));
            None
        } else {
            Some(decode_csv_row(layout, &row, &mut findings))
        };
        on_record(
            index,
            Decoded {
                record,
                findings,
                line,
            },
        );
        index += 1;
    }
    Ok(index)
}

/// Reads a payload in the layout's format.
pub fn read_payload(
    layout: &Layout,
    reader: impl Read,
    on_record: impl FnMut(u64, Decoded),
) -> Result<u64, PayloadError> {
    match layout.format() {
        crate::api::Format::Json => read_json_payload(layout, reader, on_record),
        crate::api::Format::Csv => read_csv_payload(layout, reader, on_record),
    }
}
