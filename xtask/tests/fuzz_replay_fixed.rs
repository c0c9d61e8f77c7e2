//! The `fixed_source` fuzz target replayed over its seeds and past crashes on stable, in a
//! test binary of its own (see `fuzz_replay.rs`).

mod fuzz_support;

#[allow(dead_code)]
#[path = "../../fuzz/targets/common.rs"]
mod common;
#[path = "../../fuzz/targets/fixed_source.rs"]
mod fixed_source;

#[test]
fn fixed_source() {
    fuzz_support::replay("fixed_source", fixed_source::run);
}
