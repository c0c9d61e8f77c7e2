//! A registration body into records in their JSON shape, the form the checks, the inspection
//! endpoints and the state file all use.

use pmhlink_profile::Format;
use pmhlink_profile::layout::Layout;
use pmhlink_profile::read::{Decoded, read_csv_payload};
use pmhlink_profile::result::PmhError;
use pmhlink_profile::write::record_to_json;
use pmhlink_rules::{Code, FieldRef};
use serde_json::Value;

use crate::codes::ErrorCode;

/// One record as received: JSON as sent, a CSV row as the JSON object of the same layout
/// (`Null` for a row too broken to decode), and what decoding found.
pub(crate) struct Received {
    pub value: Value,
    pub wire_errors: Vec<PmhError>,
}

/// The records of a body, or `None` when the body as a whole cannot be read (not a JSON array,
/// a CSV header that is not the layout's…): such a task fails.
pub(crate) fn parse(layout: &Layout, body: &[u8]) -> Option<Vec<Received>> {
    match layout.format() {
        Format::Json => match serde_json::from_slice(body).ok()? {
            Value::Array(items) => Some(
                items
                    .into_iter()
                    .map(|value| Received {
                        value,
                        wire_errors: Vec::new(),
                    })
                    .collect(),
            ),
            _ => None,
        },
        Format::Csv => {
            let mut out = Vec::new();
            read_csv_payload(layout, body, |_, decoded| {
                out.push(from_csv(layout, decoded))
            })
            .ok()?;
            Some(out)
        }
    }
}

fn from_csv(layout: &Layout, decoded: Decoded) -> Received {
    let mut wire_errors: Vec<PmhError> = Vec::new();
    for finding in &decoded.findings {
        // A missing cell is the checks' business, so that JSON and CSV report it alike.
        if finding.code == Code::RequiredMissing {
            continue;
        }
        let item = match &finding.field {
            FieldRef::Field(id) => layout.key_of(*id).map(str::to_owned),
            FieldRef::Key(key) => Some(key.clone()),
            FieldRef::Record => None,
        };
        let error = ErrorCode::Format.on(item.as_deref());
        if !wire_errors.contains(&error) {
            wire_errors.push(error);
        }
    }
    let value = match &decoded.record {
        Some(record) => {
            let mut json = Vec::new();
            record_to_json(layout, record, &mut json);
            serde_json::from_slice(&json).expect("the profile's writer writes JSON")
        }
        None => Value::Null,
    };
    Received { value, wire_errors }
}
