//! Every cleaning step, alone and in sequence. The body is `targets/clean.rs`, replayed on stable by xtask's tests.
#![no_main]

#[allow(dead_code)]
#[path = "../targets/clean.rs"]
mod clean;
#[allow(dead_code)]
#[path = "../targets/common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| clean::run(data));
