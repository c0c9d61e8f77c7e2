//! A result file in JSON (results import, the API sink). The body is `targets/result.rs`, replayed on stable by xtask's tests.
#![no_main]

#[allow(dead_code)]
#[path = "../targets/common.rs"]
mod common;
#[allow(dead_code)]
#[path = "../targets/result.rs"]
mod result;

libfuzzer_sys::fuzz_target!(|data: &[u8]| result::json(data));
