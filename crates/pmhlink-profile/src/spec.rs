//! The profile file: what it may say, how it is loaded and what makes it coherent.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use pmhlink_model::{FieldId, FieldKind};
use pmhlink_rules::Charset;
use serde::{Deserialize, Serialize};

use crate::api::{ApiId, ApiSpec, Role, SyncMode};

/// The profile pmhlink ships, built from the confirmed facts; see the file for what is assumed.
pub const DEFAULT_PROFILE_TOML: &str = include_str!("../profiles/pmh-default.toml");

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub name: String,
    pub version: String,
    #[serde(default)]
    pub description: Option<String>,
    pub fields: Vec<FieldSpec>,
    pub apis: BTreeMap<ApiId, ApiSpec>,
    pub limits: Limits,
    pub csv: CsvSpec,
    pub result: ResultSpec,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    pub id: FieldId,
    /// JSON key path, dots nesting objects; also the CSV column header.
    pub key: String,
    pub label: String,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub max_len: Option<usize>,
    #[serde(default)]
    pub exact_len: Option<usize>,
    #[serde(default)]
    pub charset: Option<Charset>,
    #[serde(default)]
    pub codes: Option<Vec<String>>,
    /// Sync modes whose records carry this field; absent = all.
    #[serde(default)]
    pub sync: Option<Vec<SyncMode>>,
    #[serde(default)]
    pub items: Option<ItemsSpec>,
    /// How the interface writes "no end" in this date field (`9999-12-31`); a pipeline sends
    /// its sources' open-ended values in this form unless it says otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_end: Option<String>,
    #[serde(default)]
    pub assumed: bool,
    #[serde(default)]
    pub note: Option<String>,
}

impl FieldSpec {
    pub fn applies_to(&self, sync: SyncMode) -> bool {
        self.sync.as_ref().is_none_or(|modes| modes.contains(&sync))
    }
}

/// The shape of a list field (the certificate face).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemsSpec {
    pub name_key: String,
    pub value_key: String,
    pub max_items: usize,
    pub name_max_len: usize,
    pub value_max_len: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Records per registration call.
    pub max_records: usize,
    /// Bytes of body per registration call.
    pub max_bytes: usize,
    #[serde(default)]
    pub assumed: bool,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CsvEncoding {
    #[serde(rename = "utf-8")]
    Utf8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LineEnding {
    Crlf,
    Lf,
}

impl LineEnding {
    pub fn as_bytes(self) -> &'static [u8] {
        match self {
            LineEnding::Crlf => b"\r\n",
            LineEnding::Lf => b"\n",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvSpec {
    pub encoding: CsvEncoding,
    pub header: bool,
    pub line_ending: LineEnding,
    pub bool_true: String,
    pub bool_false: String,
    /// How many (item name, item value) column pairs the certificate face flattens into.
    pub detail_columns: usize,
    #[serde(default)]
    pub assumed: bool,
    #[serde(default)]
    pub note: Option<String>,
}

/// Key names (JSON) and column names (CSV) of a registration result, and its status words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultSpec {
    pub task_id: String,
    pub status: String,
    pub records: String,
    pub record_number: String,
    pub history_key: String,
    pub outcome: String,
    pub errors: String,
    pub error_code: String,
    pub error_item: String,
    pub error_message: String,
    pub status_processing: String,
    pub status_completed: String,
    pub status_failed: String,
    pub outcome_accepted: String,
    pub outcome_rejected: String,
    pub csv_columns: Vec<String>,
    #[serde(default)]
    pub assumed: bool,
    #[serde(default)]
    pub note: Option<String>,
}

/// A profile that cannot be used. Messages name the file and the entry.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("cannot read profile {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("profile {origin} is not valid: {message}")]
    Parse { origin: String, message: String },
    #[error("profile {origin}: {message}")]
    Incoherent { origin: String, message: String },
}

impl Profile {
    /// The shipped default profile.
    pub fn builtin() -> Profile {
        Profile::from_toml_str(DEFAULT_PROFILE_TOML, "<built-in pmh-default>")
            .expect("the shipped profile is valid (tested)")
    }

    pub fn load(path: &Path) -> Result<Profile, ProfileError> {
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Profile::from_toml_str(&text, &path.display().to_string())
    }

    pub fn from_toml_str(text: &str, origin: &str) -> Result<Profile, ProfileError> {
        let profile: Profile = toml::from_str(text).map_err(|e| ProfileError::Parse {
            origin: origin.to_owned(),
            message: e.to_string(),
        })?;
        profile
            .validate()
            .map_err(|message| ProfileError::Incoherent {
                origin: origin.to_owned(),
                message,
            })?;
        Ok(profile)
    }

    pub fn field(&self, id: FieldId) -> Option<&FieldSpec> {
        self.fields.iter().find(|f| f.id == id)
    }

    pub fn api(&self, id: ApiId) -> Option<&ApiSpec> {
        self.apis.get(&id)
    }

    fn validate(&self) -> Result<(), String> {
        let mut ids = HashSet::new();
        let mut keys = HashSet::new();
        for f in &self.fields {
            let at = format!("field `{}` (key `{}`)", f.id, f.key);
            if !ids.insert(f.id) {
                return Err(format!("{at} is defined twice"));
            }
            if f.key.is_empty() || f.key.split('.').any(str::is_empty) {
                return Err(format!("{at}: a key path has no empty segments"));
            }
            if !keys.insert(f.key.as_str()) {
                return Err(format!("{at}: the key is used by another field"));
            }
            let kind = f.id.kind();
            if (kind == FieldKind::Items) != f.items.is_some() {
                return Err(format!(
                    "{at}: `items` is for the certificate face and required there"
                ));
            }
            if kind != FieldKind::Text
                && (f.charset.is_some()
                    || f.codes.is_some()
                    || f.max_len.is_some()
                    || f.exact_len.is_some())
            {
                return Err(format!(
                    "{at}: a {kind:?} field takes no charset, codes or lengths"
                ));
            }
            if let Some(end) = &f.open_end
                && (f.charset != Some(Charset::IsoDate)
                    || pmhlink_rules::CivilDate::parse_iso(end).is_err())
            {
                return Err(format!(
                    "{at}: `open_end` is a `YYYY-MM-DD` date, on a field of charset `iso_date`"
                ));
            }
        }
        for f in &self.fields {
            if let Some(parent) = self
                .fields
                .iter()
                .find(|p| f.key.starts_with(&format!("{}.", p.key)))
            {
                return Err(format!(
                    "field `{}` (key `{}`) nests under field `{}`, which is a value, not an object",
                    f.id, f.key, parent.id
                ));
            }
        }
        for (id, api) in &self.apis {
            match (api.role, api.result) {
                (Role::Register, None) => {
                    return Err(format!("API {id}: a registration API names its result API"));
                }
                (Role::Register, Some(r))
                    if self.apis.get(&r).is_none_or(|a| a.role != Role::Result) =>
                {
                    return Err(format!(
                        "API {id}: result API {r} is not a result API of this profile"
                    ));
                }
                _ => {}
            }
        }
        if self.limits.max_records == 0 || self.limits.max_bytes == 0 {
            return Err("limits: max_records and max_bytes must be positive".into());
        }
        if self.csv.bool_true == self.csv.bool_false {
            return Err("csv: bool_true and bool_false must differ".into());
        }
        Ok(())
    }
}
