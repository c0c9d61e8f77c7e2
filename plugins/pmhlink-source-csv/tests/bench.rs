//! Throughput across the ABI, as the host reads: `subsidy.csv` (CP932, 22 columns).
//!
//! ```sh
//! cargo run --release -p xtask -- gen --certificates 560000 --out /tmp/x   # ~10^6 rows
//! PMHLINK_BENCH_DIR=/tmp/x cargo test --release -p pmhlink-source-csv --test bench -- --ignored --nocapture
//! ```
//!
//! Without `PMHLINK_BENCH_DIR` a smaller municipality is generated in a temporary folder.

mod common;

use std::{fs::File, io::BufWriter, path::PathBuf, time::Instant};

use common::open;
use pmhlink_synth::{SubsidyCsv, Synth, SynthConfig};
use serde_json::json;

fn subsidy_csv(dir: &std::path::Path) -> PathBuf {
    if let Some(dir) = std::env::var_os("PMHLINK_BENCH_DIR") {
        return PathBuf::from(dir).join("subsidy.csv");
    }
    let synth = Synth::new(SynthConfig {
        certificates: 50_000,
        ..SynthConfig::default()
    });
    let path = dir.join("subsidy.csv");
    let out = BufWriter::new(File::create(&path).unwrap());
    let mut csv = SubsidyCsv::new(out, synth.config().as_of).unwrap();
    synth.stream(&mut [&mut csv]).unwrap();
    path
}

#[test]
#[ignore = "benchmark"]
fn bench_subsidy_csv() {
    let dir = tempfile::tempdir().unwrap();
    let path = subsidy_csv(dir.path());
    let size = std::fs::metadata(&path).unwrap().len();
    for max_rows in [1_000, 10_000] {
        let started = Instant::now();
        let mut source = open(&json!({"path": path, "encoding": "cp932"})).unwrap();
        let (mut rows, mut cells, mut text, mut errors) = (0usize, 0usize, 0usize, 0usize);
        while let Some(batch) = source.next_batch(max_rows).unwrap().into_option() {
            // The host validates every batch it receives; count that in.
            batch.validate().unwrap();
            rows += batch.rows();
            cells += batch.cells();
            text += batch.text_len();
            errors += batch.row_errors().len();
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "csv: {} ({:.1} MB CP932), max_rows {max_rows}: {rows} rows, {cells} cells, {:.1} MB text, {errors} row errors in {secs:.2} s = {:.0} rows/s, {:.0} MB/s",
            path.display(),
            size as f64 / 1e6,
            text as f64 / 1e6,
            rows as f64 / secs,
            size as f64 / 1e6 / secs
        );
        assert_eq!(errors, 0);
    }
}
