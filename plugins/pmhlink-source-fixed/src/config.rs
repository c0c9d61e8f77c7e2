//! The `fixed-width` plugin's configuration, its JSON Schema, and the rules serde cannot
//! express.

use std::{ops::Range, path::PathBuf};

use pmhlink_pdk::PluginError;
use pmhlink_rules::text::encode_cp932;
use serde::Deserialize;

use crate::decode::Encoding;

/// As written in the pipeline file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub path: PathBuf,
    #[serde(default)]
    pub encoding: Encoding,
    #[serde(default)]
    pub line_ending: LineEnding,
    #[serde(default)]
    pub record_length: Option<usize>,
    #[serde(default)]
    pub record_type: Option<RecordType>,
    pub fields: Vec<Field>,
    #[serde(default = "yes")]
    pub trim: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LineEnding {
    #[default]
    Crlf,
    Lf,
    /// Records back to back, `record_length` bytes each.
    None,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordType {
    pub offset: usize,
    pub length: usize,
    pub keep: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    pub name: String,
    pub offset: usize,
    pub length: usize,
}

fn yes() -> bool {
    true
}

pub const SCHEMA: &str = r#"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "fixed-width source",
  "description": "Streams one fixed-width file as rows of text cells. Offsets and lengths count bytes (a CP932 full-width character is two); a field that would split a character, a short line or a malformed byte is a row error naming line, field and byte, never a guess.",
  "type": "object",
  "additionalProperties": false,
  "required": ["path", "fields"],
  "properties": {
    "path": {
      "type": "string",
      "minLength": 1,
      "description": "The fixed-width file to read."
    },
    "encoding": {
      "enum": ["cp932", "utf-8"],
      "default": "cp932",
      "description": "Text encoding of the fields: `cp932` is Windows-31J (Shift_JIS with the NEC and IBM extensions)."
    },
    "line_ending": {
      "enum": ["crlf", "lf", "none"],
      "default": "crlf",
      "description": "How records are separated: CR LF, LF, or `none` (records back to back, `record_length` bytes each). A record ending otherwise than declared is a row error."
    },
    "record_length": {
      "type": "integer",
      "minimum": 1,
      "description": "Bytes per record, without the line ending. Required with `line_ending = \"none\"`; when given, a record of another length is a row error and every field must fit in it."
    },
    "record_type": {
      "type": "object",
      "additionalProperties": false,
      "required": ["offset", "length", "keep"],
      "description": "Selects records by a type field: only records whose type is in `keep` are yielded; the others (header and trailer records) are skipped silently.",
      "properties": {
        "offset": { "type": "integer", "minimum": 0, "description": "Byte offset of the type field from the start of the record." },
        "length": { "type": "integer", "minimum": 1, "description": "Length of the type field in bytes." },
        "keep": {
          "type": "array",
          "items": { "type": "string", "minLength": 1 },
          "minItems": 1,
          "description": "Type values of the records to yield, e.g. [\"D\"]; compared byte for byte after dropping trailing ASCII spaces."
        }
      }
    },
    "fields": {
      "type": "array",
      "minItems": 1,
      "description": "The cells of a row, in this order. Fields may overlap or leave gaps.",
      "items": {
        "type": "object",
        "additionalProperties": false,
        "required": ["name", "offset", "length"],
        "properties": {
          "name": { "type": "string", "minLength": 1, "description": "Column name; unique." },
          "offset": { "type": "integer", "minimum": 0, "description": "Byte offset from the start of the record." },
          "length": { "type": "integer", "minimum": 1, "description": "Length in bytes." }
        }
      }
    },
    "trim": {
      "type": "boolean",
      "default": true,
      "description": "Strip leading and trailing ASCII spaces and ideographic spaces (U+3000) from each decoded field."
    }
  }
}"#;

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
        let file_name = self
            .path
            .file_name()
            .unwrap_or(self.path.as_os_str())
            .to_string_lossy()
            .into_owned();
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
