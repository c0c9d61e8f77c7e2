//! The PMH APIs by number (SO0G-E01 … E14): their names, which carry history rows, file extensions.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The PMH 医療費助成 APIs for municipalities (SO0G-E01 … E14).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ApiId {
    E01,
    E02,
    E03,
    E04,
    E05,
    E06,
    E07,
    E08,
    E11,
    E12,
    E13,
    E14,
}

impl ApiId {
    pub const ALL: [ApiId; 12] = [
        ApiId::E01,
        ApiId::E02,
        ApiId::E03,
        ApiId::E04,
        ApiId::E05,
        ApiId::E06,
        ApiId::E07,
        ApiId::E08,
        ApiId::E11,
        ApiId::E12,
        ApiId::E13,
        ApiId::E14,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ApiId::E01 => "E01",
            ApiId::E02 => "E02",
            ApiId::E03 => "E03",
            ApiId::E04 => "E04",
            ApiId::E05 => "E05",
            ApiId::E06 => "E06",
            ApiId::E07 => "E07",
            ApiId::E08 => "E08",
            ApiId::E11 => "E11",
            ApiId::E12 => "E12",
            ApiId::E13 => "E13",
            ApiId::E14 => "E14",
        }
    }

    /// The agency's full name of the operation, e.g. `SO0G-E06`.
    pub fn full_name(self) -> String {
        format!("SO0G-{}", self.as_str())
    }
}

impl fmt::Display for ApiId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown API `{0}`: expected one of E01–E08, E11–E14 (optionally prefixed SO0G-)")]
pub struct UnknownApi(String);

impl FromStr for ApiId {
    type Err = UnknownApi;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bare = s.strip_prefix("SO0G-").unwrap_or(s);
        ApiId::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(bare))
            .ok_or_else(|| UnknownApi(s.to_owned()))
    }
}

/// 全件連携, 差分履歴連携, 差分履歴連携(リセット有り).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncMode {
    Full,
    Diff,
    Reset,
}

impl SyncMode {
    /// Diff and reset records are history rows (history key + deleted flag).
    pub fn has_history(self) -> bool {
        !matches!(self, SyncMode::Full)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Json,
}

impl Format {
    /// The file extension and the `format` word of a payload (`json`, `csv`).
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "json",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Register,
    Result,
}

/// One API as the profile describes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSpec {
    pub label: String,
    pub role: Role,
    pub sync: SyncMode,
    pub format: Format,
    /// For a registration API, the API that fetches its result.
    #[serde(default)]
    pub result: Option<ApiId>,
    pub method: String,
    pub path: String,
    #[serde(default)]
    pub assumed: bool,
    #[serde(default)]
    pub note: Option<String>,
}
