//! pmhlink source plugin `fixed-width`: streams a fixed-width export as rows of text cells.
//!
//! ```toml
//! [sources.residents]
//! plugin = "fixed-width"
//! path = "/data/export/residents.dat"
//! record_length = 211
//! record_type = { offset = 0, length = 1, keep = ["D"] }
//! fields = [
//!   { name = "宛名番号", offset = 1, length = 10 },
//!   { name = "氏名", offset = 23, length = 40 },
//! ]
//! ```
//!
//! Offsets and lengths count bytes, as the vendor's layout sheet does (a CP932 full-width
//! character is two). The plugin only cuts and decodes (architecture invariant 1): a field
//! boundary inside a double-byte character, a short line or a malformed byte is a row error
//! naming the line, field and byte offset — never a guess, never the content. An empty file
//! gives zero rows; whether that is an error is the host's call. Every key is documented in
//! `docs/plugins/fixed-width.md`, generated from [`Config`].

pub mod config;
mod decode;
mod records;
mod row;

use pmhlink_pdk::{
    PluginError, PluginSpec, SourcePlugin,
    api::{BatchBuilder, RBatch},
};

pub use config::Config;
use config::Settings;
use records::Records;
use row::Cutter;

pub fn spec() -> PluginSpec {
    PluginSpec::new(
        "fixed-width",
        env!("CARGO_PKG_VERSION"),
        "Reads a fixed-width file (CP932 or UTF-8 byte layouts), decoding every field strictly.",
    )
    .config_schema_of::<Config>()
    .capability("cp932")
    .capability("utf-8")
}

pub fn open(config: Config) -> Result<FixedSource, PluginError> {
    // Opening only checks the configuration; the file is touched by `check` and the reads.
    Ok(FixedSource {
        settings: config.settle()?,
        records: None,
        cutter: Cutter::default(),
        finished: false,
    })
}

pub struct FixedSource {
    settings: Settings,
    records: Option<Records>,
    cutter: Cutter,
    finished: bool,
}

impl SourcePlugin for FixedSource {
    fn check(&self) -> Result<(), PluginError> {
        // Read one record, so an unreadable file fails here rather than mid-run.
        Records::open(&self.settings)?.next_record().map(drop)
    }

    fn discover(&self) -> Result<Vec<String>, PluginError> {
        Ok(self
            .settings
            .fields
            .iter()
            .map(|f| f.name.clone())
            .collect())
    }

    fn next_batch(&mut self, max_rows: usize) -> Result<Option<RBatch>, PluginError> {
        if self.finished {
            return Ok(None);
        }
        let s = &self.settings;
        let records = match &mut self.records {
            Some(records) => records,
            None => self.records.insert(Records::open(s)?),
        };
        let rows = max_rows.min(1 << 16);
        let width = s.fields.len();
        let mut batch = BatchBuilder::with_capacity(rows, rows * width, rows * width * 8);
        while pmhlink_pdk::batch::has_room(&batch, max_rows) {
            let Some(record) = records.next_record()? else {
                self.finished = true;
                break;
            };
            if row::wanted(s, &record) {
                self.cutter.push_row(s, &record, &mut batch);
            }
        }
        if self.finished {
            // Close the file now rather than when the host drops the source.
            self.records = None;
        }
        Ok((batch.rows() > 0).then(|| batch.finish()))
    }
}

pmhlink_pdk::export_source_plugin!(spec, open);
