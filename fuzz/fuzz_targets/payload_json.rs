//! A payload JSON file (lint, the runner's readers). The body is `targets/payload.rs`, replayed on stable by xtask's tests.
#![no_main]

#[allow(dead_code)]
#[path = "../targets/common.rs"]
mod common;
#[allow(dead_code)]
#[path = "../targets/payload.rs"]
mod payload;

libfuzzer_sys::fuzz_target!(|data: &[u8]| payload::json(data));
