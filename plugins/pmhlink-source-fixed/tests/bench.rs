//! Throughput across the ABI, as the host reads: `residents.dat` (CP932, 211-byte records).
//!
//! ```sh
//! cargo run --release -p xtask -- gen --certificates 560000 --out /tmp/x
//! PMHLINK_BENCH_DIR=/tmp/x cargo test --release -p pmhlink-source-fixed --test bench -- --ignored --nocapture
//! ```
//!
//! Without `PMHLINK_BENCH_DIR` a smaller municipality is generated in a temporary folder.

mod common;

use std::{fs::File, io::BufWriter, path::PathBuf, time::Instant};

use common::open;
use pmhlink_synth::{FixedLayout, ResidentsFixed, Synth, SynthConfig};
use serde_json::{Value, json};

fn residents_dat(dir: &std::path::Path) -> PathBuf {
    if let Some(dir) = std::env::var_os("PMHLINK_BENCH_DIR") {
        return PathBuf::from(dir).join("residents.dat");
    }
    let synth = Synth::new(SynthConfig {
        certificates: 50_000,
        ..SynthConfig::default()
    });
    let path = dir.join("residents.dat");
    let out = BufWriter::new(File::create(&path).unwrap());
    let mut w = ResidentsFixed::new(out, synth.municipality(), synth.config().as_of).unwrap();
    synth.stream(&mut [&mut w]).unwrap();
    path
}

#[test]
#[ignore = "benchmark"]
fn bench_residents_dat() {
    let dir = tempfile::tempdir().unwrap();
    let path = residents_dat(dir.path());
    let size = std::fs::metadata(&path).unwrap().len();
    let layout = FixedLayout::residents();
    let fields: Vec<Value> = layout
        .record("D")
        .fields
        .iter()
        .filter(|f| f.name != "filler")
        .map(|f| json!({"name": f.name, "offset": f.offset, "length": f.length}))
        .collect();
    let config = json!({
        "path": path,
        "record_length": layout.record_length,
        "record_type": {"offset": 0, "length": 1, "keep": ["D"]},
        "fields": fields,
    });
    for max_rows in [1_000, 10_000] {
        let started = Instant::now();
        let mut source = open(&config).unwrap();
        let (mut rows, mut text, mut errors) = (0usize, 0usize, 0usize);
        while let Some(batch) = source.next_batch(max_rows).unwrap().into_option() {
            batch.validate().unwrap();
            rows += batch.rows();
            text += batch.text_len();
            errors += batch.row_errors().len();
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "fixed-width: {} ({:.1} MB CP932), max_rows {max_rows}: {rows} rows x {} fields, {:.1} MB text, {errors} row errors in {secs:.2} s = {:.0} rows/s, {:.0} MB/s",
            path.display(),
            size as f64 / 1e6,
            fields.len(),
            text as f64 / 1e6,
            rows as f64 / secs,
            size as f64 / 1e6 / secs
        );
        assert_eq!(errors, 0);
    }
}
