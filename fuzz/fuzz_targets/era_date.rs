//! Era and Gregorian date parsing. The body is `targets/era_date.rs`, replayed on stable by xtask's tests.
#![no_main]

#[allow(dead_code)]
#[path = "../targets/common.rs"]
mod common;
#[allow(dead_code)]
#[path = "../targets/era_date.rs"]
mod era_date;

libfuzzer_sys::fuzz_target!(|data: &[u8]| era_date::run(data));
