//! The `fixed-width` plugin's configuration (its doc comments are the plugin's schema and its
//! page, `docs/plugins/fixed-width.md`), and the rules serde cannot express.

use std::{ops::Range, path::PathBuf};

use pmhlink_pdk::PluginError;
use pmhlink_rules::text::encode_cp932;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::decode::Encoding;

/// # fixed-width source
///
/// Streams one fixed-width file as rows of text cells. Offsets and lengths count bytes (a
/// CP932 full-width character is two); a field that would split a character, a short line or
/// a malformed byte is a row error naming line, field and byte, never a guess. The file has no
/// header: `check` opens it and reads its first record, `discover` gives the `fields` names.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The fixed-width file to read.
    #[schemars(length(min = 1))]
    pub path: PathBuf,
    /// Text encoding of the fields. A UTF-8 byte order mark is dropped; with `cp932`, a file
    /// starting with one is refused.
    #[serde(default = "cp932")]
    pub encoding: Encoding,
    /// How records are separated. A record ending otherwise than declared is a row error.
    #[serde(default)]
    pub line_ending: LineEnding,
    /// Bytes per record, without the line ending. Required with `line_ending = "none"`; when
    /// given, a record of another length is a row error and every field must fit in it.
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub record_length: Option<usize>,
    /// Selects records by a type field: only records whose type is in `keep` are yielded; the
    /// others (header and trailer records) are skipped silently.
    #[serde(default)]
    pub record_type: Option<RecordType>,
    /// The cells of a row, in this order. Fields may overlap or leave gaps.
    #[schemars(length(min = 1))]
    pub fields: Vec<Field>,
    /// Strip leading and trailing ASCII spaces and ideographic spaces (U+3000) from each
    /// decoded field.
    #[serde(default = "yes")]
    pub trim: bool,
}

/// How records are separated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LineEnding {
    /// CR LF.
    #[default]
    Crlf,
    /// LF.
    Lf,
    /// Records back to back, `record_length` bytes each.
    None,
}

/// The type field that selects records.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordType {
    /// Byte offset of the type field from the start of the record.
    pub offset: usize,
    /// Length of the type field in bytes.
    #[schemars(range(min = 1))]
    pub length: usize,
    /// Type values of the records to yield, e.g. `["D"]`; compared byte for byte after
    /// dropping trailing ASCII spaces.
    #[schemars(length(min = 1), inner(length(min = 1)))]
    pub keep: Vec<String>,
}

/// One cell of a row.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Field {
    /// Column name; unique.
    #[schemars(length(min = 1))]
    pub name: String,
    /// Byte offset from the start of the record.
    pub offset: usize,
    /// Length in bytes.
    #[schemars(range(min = 1))]
    pub length: usize,
}

fn cp932() -> Encoding {
    Encoding::Cp932
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone)]
pub struct FieldSpec {
    pub name: String,
    pub bytes: Range<usize>,
}

#[derive(Debug, Clone)]
pub struct TypeFilter {
    pub bytes: Range<usize>,
    /// Encoded like the file, trailing spaces dropped.
    pub keep: Vec<Vec<u8>>,
}

/// A checked configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub path: PathBuf,
    /// The file's name, for row errors (the full path is for `check` only).
    pub file_name: String,
    pub encoding: Encoding,
    pub line_ending: LineEnding,
    pub record_length: Option<usize>,
    pub record_type: Option<TypeFilter>,
    pub fields: Vec<FieldSpec>,
    pub trim: bool,
}

fn invalid(key: impl Into<String>, message: impl Into<String>) -> PluginError {
    PluginError::config(message).at(key)
}

/// `offset..offset + length`, non-empty and inside the record.
fn span(
    key: &str,
    what: &str,
    offset: usize,
    length: usize,
    record_length: Option<usize>,
) -> Result<Range<usize>, PluginError> {
    if length == 0 {
        return Err(invalid(key, format!("{what} has length 0")));
    }
    let end = offset
        .checked_add(length)
        .ok_or_else(|| invalid(key, format!("{what} lies past any record")))?;
    match record_length {
        Some(r) if end > r => Err(invalid(
            key,
            format!("{what} needs bytes {offset}..{end}, past record_length {r}"),
        )),
        _ => Ok(offset..end),
    }
}

pub fn trim_spaces(mut bytes: &[u8]) -> &[u8] {
    while let [rest @ .., b' '] = bytes {
        bytes = rest;
    }
    bytes
}

impl Config {
    pub fn settle(self) -> Result<Settings, PluginError> {
        if self.path.as_os_str().is_empty() {
            return Err(invalid("path", "`path` is empty"));
        }
        match self.record_length {
            Some(0) => return Err(invalid("record_length", "`record_length` is 0")),
            None if self.line_ending == LineEnding::None => {
                return Err(invalid(
                    "record_length",
                    "`record_length` is required when records have no line ending",
                ));
            }
            _ => {}
        }
        if self.fields.is_empty() {
            return Err(invalid("fields", "`fields` is empty"));
        }
        let mut fields = Vec::with_capacity(self.fields.len());
        for (i, field) in self.fields.into_iter().enumerate() {
            let key = format!("fields[{i}]");
            if field.name.is_empty() {
                return Err(invalid(
                    format!("{key}.name"),
                    format!("`{key}.name` is empty"),
                ));
            }
            if fields.iter().any(|f: &FieldSpec| f.name == field.name) {
                return Err(invalid(
                    format!("{key}.name"),
                    format!("`fields` names `{}` twice", field.name),
                ));
            }
            let what = format!("field `{}`", field.name);
            let bytes = span(&key, &what, field.offset, field.length, self.record_length)?;
            fields.push(FieldSpec {
                name: field.name,
                bytes,
            });
        }
        let record_type = match self.record_type {
            None => None,
            Some(t) => Some(type_filter(t, self.encoding, self.record_length)?),
        };
        let file_name = pmhlink_pdk::fs::file_name(&self.path);
        Ok(Settings {
            path: self.path,
            file_name,
            encoding: self.encoding,
            line_ending: self.line_ending,
            record_length: self.record_length,
            record_type,
            fields,
            trim: self.trim,
        })
    }
}

fn type_filter(
    t: RecordType,
    encoding: Encoding,
    record_length: Option<usize>,
) -> Result<TypeFilter, PluginError> {
    let bytes = span(
        "record_type",
        "`record_type`",
        t.offset,
        t.length,
        record_length,
    )?;
    if t.keep.is_empty() {
        return Err(invalid("record_type.keep", "`record_type.keep` is empty"));
    }
    let mut keep = Vec::with_capacity(t.keep.len());
    for (i, value) in t.keep.iter().enumerate() {
        let key = format!("record_type.keep[{i}]");
        // Compared with the file's bytes, so encoded the way the file is.
        let encoded = match encoding {
            Encoding::Cp932 => encode_cp932(value).map_err(|_| {
                invalid(&key, format!("`{key}` has a character CP932 cannot encode"))
            })?,
            Encoding::Utf8 => value.as_bytes().to_vec(),
        };
        let encoded = trim_spaces(&encoded).to_vec();
        if encoded.is_empty() || encoded.len() > t.length {
            return Err(invalid(
                &key,
                format!("`{key}` does not fit the {}-byte type field", t.length),
            ));
        }
        keep.push(encoded);
    }
    Ok(TypeFilter { bytes, keep })
}
