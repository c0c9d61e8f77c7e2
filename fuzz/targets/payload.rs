//! A payload file as `pmhlink lint` and the runner's readers take it: the first byte picks a
//! registration layout, the rest is the file. Every record that decodes is checked by the
//! profile's and the domain's rules; indices run 0, 1, 2… and the count returned is theirs.

use pmhlink_profile::check::check_record;
use pmhlink_profile::read::{read_csv_payload, read_json_payload};
use pmhlink_profile::{Format, Layout};

use crate::common::{layout, rule_context};

fn read(format: Format, data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let layout: &Layout = layout(selector, format);
    let ctx = rule_context();
    let mut seen = 0u64;
    let mut findings = Vec::new();
    let on_record = |index: u64, decoded: pmhlink_profile::read::Decoded| {
        assert_eq!(index, seen, "records are numbered in order");
        seen += 1;
        if let Some(record) = &decoded.record {
            findings.clear();
            check_record(layout, record, &ctx, &mut findings);
        }
    };
    let counted = match format {
        Format::Json => read_json_payload(layout, body, on_record),
        Format::Csv => read_csv_payload(layout, body, on_record),
    };
    if let Ok(n) = counted {
        assert_eq!(n, seen, "the count is the number of records handed over");
    }
}

pub fn json(data: &[u8]) {
    read(Format::Json, data);
}

pub fn csv(data: &[u8]) {
    read(Format::Csv, data);
}
