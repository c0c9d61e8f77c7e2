//! History rows as PMH holds them (pmh-interface.md §4) and how one accepted record changes them.

use pmhlink_model::FieldId;
use pmhlink_profile::layout::Layout;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::json_text::{JsonText, json_text};
use crate::record_check::value_at;

/// Within one certificate, what tells its rows apart: the history key in diff-history sync;
/// in full sync, which has no history keys, the validity start.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum Slot {
    HistoryKey(String),
    ValidFrom(String),
}

/// A held row's identity: the certificate (type, My Number, 公費受給者番号, サブキー; absent
/// optional parts count as empty) and its slot.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RowKey {
    pub my_number: String,
    pub type_id: String,
    pub recipient_number: String,
    pub sub_key: String,
    pub slot: Slot,
}

impl RowKey {
    /// The order of `GET /_mock/records`: (myNumber, historyKey), stable for comparisons.
    pub fn listing_order(&self) -> (&str, &str, &RowKey) {
        let history_key = match &self.slot {
            Slot::HistoryKey(k) => k.as_str(),
            Slot::ValidFrom(_) => "",
        };
        (&self.my_number, history_key, self)
    }
}

pub(crate) enum RowChange {
    /// Insert or replace, with the record as it is held (`isDeleted` false).
    Upsert(RowKey, JsonText),
    Remove(RowKey),
}

fn set_at(record: &mut Value, path: &str, value: Value) {
    let mut at = record;
    let mut keys = path.split('.').peekable();
    while let Some(key) = keys.next() {
        let Value::Object(obj) = at else {
            return;
        };
        if keys.peek().is_none() {
            obj.insert(key.to_owned(), value);
            return;
        }
        at = obj
            .entry(key.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
    }
}

/// What an accepted record does to the held rows. `is_deleted_key` is the profile's key of the
/// deleted flag, written `false` on every held row so that full-sync rows read like the others.
/// `received` is the record's text: the held row shares it when the flag is already `false`.
pub(crate) fn row_change(
    layout: &Layout,
    is_deleted_key: Option<&str>,
    mut record: Value,
    received: &JsonText,
) -> RowChange {
    let at = |id: FieldId| layout.key_of(id).and_then(|k| value_at(&record, k));
    let text = |id: FieldId| at(id).and_then(Value::as_str).unwrap_or("").to_owned();
    let history = layout.sync().has_history();
    let key = RowKey {
        my_number: text(FieldId::MyNumber),
        type_id: text(FieldId::TypeId),
        recipient_number: text(FieldId::RecipientNumber),
        sub_key: text(FieldId::SubKey),
        slot: if history {
            Slot::HistoryKey(text(FieldId::HistoryKey))
        } else {
            Slot::ValidFrom(text(FieldId::ValidFrom))
        },
    };
    if history && at(FieldId::IsDeleted).and_then(Value::as_bool) == Some(true) {
        return RowChange::Remove(key);
    }
    let held = match is_deleted_key {
        // Writing `false` over `false` would change nothing.
        Some(k) if value_at(&record, k) != Some(&Value::Bool(false)) => {
            set_at(&mut record, k, Value::Bool(false));
            json_text(&record)
        }
        _ => received.clone(),
    };
    RowChange::Upsert(key, held)
}
