//! The csv source plugin's reader, UTF-8 and CP932. The body is `targets/csv_source.rs`, replayed on stable by xtask's tests.
#![no_main]

#[allow(dead_code)]
#[path = "../targets/common.rs"]
mod common;
#[allow(dead_code)]
#[path = "../targets/csv_source.rs"]
mod csv_source;

libfuzzer_sys::fuzz_target!(|data: &[u8]| csv_source::run(data));
