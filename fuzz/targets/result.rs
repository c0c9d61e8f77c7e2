//! A result file as `pmhlink results import` and the API sink read it (JSON or CSV, the
//! profile's result layout). What reads must write back and read again as the same result.

use pmhlink_profile::Format;
use pmhlink_profile::result::{read, write};

use crate::common::PROFILE;

fn round_trip(format: Format, data: &[u8]) {
    let spec = &PROFILE.result;
    let Ok(result) = read(spec, format, data) else {
        return;
    };
    let written = write(spec, format, &result).expect("a result that was read can be written");
    let again = read(spec, format, &written).expect("what was written reads back");
    assert_eq!(again, result, "a result survives writing and reading");
}

pub fn json(data: &[u8]) {
    round_trip(Format::Json, data);
}

pub fn csv(data: &[u8]) {
    round_trip(Format::Csv, data);
}
