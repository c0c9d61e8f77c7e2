//! The fuzz targets' bodies (`fuzz/targets/`) replayed over their seeds and past crashes on
//! the stable toolchain, as part of `cargo xtask ci`. The two source plugins' targets are
//! replayed in binaries of their own (`fuzz_replay_csv.rs`, `fuzz_replay_fixed.rs`): every
//! plugin exports the same entry symbols, so two cannot link into one test binary.

mod fuzz_support;

#[path = "../../fuzz/targets/clean.rs"]
mod clean;
#[allow(dead_code)]
#[path = "../../fuzz/targets/common.rs"]
mod common;
#[path = "../../fuzz/targets/config.rs"]
mod config;
#[path = "../../fuzz/targets/content.rs"]
mod content;
#[path = "../../fuzz/targets/era_date.rs"]
mod era_date;
#[path = "../../fuzz/targets/hub.rs"]
mod hub;
#[path = "../../fuzz/targets/payload.rs"]
mod payload;
#[path = "../../fuzz/targets/result.rs"]
mod result;

use fuzz_support::{fuzz_dir, replay};

#[test]
fn payload_json() {
    replay("payload_json", payload::json);
}

#[test]
fn payload_csv() {
    replay("payload_csv", payload::csv);
}

#[test]
fn result_json() {
    replay("result_json", result::json);
}

#[test]
fn result_csv() {
    replay("result_csv", result::csv);
}

#[test]
fn content() {
    replay("content", content::run);
}

#[test]
fn era_date() {
    replay("era_date", era_date::run);
}

#[test]
fn clean() {
    replay("clean", clean::run);
}

#[test]
fn pipeline() {
    replay("pipeline", config::pipeline);
}

#[test]
fn site() {
    replay("site", config::site);
}

#[test]
fn profile() {
    replay("profile", config::profile);
}

#[test]
fn faults() {
    replay("faults", config::faults);
}

#[test]
fn hub_register() {
    replay("hub_register", hub::run);
}

/// A target added under `fuzz/fuzz_targets/` must be replayed by one of these test files (so
/// its crashes stay fixed) and have seeds.
#[test]
fn every_fuzz_target_is_replayed() {
    let tests_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let replayers: String = [
        "fuzz_replay.rs",
        "fuzz_replay_csv.rs",
        "fuzz_replay_fixed.rs",
    ]
    .iter()
    .map(|f| std::fs::read_to_string(tests_dir.join(f)).expect("a replay test file"))
    .collect();
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(fuzz_dir().join("fuzz_targets")).expect("fuzz/fuzz_targets") {
        let path = entry.expect("a readable entry").path();
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned();
        if !replayers.contains(&format!("replay(\"{name}\"")) {
            missing.push(name);
        }
    }
    assert!(
        missing.is_empty(),
        "fuzz targets no test replays: {missing:?}"
    );
}
