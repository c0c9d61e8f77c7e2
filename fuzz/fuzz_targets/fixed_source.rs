//! The fixed-width source plugin's record cutter. The body is `targets/fixed_source.rs`, replayed on stable by xtask's tests.
#![no_main]

#[allow(dead_code)]
#[path = "../targets/common.rs"]
mod common;
#[allow(dead_code)]
#[path = "../targets/fixed_source.rs"]
mod fixed_source;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fixed_source::run(data));
