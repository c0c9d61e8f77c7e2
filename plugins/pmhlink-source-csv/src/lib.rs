//! pmhlink source plugin `csv`: streams one CSV file as rows of text cells.
//!
//! ```toml
//! [sources.subsidy]
//! plugin = "csv"
//! path = "/data/export/subsidy.csv"
//! encoding = "cp932"          # or "utf-8" (default; a BOM is dropped)
//! columns = ["宛名番号", "受給者番号"]   # optional subset, in this order
//! ```
//!
//! The plugin only reads (architecture invariant 1): every cell is decoded strictly and
//! handed over as text; no trimming or cleaning. A cell that does not decode, or a record with
//! another field count than the header, is still yielded and carries a row error naming the
//! file, line and column — never the content. Line numbers are physical lines, so a quoted
//! cell spanning lines moves the next row's number on. Every key is documented in
//! `docs/plugins/csv.md`, generated from [`Config`].

pub mod config;
mod decode;
mod lines;
mod reader;
mod table;

use pmhlink_pdk::{
    PluginError, PluginSpec, SourcePlugin,
    api::{BatchBuilder, RBatch},
};

pub use config::Config;
use config::Settings;
use reader::Records;
use table::Table;

pub fn spec() -> PluginSpec {
    PluginSpec::new(
        "csv",
        env!("CARGO_PKG_VERSION"),
        "Reads a CSV file (UTF-8 or CP932), decoding every cell strictly.",
    )
    .config_schema_of::<Config>()
    .capability("utf-8")
    .capability("cp932")
}

pub fn open(config: Config) -> Result<CsvSource, PluginError> {
    // Opening only checks the configuration; the file is touched by `check` and the reads.
    Ok(CsvSource {
        settings: config.settle()?,
        reading: None,
        finished: false,
    })
}

pub struct CsvSource {
    settings: Settings,
    reading: Option<Reading>,
    finished: bool,
}

struct Reading {
    records: Records,
    table: Table,
}

impl CsvSource {
    /// Opens the file and reads the header, if any.
    fn start(&self) -> Result<Reading, PluginError> {
        let mut records = Records::open(&self.settings)?;
        let table = Table::resolve(&self.settings, &mut records)?;
        Ok(Reading { records, table })
    }
}

impl SourcePlugin for CsvSource {
    fn check(&self) -> Result<(), PluginError> {
        self.start().map(drop)
    }

    fn discover(&self) -> Result<Vec<String>, PluginError> {
        Ok(self.start()?.table.names().to_vec())
    }

    fn next_batch(&mut self, max_rows: usize) -> Result<Option<RBatch>, PluginError> {
        if self.finished {
            return Ok(None);
        }
        let reading = match &mut self.reading {
            Some(reading) => reading,
            None => self.reading.insert(self.start()?),
        };
        let rows = max_rows.min(1 << 16);
        let width = reading.table.names().len();
        let mut batch = BatchBuilder::with_capacity(rows, rows * width, rows * width * 8);
        while pmhlink_pdk::batch::has_room(&batch, max_rows) {
            match reading.records.next_record()? {
                Some((line, record)) => {
                    reading
                        .table
                        .push_row(&self.settings, line, record, &mut batch);
                }
                None => {
                    self.finished = true;
                    break;
                }
            }
        }
        if self.finished {
            // Close the file now rather than when the host drops the source.
            self.reading = None;
        }
        Ok((batch.rows() > 0).then(|| batch.finish()))
    }
}

pmhlink_pdk::export_source_plugin!(spec, open);
