//! The pipeline file, TOML or YAML, through figment. The body is `targets/config.rs`, replayed on stable by xtask's tests.
#![no_main]

#[allow(dead_code)]
#[path = "../targets/common.rs"]
mod common;
#[allow(dead_code)]
#[path = "../targets/config.rs"]
mod config;

libfuzzer_sys::fuzz_target!(|data: &[u8]| config::pipeline(data));
