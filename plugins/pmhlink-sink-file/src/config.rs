//! The `file` sink's settings (their doc comments are the plugin's schema and its page,
//! `docs/plugins/file.md`), and the checks serde cannot make: the file-name pattern.

use std::path::PathBuf;

use pmhlink_pdk::PluginError;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{
    fsio::check_name,
    name::{Pattern, PatternError},
};

/// # file sink
///
/// Writes each run's payload files and a `manifest.json` into `<dir>/<run_id>/`, for the
/// agency's batch tool (method 2) or a manual upload on the PMH screen (method 3). Files are
/// written under `<dir>/.<run_id>.partial/` and the folder is renamed only when the run
/// commits, so nothing half-written ever carries a final name. Results come back by hand
/// (`pmhlink results import`).
///
/// The agency's 手順書 for the batch tool and the upload screen is not public: which file
/// names, byte order mark and line ends they want is **assumed**. The defaults write the
/// files exactly as pmhlink makes them (the profile's `[csv]` settings); change these settings
/// when the agency's documents say otherwise.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The drop folder; created if missing. Each committed run becomes one subfolder named
    /// after the run id.
    #[schemars(length(min = 1))]
    pub dir: PathBuf,
    /// Whether a run whose folder is already in `dir` may be replaced. Off, committing (and
    /// delivering to) such a run is an error.
    #[serde(default)]
    pub overwrite: bool,
    /// The name of each payload file, from placeholders: `{suggested}` (the name pmhlink
    /// gives it: `<API>-<batch from 0, 4 digits>.<json|csv>`, e.g. `E06-0000.json`), `{run_id}`,
    /// `{municipality}` (団体コード), `{api}` (`E05`, `E06`, …), `{seq}` (the file's number
    /// in the run, from 1, 4 digits: `0001`), `{date}` (the business date, `YYYYMMDD`) and
    /// `{ext}` (`json` or `csv`). It must contain `{suggested}` or `{seq}`, so no two files
    /// of a run share a name, and make one plain file name (no `/`, `\`, `:`, leading dot).
    /// Assumed: the batch tool's naming rules are not public; the default keeps pmhlink's
    /// names.
    #[serde(default = "default_file_name")]
    pub file_name: String,
    /// Whether CSV payload files start with a UTF-8 byte order mark (Excel reads a UTF-8
    /// file without one as Shift_JIS, which matters when staff open or edit a file before a
    /// manual upload). JSON files never get one. Assumed: whether the batch tool and the
    /// upload screen accept a BOM is not public; the default writes none, as pmhlink makes
    /// the files.
    #[serde(default)]
    pub csv_bom: bool,
    /// The line ends of CSV payload files. Line breaks inside quoted cells are left as they
    /// are. Assumed: the line ends the batch tool and the upload screen want are not public.
    #[serde(default)]
    pub csv_line_ending: CsvLineEnding,
}

/// How CSV payload files end their lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CsvLineEnding {
    /// As pmhlink writes them: the profile's `[csv] line_ending` (CR LF in the shipped
    /// profile).
    #[default]
    Profile,
    /// CR LF (Windows).
    Crlf,
    /// LF only.
    Lf,
}

fn default_file_name() -> String {
    "{suggested}".to_owned()
}

/// A checked configuration.
#[derive(Debug)]
pub struct Settings {
    pub dir: PathBuf,
    pub overwrite: bool,
    pub file_name: Pattern,
    pub csv_bom: bool,
    pub csv_line_ending: CsvLineEnding,
}

impl Config {
    pub fn settle(self) -> Result<Settings, PluginError> {
        if self.dir.as_os_str().is_empty() {
            return Err(PluginError::config("`dir` is empty").at("dir"));
        }
        let bad_pattern =
            |what: String| PluginError::config(format!("`file_name`: {what}")).at("file_name");
        let file_name = Pattern::parse(&self.file_name).map_err(|e| bad_pattern(e.to_string()))?;
        // A name made from sample values must be one plain file name: separators and leading
        // dots come from the pattern, not from the values.
        check_name("file name", &file_name.sample())
            .map_err(|_| bad_pattern(PatternError::NotAFileName.to_string()))?;
        Ok(Settings {
            dir: self.dir,
            overwrite: self.overwrite,
            file_name,
            csv_bom: self.csv_bom,
            csv_line_ending: self.csv_line_ending,
        })
    }
}
