//! Example vendor plugin: a pmhlink **source** for the export of the (fictional)
//! "Acme 福祉システム". `docs/plugin-guide.md` walks through this file; keep the two in sync.
//!
//! The export is a tab-separated UTF-8 file. Its first line is a `#` comment naming the
//! columns; Acme also writes comment lines such as a `# 出力件数: 3` trailer:
//!
//! ```text
//! # 受給者番号<TAB>公費負担者番号<TAB>氏名カナ<TAB>生年月日<TAB>資格取得日<TAB>資格喪失日
//! 9990001<TAB>81136015<TAB>ﾃｽﾄ ﾀﾛｳ<TAB>S55.04.01<TAB>2024-04-01<TAB>2025-03-31
//! # 出力件数: 1
//! ```
//!
//! The plugin only reads: it turns lines into rows of text cells and says which line each row
//! came from. Era dates, half-width kana, check digits — all meaning — stay in the host.

use std::{fs::File, path::Path};

use pmhlink_pdk::{
    PluginError, PluginSpec, SourcePlugin,
    api::{BatchBuilder, RBatch},
    lines::{Bom, LineReader},
};
use schemars::JsonSchema;
use serde::Deserialize;

/// # acme-tsv source
///
/// Reads the export of Acme 福祉システム: tab-separated UTF-8, the first line a `#` comment
/// naming the columns.
///
/// The plugin's configuration is the source's `config` table in the pipeline file, which the
/// host hands over as JSON. `deny_unknown_fields` turns a misspelt key into an error instead
/// of a silently ignored setting; the doc comments are the schema's descriptions.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The export file (tab-separated UTF-8, first line `# column<TAB>column…`).
    #[schemars(length(min = 1))]
    pub path: String,
    /// Skip later lines starting with `#` (Acme writes a `# 出力件数` trailer).
    #[serde(default = "yes")]
    pub skip_comments: bool,
}

fn yes() -> bool {
    true
}

pub fn spec() -> PluginSpec {
    PluginSpec::new(
        "acme-tsv",
        env!("CARGO_PKG_VERSION"),
        "Acme 福祉システム export: tab-separated UTF-8 with a `#` header line",
    )
    .config_schema_of::<Config>()
    .capability("utf-8")
}

pub struct AcmeTsv {
    config: Config,
    /// `Some` once reading has started (the first `next_batch`).
    reading: Option<Reading>,
}

struct Reading {
    lines: LineReader<File>,
    width: usize,
}

/// Opens the plugin; called by the host for every run. Only checks what needs no IO: the file
/// is opened by `check`, `discover` and `next_batch`.
pub fn open(config: Config) -> Result<AcmeTsv, PluginError> {
    if config.path.is_empty() {
        // Name the key, never the value: configs may hold secrets and personal paths.
        return Err(PluginError::config("config `path`: must not be empty").at("path"));
    }
    Ok(AcmeTsv {
        config,
        reading: None,
    })
}

impl AcmeTsv {
    /// Opens the file and reads the header: the reader positioned on line 2, and the columns.
    fn start(&self) -> Result<(LineReader<File>, Vec<String>), PluginError> {
        // Only a regular file (a FIFO would block the run); a UTF-8 BOM is dropped.
        let mut lines = LineReader::open(Path::new(&self.config.path), Bom::Strip)?;
        let at_header = format!("{}:1", lines.file());
        let missing =
            || PluginError::data("expected a `#` header line naming the columns").at(&at_header);
        let header = lines.next_line()?.ok_or_else(missing)?;
        let header = header
            .utf8()
            .map_err(|e| PluginError::data(e.to_string()).at(&at_header))?;
        let header = header.strip_prefix('#').ok_or_else(missing)?;
        let columns: Vec<String> = header.split('\t').map(|c| c.trim().to_owned()).collect();
        if columns.iter().any(String::is_empty) {
            return Err(PluginError::data("the header names an empty column").at(&at_header));
        }
        Ok((lines, columns))
    }
}

impl SourcePlugin for AcmeTsv {
    fn check(&self) -> Result<(), PluginError> {
        self.start().map(drop)
    }

    fn discover(&self) -> Result<Vec<String>, PluginError> {
        self.start().map(|(_, columns)| columns)
    }

    fn next_batch(&mut self, max_rows: usize) -> Result<Option<RBatch>, PluginError> {
        if self.reading.is_none() {
            let (lines, columns) = self.start()?;
            self.reading = Some(Reading {
                lines,
                width: columns.len(),
            });
        }
        let skip_comments = self.config.skip_comments;
        let Some(Reading { lines, width }) = &mut self.reading else {
            unreachable!("reading was started above");
        };
        let width = *width;
        let mut batch = BatchBuilder::new();
        // At most `max_rows` rows and the pdk's text limit per batch.
        while pmhlink_pdk::batch::has_room(&batch, max_rows) {
            let Some(line) = lines.next_line()? else {
                break;
            };
            if line.bytes.is_empty() || (skip_comments && line.bytes.starts_with(b"#")) {
                continue;
            }
            let number = line.number;
            match line.utf8() {
                Ok(text) => {
                    let mut cells = 0;
                    for cell in text.split('\t') {
                        batch.push_cell(cell);
                        cells += 1;
                    }
                    if cells != width {
                        // Positions and counts only: the cells are personal data.
                        batch.row_error(format!(
                            "line {number}: {cells} cells where the header names {width}"
                        ));
                    }
                }
                // The row stays in the batch, without cells, so the host can count and report
                // it. The error names the line and byte: `line 4, byte 5: not valid UTF-8`.
                Err(not_utf8) => batch.row_error(not_utf8.to_string()),
            }
            batch.end_row(number);
        }
        // `None` only at the end: a batch holds at least one row.
        Ok((batch.rows() > 0).then(|| batch.finish()))
    }
}

pmhlink_pdk::export_source_plugin!(spec, open);

#[cfg(test)]
mod tests {
    //! The plugin's own logic, called directly (no ABI); `tests/conformance.rs` checks the
    //! built library the way pmhlink loads it.

    use super::*;

    fn fixture(name: &str) -> String {
        format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
    }

    fn source(name: &str, skip_comments: bool) -> AcmeTsv {
        open(Config {
            path: fixture(name),
            skip_comments,
        })
        .unwrap()
    }

    #[test]
    fn damaged_rows_become_row_errors_without_content() {
        // The pdk's test helper reads to the end, checking each batch as the host does.
        let read = pmhlink_pdk::testing::read_to_end(&mut source("damaged.tsv", true), 2).unwrap();
        assert_eq!(read.batches, [2, 1]);
        assert_eq!(read.lines(), [2, 3, 4]);
        assert_eq!(
            read.errors(),
            [
                (3, "line 3: 2 cells where the header names 3"),
                (4, "line 4, byte 5: not valid UTF-8"),
            ]
        );
        // An undecodable row keeps no cells.
        assert!(read.rows[2].cells.is_empty());
    }

    #[test]
    fn comments_are_rows_when_not_skipped() {
        let mut skipping = source("three-rows.tsv", true);
        let mut keeping = source("three-rows.tsv", false);
        let rows = |s: &mut AcmeTsv| s.next_batch(100).unwrap().unwrap().rows();
        assert_eq!((rows(&mut skipping), rows(&mut keeping)), (3, 5));
    }

    #[test]
    fn a_file_without_header_is_a_data_error_at_line_1() {
        let err = source("no-header.tsv", true).check().unwrap_err();
        assert_eq!(err.kind, pmhlink_pdk::api::RErrorKind::Data);
        assert_eq!(err.location.as_deref(), Some("no-header.tsv:1"));
    }

    #[test]
    fn a_missing_file_is_an_io_error_naming_it() {
        let err = source("missing.tsv", true).discover().unwrap_err();
        assert_eq!(err.kind, pmhlink_pdk::api::RErrorKind::Io);
        assert!(err.location.unwrap().ends_with("missing.tsv"));
    }
}
