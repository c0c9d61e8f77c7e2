//! The emulator's own record checks, written apart from pmhlink's rules on purpose: a hub that
//! shared pmhlink's checking code would agree with pmhlink's bugs. Only the layout (which keys,
//! which are required, code lists) comes from the profile, as it would come to PMH from its own
//! design documents.
//!
//! Records are checked in their JSON shape; CSV rows are decoded into that shape first.

use pmhlink_model::{FieldId, FieldKind};
use pmhlink_profile::layout::{Layout, Node};
use pmhlink_profile::result::PmhError;
use pmhlink_rules::check_digit::{CheckError, check_my_number};
use serde_json::Value;

use crate::codes::ErrorCode;
use crate::faults::RejectRule;

/// The value at a dotted key path.
pub(crate) fn value_at<'v>(record: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(record, |v, k| v.get(k))
}

/// A scalar as the text a reject rule compares with (`true`, `12`, the string itself).
fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        _ => 31,
    }
}

/// `YYYY-MM-DD` naming a real day of the Gregorian calendar.
pub(crate) fn is_iso_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| {
        b[r].iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    y > 0 && (1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m)
}

fn is_date_field(id: FieldId) -> bool {
    matches!(
        id,
        FieldId::ValidFrom | FieldId::ValidTo | FieldId::DateOfBirth
    )
}

/// A present, non-empty text value against the few value rules the emulator knows.
fn check_text(layout: &Layout, field: usize, text: &str) -> Option<ErrorCode> {
    let spec = &layout.fields[field];
    if spec.id == FieldId::MyNumber {
        if text.len() != 12 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Some(ErrorCode::Format);
        }
        return match check_my_number(text) {
            Ok(()) => None,
            Err(CheckError::CheckDigit | CheckError::AllZero) => Some(ErrorCode::CheckDigit),
            Err(_) => Some(ErrorCode::Format),
        };
    }
    if is_date_field(spec.id) && !is_iso_date(text) {
        return Some(ErrorCode::Format);
    }
    if spec
        .codes
        .as_ref()
        .is_some_and(|codes| !codes.iter().any(|c| c == text))
    {
        return Some(ErrorCode::Format);
    }
    None
}

fn check_items(layout: &Layout, field: usize, items: &[Value]) -> Option<ErrorCode> {
    let shape = layout.fields[field].items.as_ref()?;
    let bad = items.iter().any(|item| {
        let Value::Object(obj) = item else {
            return true;
        };
        let text_or_absent = |k: &str| matches!(obj.get(k), None | Some(Value::String(_)));
        !text_or_absent(&shape.name_key)
            || !text_or_absent(&shape.value_key)
            || obj
                .keys()
                .any(|k| k != &shape.name_key && k != &shape.value_key)
    });
    bad.then_some(ErrorCode::Format)
}

/// Keys the layout does not define, as key paths.
fn unknown_keys(members: &[(String, Node)], value: &Value, prefix: &str, out: &mut Vec<String>) {
    let Value::Object(obj) = value else {
        return;
    };
    for (key, v) in obj {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match members.iter().find(|(k, _)| k == key) {
            None => out.push(path),
            Some((_, Node::Object(children))) => unknown_keys(children, v, &path, out),
            Some((_, Node::Field(_))) => {}
        }
    }
}

/// Every error of one record, in layout order, then the period, unknown keys and the reject
/// rules. `wire` holds what decoding the wire form already found (a CSV cell that is not a
/// flag…); an item named there is not reported missing a second time.
pub(crate) fn check_record(
    layout: &Layout,
    reject: &[RejectRule],
    record: &Value,
    wire: Vec<PmhError>,
) -> Vec<PmhError> {
    let mut errors = wire;
    if !record.is_object() {
        if errors.is_empty() {
            errors.push(ErrorCode::Format.on(None));
        }
        return errors;
    }
    let found = |code: ErrorCode, key: &str, errors: &mut Vec<PmhError>| {
        if !(code == ErrorCode::RequiredMissing
            && errors.iter().any(|e| e.item.as_deref() == Some(key)))
        {
            errors.push(code.on(Some(key)));
        }
    };
    for (i, spec) in layout.fields.iter().enumerate() {
        let key = spec.key.as_str();
        let value = value_at(record, key).filter(|v| !v.is_null());
        let code = match (spec.id.kind(), value) {
            (_, None) => spec.required.then_some(ErrorCode::RequiredMissing),
            (FieldKind::Text, Some(Value::String(s))) if s.is_empty() => {
                spec.required.then_some(ErrorCode::RequiredMissing)
            }
            (FieldKind::Text, Some(Value::String(s))) => check_text(layout, i, s),
            (FieldKind::Flag, Some(Value::Bool(_))) => None,
            (FieldKind::Items, Some(Value::Array(items))) => check_items(layout, i, items),
            (_, Some(_)) => Some(ErrorCode::Format),
        };
        if let Some(code) = code {
            found(code, key, &mut errors);
        }
    }
    let date = |id: FieldId| {
        layout
            .key_of(id)
            .and_then(|k| value_at(record, k))
            .and_then(Value::as_str)
            .filter(|s| is_iso_date(s))
    };
    if let (Some(from), Some(to)) = (date(FieldId::ValidFrom), date(FieldId::ValidTo))
        && from > to
    {
        let key = layout.key_of(FieldId::ValidTo).unwrap_or("validTo");
        found(ErrorCode::PeriodInverted, key, &mut errors);
    }
    let mut unknown = Vec::new();
    unknown_keys(&layout.tree, record, "", &mut unknown);
    for key in unknown {
        found(ErrorCode::Format, &key, &mut errors);
    }
    for rule in reject {
        if value_at(record, &rule.field)
            .and_then(as_text)
            .is_some_and(|v| rule.matches(&v))
        {
            errors.push(PmhError {
                code: rule.code.clone(),
                item: Some(rule.field.clone()),
                message: rule.message.clone(),
            });
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates_are_real_days() {
        for ok in ["2024-02-29", "2000-02-29", "2026-12-31", "2026-01-01"] {
            assert!(is_iso_date(ok), "{ok}");
        }
        for bad in [
            "1900-02-29",
            "2026-02-29",
            "2026-04-31",
            "2026-13-01",
            "2026-00-10",
            "2026-01-00",
            "2026/01/01",
            "2026-1-01",
            "26-01-01",
            "２０２６-01-01",
            "0000-01-01",
            "",
        ] {
            assert!(!is_iso_date(bad), "{bad}");
        }
    }

    #[test]
    fn value_at_walks_dotted_paths() {
        let v = serde_json::json!({"a": {"b": "x"}, "c": true});
        assert_eq!(value_at(&v, "a.b"), Some(&Value::from("x")));
        assert_eq!(value_at(&v, "c"), Some(&Value::Bool(true)));
        assert_eq!(value_at(&v, "a.z"), None);
        assert_eq!(value_at(&v, "c.d"), None);
    }
}
