//! Records kept as compact JSON text rather than as `serde_json::Value`s: a `Value` takes
//! several times the memory of its text, and a benchmark pushes millions of records through the
//! hub. The text is what serialising the parsed record writes, so every answer and the state
//! file read exactly as they did when the hub kept `Value`s.

use std::sync::Arc;

use serde::de::{Deserialize, Deserializer};
use serde::ser::{Error as _, Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

/// One record's JSON text; shared between a submission and the held row it set.
pub(crate) type JsonText = Arc<str>;

pub(crate) fn json_text(value: &Value) -> JsonText {
    serde_json::to_string(value)
        .expect("a Value serialises")
        .into()
}

/// Serialises as the JSON the text holds, not as a string.
pub(crate) struct Raw<'a>(pub &'a str);

impl Serialize for Raw<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let raw: &RawValue = serde_json::from_str(self.0).map_err(S::Error::custom)?;
        raw.serialize(s)
    }
}

/// Reads any JSON value into the same compact text `json_text` writes, so a state file that was
/// written by hand or pretty-printed loads like one the hub wrote.
pub(crate) struct Owned(pub JsonText);

impl<'de> Deserialize<'de> for Owned {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Value::deserialize(d).map(|v| Owned(json_text(&v)))
    }
}

/// A list of records in the state file, each as the JSON value it holds.
pub(crate) mod list {
    use super::{JsonText, Owned, Raw};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(records: &[JsonText], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(records.iter().map(|r| Raw(r)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<JsonText>, D::Error> {
        let list: Vec<Owned> = Vec::deserialize(d)?;
        Ok(list.into_iter().map(|o| o.0).collect())
    }
}

/// Appends `[a,b,…]` to `out`.
pub(crate) fn write_array<'a>(out: &mut Vec<u8>, items: impl IntoIterator<Item = &'a str>) {
    out.push(b'[');
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(item.as_bytes());
    }
    out.push(b']');
}

/// The bytes `write_array` appends for these items.
pub(crate) fn array_len<'a>(items: impl IntoIterator<Item = &'a str>) -> usize {
    let (count, bytes) = items
        .into_iter()
        .fold((0usize, 0), |(n, b), item| (n + 1, b + item.len()));
    2 + bytes + count.saturating_sub(1)
}
