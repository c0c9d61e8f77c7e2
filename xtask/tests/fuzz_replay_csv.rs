//! The `csv_source` fuzz target replayed over its seeds and past crashes on stable, in a
//! test binary of its own (see `fuzz_replay.rs`).

mod fuzz_support;

#[allow(dead_code)]
#[path = "../../fuzz/targets/common.rs"]
mod common;
#[path = "../../fuzz/targets/csv_source.rs"]
mod csv_source;

#[test]
fn csv_source() {
    fuzz_support::replay("csv_source", csv_source::run);
}
