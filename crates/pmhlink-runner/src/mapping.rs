//! A pipeline's mapping compiled against the columns its sources actually have: names resolved
//! to indices once, so mapping a row does no lookups by name.

use std::collections::{HashMap, HashSet};

use pmhlink_model::FieldId;

use crate::clean::Step;

/// A column of the primary source (`source == 0`) or of join `source - 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ColumnRef {
    pub source: usize,
    pub column: usize,
}

pub use pmhlink_config::{ProgramField as ProgramAttr, TemplatePart};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValueSource {
    Column(ColumnRef),
    Constant(String),
    Program(ProgramAttr),
    /// True when the (optional) join found a row.
    Exists(usize),
    /// Other mapped fields' cleaned values, after every non-template field is mapped.
    Template(Vec<TemplatePart>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeMap {
    pub map: HashMap<String, String>,
    /// Used for a value the map does not cover; without it such a value is a record error.
    pub fallback: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MappedValue {
    pub source: ValueSource,
    pub steps: Vec<Step>,
    pub map: Option<CodeMap>,
    /// Used when the cleaned (and mapped) value is empty.
    pub default: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MappedField {
    pub field: FieldId,
    pub value: MappedValue,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MappedDetail {
    pub name: String,
    pub value: MappedValue,
    pub skip_empty: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    pub code: String,
    pub type_id: String,
    pub certification_name: String,
    pub insurer_number: Option<String>,
    /// Programmes that do not manage sex send `0` (the 2024 pilot briefing).
    pub manages_sex: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MappedJoin {
    pub name: String,
    pub left: ColumnRef,
    pub right_column: usize,
    pub required: bool,
    /// Columns bounding when a row of the joined source holds; rows outside the business
    /// date are not joined.
    pub valid_from: Option<usize>,
    pub valid_to: Option<usize>,
    /// Whether any mapping reads a column of this join (otherwise only its presence counts,
    /// and a key found twice is still "present").
    pub columns_read: bool,
    /// What an unreadable row whose key cannot be read does to the run.
    pub on_unreadable_key: pmhlink_config::OnUnreadableKey,
}

/// How a validity end meaning "no end" is recognised and sent (`rules.open_end`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenEnd {
    /// The date sent, `YYYY-MM-DD`.
    pub sent_as: String,
    /// Whether an empty cell means "no end" too.
    pub empty: bool,
}

/// The primary source's column the quarantine list shows beside the line number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuarantineKey {
    pub column: usize,
    /// The column's name as the pipeline file writes it: the list's header for it.
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    pub primary: String,
    pub joins: Vec<MappedJoin>,
    pub program_column: ColumnRef,
    pub programs: HashMap<String, Program>,
    /// Programme codes the municipality does not send (`program.ignore`).
    pub ignored: HashSet<String>,
    /// For the `valid_to` field; `None`: such values are read as ordinary dates.
    pub open_end: Option<OpenEnd>,
    pub quarantine_key: Option<QuarantineKey>,
    /// Non-template fields first, so templates see their inputs.
    pub fields: Vec<MappedField>,
    pub details: Vec<MappedDetail>,
    /// Diff-history and reset records carry a history row.
    pub history: bool,
}
