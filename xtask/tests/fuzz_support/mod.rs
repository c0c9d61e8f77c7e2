//! Replays a fuzz target's committed inputs on the stable toolchain: its seed corpus
//! (`fuzz/seeds/<target>/`) and every crash input found so far (`fuzz/regressions/<target>/`),
//! so a fixed crash stays fixed without nightly or libFuzzer.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

pub fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("a readable corpus folder").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs `body` on every committed input of `target`; fails naming each input that panics.
/// The seed corpus must not be empty: a target without seeds starts from nothing.
pub fn replay(target: &str, body: fn(&[u8])) {
    let fuzz = fuzz_dir();
    let seeds = inputs(&fuzz.join("seeds").join(target));
    assert!(!seeds.is_empty(), "fuzz/seeds/{target}/ holds no seed");
    let regressions = inputs(&fuzz.join("regressions").join(target));
    let mut failed = Vec::new();
    for input in seeds.iter().chain(&regressions) {
        let bytes = std::fs::read(input).expect("a readable corpus file");
        if catch_unwind(AssertUnwindSafe(|| body(&bytes))).is_err() {
            failed.push(
                input
                    .strip_prefix(&fuzz)
                    .unwrap_or(input)
                    .display()
                    .to_string(),
            );
        }
    }
    assert!(
        failed.is_empty(),
        "{target}: these inputs fail again: {failed:?}"
    );
}
