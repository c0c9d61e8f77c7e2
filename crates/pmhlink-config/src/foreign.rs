//! Schema stand-ins for the types of `pmhlink-rules` and `pmhlink-profile` a pipeline file holds.
//! Those crates stay free of schemars; the pipeline's fields keep their real types, and these
//! mirror only what the file may say. A test checks each mirror against the real type's serde.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Sync mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(rename = "SyncMode")]
pub(crate) enum SyncDoc {
    /// 全件連携: every certificate, every time (E01/E02).
    Full,
    /// 差分履歴連携: history rows keyed by `history_key` (E05/E06).
    Diff,
}

/// Payload format.
#[allow(dead_code)] // only its schema is used
#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(rename = "Format")]
pub(crate) enum FormatDoc {
    /// JSON payloads (E02/E06).
    Json,
    /// CSV payloads (E01/E05).
    Csv,
}

/// Era-date strictness.
#[allow(dead_code)] // only its schema is used
#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(rename = "DateMode")]
pub(crate) enum DateModeDoc {
    /// A date past the end of its era is a record error.
    Strict,
    /// A date past the end of its era is converted, with a warning.
    Lenient,
}

/// An era, by its romanised or Japanese name.
#[allow(dead_code)] // only its schema is used
#[derive(JsonSchema)]
#[schemars(rename = "Era")]
pub(crate) enum EraDoc {
    /// 明治 (also written `明治`).
    #[serde(rename = "meiji", alias = "明治")]
    Meiji,
    /// 大正 (also written `大正`).
    #[serde(rename = "taisho", alias = "大正")]
    Taisho,
    /// 昭和 (also written `昭和`).
    #[serde(rename = "showa", alias = "昭和")]
    Showa,
    /// 平成 (also written `平成`).
    #[serde(rename = "heisei", alias = "平成")]
    Heisei,
    /// 令和 (also written `令和`).
    #[serde(rename = "reiwa", alias = "令和")]
    Reiwa,
}

/// How the sources write era codes. A map given replaces the default one.
#[allow(dead_code)] // only its schema is used
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "EraTable")]
pub(crate) struct EraTableDoc {
    /// ASCII letter → era, matched case-insensitively (default `M T S H R`).
    #[serde(default)]
    letters: BTreeMap<char, EraDoc>,
    /// ASCII digit → era, for the 7-digit form `5070401` (default `1`–`5`).
    #[serde(default)]
    digits: BTreeMap<char, EraDoc>,
}

/// One local (地単) programme the site registers.
#[allow(dead_code)] // only its schema is used
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "LocalProgram")]
pub(crate) struct LocalProgramDoc {
    /// 都道府県番号, two digits.
    prefecture: String,
    /// 法別番号, two digits (local programmes mostly use 80–99).
    houbetsu: String,
    /// 実施機関番号 pattern, three characters where `?` matches any digit; absent = any.
    #[serde(default)]
    agency: Option<String>,
    /// First day the assignment holds (`YYYY-MM-DD`); absent = always.
    #[serde(default)]
    valid_from: Option<String>,
    /// A name for reports.
    #[serde(default)]
    name: Option<String>,
}
