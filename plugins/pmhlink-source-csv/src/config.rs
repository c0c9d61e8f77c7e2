//! The `csv` plugin's configuration (its doc comments are the plugin's schema and its page,
//! `docs/plugins/csv.md`), and the rules serde cannot express.

use std::path::PathBuf;

use pmhlink_pdk::PluginError;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::decode::Encoding;

/// # csv source
///
/// Streams one CSV file as rows of text cells. Every cell is decoded strictly: a malformed
/// byte is a row error naming line and column, never a replacement character. A record whose
/// quoted cell spans several lines is one row, numbered by the line it starts on; a file that
/// ends inside a quoted cell is refused.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The CSV file to read.
    #[schemars(length(min = 1))]
    pub path: PathBuf,
    /// Text encoding of the file. A UTF-8 byte order mark is dropped; with `cp932`, a file
    /// starting with one is refused.
    #[serde(default)]
    pub encoding: Encoding,
    /// Field separator: one ASCII character other than CR and LF, e.g. `","`, `";"` or
    /// `"\t"`. With `cp932` it must lie outside 0x40-0x7E, bytes that also occur as the second
    /// byte of double-byte characters (`|` is the trail byte of ポ).
    #[serde(default = "comma")]
    pub delimiter: char,
    /// Quote character, doubled inside a quoted cell to stand for itself; same restrictions
    /// as `delimiter`, and different from it.
    #[serde(default = "double_quote")]
    pub quote: char,
    /// Whether the first line (after `skip_rows`) names the columns. Without a header, `check`
    /// and `discover` read no row: they open the file (dropping a BOM and the `skip_rows`
    /// lines), and the columns are the ones `columns` names.
    #[serde(default = "yes")]
    pub header: bool,
    /// With `header = true`: the header columns to yield, in this order (each must be in the
    /// header exactly once); all columns when left out. With `header = false` (required
    /// then): the names of the fields, in file order or as placed by `positions`.
    #[serde(default)]
    #[schemars(length(min = 1), inner(length(min = 1)))]
    pub columns: Option<Vec<String>>,
    /// Only with `header = false`: the 0-based field index of each entry of `columns`, for
    /// files whose fields are known by position only.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub positions: Option<Vec<usize>>,
    /// Physical lines to skip before the header (or the first row), e.g. a title line. They
    /// are not parsed as CSV.
    #[serde(default)]
    pub skip_rows: u64,
}

fn comma() -> char {
    ','
}

fn double_quote() -> char {
    '"'
}

fn yes() -> bool {
    true
}

/// Which fields become cells, and under what names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Columns {
    /// Every header column, in file order.
    Header,
    /// These header columns, in this order.
    FromHeader(Vec<String>),
    /// No header: `names[i]` is field `positions[i]`. `explicit`: the positions were given
    /// (otherwise they are 0, 1, 2…) and the file may have more fields than names.
    Positional {
        names: Vec<String>,
        positions: Vec<usize>,
        explicit: bool,
    },
}

/// A checked configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub path: PathBuf,
    /// The file's name, for row errors (the full path is for `check` only).
    pub file_name: String,
    pub encoding: Encoding,
    pub delimiter: u8,
    pub quote: u8,
    pub skip_rows: u64,
    pub columns: Columns,
}

fn invalid(key: &str, message: impl Into<String>) -> PluginError {
    PluginError::config(message).at(key)
}

/// One ASCII byte that cannot be confused with a line end or, in CP932, with half of a
/// double-byte character (the csv parser splits raw bytes before they are decoded).
fn separator(key: &str, c: char, encoding: Encoding) -> Result<u8, PluginError> {
    let byte = u8::try_from(c)
        .ok()
        .filter(|b| b.is_ascii() && !matches!(b, b'\r' | b'\n'))
        .ok_or_else(|| {
            invalid(
                key,
                format!("`{key}` must be one ASCII character other than CR and LF"),
            )
        })?;
    if encoding == Encoding::Cp932 && (0x40..=0x7E).contains(&byte) {
        return Err(invalid(
            key,
            format!(
                "`{key}` cannot be used with cp932: bytes 0x40-0x7E also occur as the second byte of double-byte characters"
            ),
        ));
    }
    Ok(byte)
}

impl Config {
    pub fn settle(self) -> Result<Settings, PluginError> {
        if self.path.as_os_str().is_empty() {
            return Err(invalid("path", "`path` is empty"));
        }
        let delimiter = separator("delimiter", self.delimiter, self.encoding)?;
        let quote = separator("quote", self.quote, self.encoding)?;
        if delimiter == quote {
            return Err(invalid(
                "quote",
                "`quote` and `delimiter` are the same character",
            ));
        }
        if let Some(columns) = &self.columns {
            if columns.is_empty() {
                return Err(invalid("columns", "`columns` is empty"));
            }
            pmhlink_pdk::unique_names("columns", columns)?;
        }
        let columns = match (self.header, self.columns, self.positions) {
            (true, _, Some(_)) => {
                return Err(invalid("positions", "`positions` needs `header = false`"));
            }
            (true, None, None) => Columns::Header,
            (true, Some(names), None) => Columns::FromHeader(names),
            (false, None, _) => {
                return Err(invalid(
                    "columns",
                    "`columns` is required when `header = false`",
                ));
            }
            (false, Some(names), None) => Columns::Positional {
                positions: (0..names.len()).collect(),
                names,
                explicit: false,
            },
            (false, Some(names), Some(positions)) => {
                if positions.len() != names.len() {
                    return Err(invalid(
                        "positions",
                        format!(
                            "`positions` has {} entries, `columns` {}",
                            positions.len(),
                            names.len()
                        ),
                    ));
                }
                Columns::Positional {
                    names,
                    positions,
                    explicit: true,
                }
            }
        };
        let file_name = pmhlink_pdk::fs::file_name(&self.path);
        Ok(Settings {
            path: self.path,
            file_name,
            encoding: self.encoding,
            delimiter,
            quote,
            skip_rows: self.skip_rows,
            columns,
        })
    }
}
