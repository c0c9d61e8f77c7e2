//! The emulator's registration request bodies. The body is `targets/hub.rs`, replayed on stable by xtask's tests.
#![no_main]

#[allow(dead_code)]
#[path = "../targets/common.rs"]
mod common;
#[allow(dead_code)]
#[path = "../targets/hub.rs"]
mod hub;

libfuzzer_sys::fuzz_target!(|data: &[u8]| hub::run(data));
