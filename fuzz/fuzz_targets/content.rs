//! The ledger's canonical content decoder. The body is `targets/content.rs`, replayed on stable by xtask's tests.
#![no_main]

#[allow(dead_code)]
#[path = "../targets/common.rs"]
mod common;
#[allow(dead_code)]
#[path = "../targets/content.rs"]
mod content;

libfuzzer_sys::fuzz_target!(|data: &[u8]| content::run(data));
