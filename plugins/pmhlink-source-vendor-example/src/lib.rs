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

use std::{
    fs::File,
    io::{BufRead, BufReader},
    path::Path,
};

use pmhlink_pdk::{
    PluginError, PluginSpec, SourcePlugin,
    api::{BatchBuilder, RBatch},
};
use serde::Deserialize;

/// The plugin's configuration: the source's `config` table in the pipeline file, which the
/// host hands over as JSON. `deny_unknown_fields` turns a misspelt key into an error instead
/// of a silently ignored setting. Keep `config.schema.json` in step with this struct.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The export file.
    pub path: String,
    /// Skip lines starting with `#` after the header (default: yes).
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
    .config_schema(include_str!("config.schema.json"))
    .capability("utf-8")
}

/// Batches stop growing at this much cell text, whatever `max_rows` says, so memory stays
/// bounded on files with very long lines (and far below the batch format's 4 GiB limit).
const MAX_BATCH_BYTES: usize = 8 << 20;

/// UTF-8 byte order mark, which Windows tools often put before the header.
const BOM: &[u8] = b"\xEF\xBB\xBF";

pub struct AcmeTsv {
    config: Config,
    /// `Some` once reading has started (the first `next_batch`).
    reading: Option<Reading>,
}

struct Reading {
    lines: Lines,
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
    fn start(&self) -> Result<(Lines, Vec<String>), PluginError> {
        let path = Path::new(&self.config.path);
        // Only a regular file: a FIFO would block the run (the pdk checks without blocking).
        let file = pmhlink_pdk::fs::open_regular_file(path)?;
        let mut lines = Lines::new(path, file);
        let at_header = format!("{}:1", file_name(path));
        let missing =
            || PluginError::data("expected a `#` header line naming the columns").at(&at_header);
        let (_, header) = lines.next()?.ok_or_else(missing)?;
        let header = header.strip_prefix(BOM).unwrap_or(header);
        let header = header.strip_prefix(b"#").ok_or_else(missing)?;
        let header = std::str::from_utf8(header)
            .map_err(|_| PluginError::data("the header line is not valid UTF-8").at(&at_header))?;
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
        while batch.rows() < max_rows && batch.text_len() < MAX_BATCH_BYTES {
            let Some((line, bytes)) = lines.next()? else {
                break;
            };
            if bytes.is_empty() || (skip_comments && bytes.starts_with(b"#")) {
                continue;
            }
            match std::str::from_utf8(bytes) {
                Ok(text) => {
                    let mut cells = 0;
                    for cell in text.split('\t') {
                        batch.push_cell(cell);
                        cells += 1;
                    }
                    if cells != width {
                        // Positions and counts only: the cells are personal data.
                        batch.row_error(format!(
                            "line {line}: {cells} cells where the header names {width}"
                        ));
                    }
                }
                // The row stays in the batch, without cells, so the host can count and report it.
                Err(err) => batch.row_error(format!(
                    "line {line}, byte {}: not valid UTF-8",
                    err.valid_up_to() + 1
                )),
            }
            batch.end_row(line);
        }
        // `None` only at the end: a batch holds at least one row.
        Ok((batch.rows() > 0).then(|| batch.finish()))
    }
}

/// The file's name for positions in it (`export.tsv:12`); a failure to open the file names
/// the whole configured path instead, which is what the operator has to fix.
fn file_name(path: &Path) -> String {
    path.file_name()
        .unwrap_or(path.as_os_str())
        .to_string_lossy()
        .into_owned()
}

/// Lines as bytes (decoding is per row, so one bad byte costs one row, not the file), without
/// their `\n` or `\r\n`, with their numbers counted from 1.
struct Lines {
    reader: BufReader<File>,
    buf: Vec<u8>,
    number: u64,
    name: String,
}

impl Lines {
    fn new(path: &Path, file: File) -> Self {
        Self {
            reader: BufReader::new(file),
            buf: Vec::new(),
            number: 0,
            name: file_name(path),
        }
    }

    fn next(&mut self) -> Result<Option<(u64, &[u8])>, PluginError> {
        self.buf.clear();
        let read = self
            .reader
            .read_until(b'\n', &mut self.buf)
            .map_err(|err| {
                PluginError::from(err).at(format!("{}:{}", self.name, self.number + 1))
            })?;
        if read == 0 {
            return Ok(None);
        }
        self.number += 1;
        let line = self.buf.strip_suffix(b"\n").unwrap_or(&self.buf);
        Ok(Some((
            self.number,
            line.strip_suffix(b"\r").unwrap_or(line),
        )))
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
        let mut src = source("damaged.tsv", true);
        let batch = src.next_batch(100).unwrap().unwrap();
        assert_eq!(batch.rows(), 3);
        let errors: Vec<_> = batch
            .row_errors()
            .iter()
            .map(|e| (e.row, e.message.as_str()))
            .collect();
        assert_eq!(
            errors,
            [
                (1, "line 3: 2 cells where the header names 3"),
                (2, "line 4, byte 5: not valid UTF-8"),
            ]
        );
        assert_eq!(batch.row(2).count(), 0);
        assert!(src.next_batch(100).unwrap().is_none());
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
