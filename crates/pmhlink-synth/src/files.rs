//! A synthetic municipality written as the files a vendor system would hand over, plus the
//! expected records: one function shared by `cargo xtask gen` and the end-to-end tests; and
//! the resident registry as the SQLite database [`RESIDENTS_SQLITE`] beside them.

use std::fs::{self, File};
use std::io::{self, BufWriter};
use std::path::Path;

use crate::{
    Counts, ExpectedJsonl, FixedLayout, PersonSink, ResidentsFixed, ResidentsSqlite, ShienCsv,
    SubsidyCsv, Synth,
};

/// The resident registry as a SQLite database: the residents of `residents.dat`, row for row.
/// `cargo xtask gen` writes it beside [`FILES`] (as an extra sink of [`write_dir`], in the same
/// stream); [`write_residents_sqlite`] writes it alone.
pub const RESIDENTS_SQLITE: &str = "residents.sqlite";

/// The files [`write_dir`] writes, in this order.
pub const FILES: [&str; 5] = [
    "subsidy.csv",
    "residents.dat",
    "residents.layout.toml",
    "shien.csv",
    "expected.jsonl",
];

fn create(dir: &Path, name: &str) -> io::Result<BufWriter<File>> {
    let path = dir.join(name);
    File::create(&path)
        .map(|f| BufWriter::with_capacity(1 << 20, f))
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

/// Writes the vendor exports and `expected.jsonl` into `dir`, streaming people through
/// `extra` sinks too (payload writers, say).
pub fn write_dir(
    synth: &Synth,
    dir: &Path,
    extra: &mut [&mut dyn PersonSink],
) -> io::Result<Counts> {
    let as_of = synth.config().as_of;
    fs::create_dir_all(dir)?;
    fs::write(dir.join(FILES[2]), FixedLayout::residents().to_toml())?;
    let mut subsidy = SubsidyCsv::new(create(dir, FILES[0])?, as_of)?;
    let mut residents = ResidentsFixed::new(create(dir, FILES[1])?, synth.municipality(), as_of)?;
    let mut shien = ShienCsv::new(create(dir, FILES[3])?)?;
    let mut expected = ExpectedJsonl::new(create(dir, FILES[4])?);
    let mut sinks: Vec<&mut dyn PersonSink> =
        vec![&mut subsidy, &mut residents, &mut shien, &mut expected];
    sinks.extend(extra.iter_mut().map(|s| &mut **s as &mut dyn PersonSink));
    synth.stream(&mut sinks)
}

/// Writes `synth`'s resident registry as the SQLite database `path` (replacing one there);
/// returns the residents written.
pub fn write_residents_sqlite(synth: &Synth, path: &Path) -> io::Result<u64> {
    let mut registry = ResidentsSqlite::create(path)?;
    synth.stream(&mut [&mut registry])?;
    Ok(registry.count())
}
