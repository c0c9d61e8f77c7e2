//! The checks a record must pass before it may be sent: the profile's shape rules (presence,
//! lengths, character classes, code lists) and then the domain rules. Lint and the runner both
//! call [`check_record`], so a rule lives in one place.

use pmhlink_model::{FieldKind, Record};
use pmhlink_rules::{Charset, Code, Finding, RuleContext};

use crate::layout::Layout;
use crate::spec::FieldSpec;

/// Appends every finding about `record` for the layout's API: shape first, then domain rules.
pub fn check_record(
    layout: &Layout,
    record: &Record,
    ctx: &RuleContext<'_>,
    out: &mut Vec<Finding>,
) {
    check_shape(layout, record, out);
    pmhlink_rules::check_record(record, ctx, out);
}

/// The profile's rules only.
pub fn check_shape(layout: &Layout, record: &Record, out: &mut Vec<Finding>) {
    for spec in &layout.fields {
        match spec.id.kind() {
            FieldKind::Text => check_text(spec, record.text(spec.id).unwrap_or(""), out),
            FieldKind::Items => check_items(spec, record, out),
            // A flag's presence is known only to the reader that saw the wire form.
            FieldKind::Flag => {}
        }
    }
}

// Lengths are in characters. A UTF-8 string has at least as many bytes as characters, so the
// byte length settles most cases without counting.

fn longer_than(value: &str, n: usize) -> bool {
    value.len() > n && value.chars().count() > n
}

fn length_is(value: &str, n: usize) -> bool {
    match value.len().cmp(&n) {
        std::cmp::Ordering::Less => false,
        std::cmp::Ordering::Equal => value.is_ascii(),
        std::cmp::Ordering::Greater => value.chars().count() == n,
    }
}

fn check_text(spec: &FieldSpec, value: &str, out: &mut Vec<Finding>) {
    if value.is_empty() {
        if spec.required {
            out.push(Finding::new(Code::RequiredMissing, spec.id));
        }
        return;
    }
    if let Some(n) = spec.exact_len.filter(|&n| !length_is(value, n)) {
        out.push(Finding::new(Code::WrongLength, spec.id).with_limit(n));
    } else if let Some(n) = spec.max_len.filter(|&n| longer_than(value, n)) {
        out.push(Finding::new(Code::TooLong, spec.id).with_limit(n));
    }
    if let Some(code) = spec.charset.and_then(|c| c.violation(value)) {
        out.push(Finding::new(code, spec.id));
    }
    if let Some(codes) = &spec.codes
        && !codes.iter().any(|c| c == value)
    {
        out.push(Finding::new(Code::NotInCodeList, spec.id));
    }
}

fn check_items(spec: &FieldSpec, record: &Record, out: &mut Vec<Finding>) {
    let items = &record.face.details;
    let Some(shape) = &spec.items else { return };
    if items.is_empty() {
        if spec.required {
            out.push(Finding::new(Code::RequiredMissing, spec.id));
        }
        return;
    }
    if items.len() > shape.max_items {
        out.push(Finding::new(Code::TooManyItems, spec.id).with_limit(shape.max_items));
    }
    let mut too_long = None;
    let mut control = false;
    for item in items {
        let (name, value) = (item.name.as_str(), item.value.expose().as_str());
        if name.is_empty() {
            out.push(Finding::new(Code::RequiredMissing, spec.id));
        }
        if longer_than(name, shape.name_max_len) {
            too_long = too_long.or(Some(shape.name_max_len));
        }
        if longer_than(value, shape.value_max_len) {
            too_long = too_long.or(Some(shape.value_max_len));
        }
        control |=
            Charset::Text.violation(name).is_some() || Charset::Text.violation(value).is_some();
    }
    if let Some(n) = too_long {
        out.push(Finding::new(Code::TooLong, spec.id).with_limit(n));
    }
    if control {
        out.push(Finding::new(Code::ControlCharacter, spec.id));
    }
}
