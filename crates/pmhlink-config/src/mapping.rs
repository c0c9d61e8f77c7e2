//! `[mapping]`: how each PMH field is filled from the joined row.
//!
//! The file writes a mapping as a table with one value key (`column`, `constant`, `program`,
//! `exists`, `template`) and optional steps; [`Mapping`] holds it as an enum plus those steps,
//! so the runner matches on the value source instead of probing five options.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use pmhlink_model::FieldId;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

/// `<source>.<column>`: a column of a named source. The column is everything after the first
/// dot, so column names may themselves contain dots.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ColumnRef {
    pub source: String,
    pub column: String,
}

impl ColumnRef {
    pub fn parse(s: &str) -> Option<ColumnRef> {
        let (source, column) = s.split_once('.')?;
        (!source.is_empty() && !column.is_empty()).then(|| ColumnRef {
            source: source.to_owned(),
            column: column.to_owned(),
        })
    }
}

impl fmt::Display for ColumnRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.source, self.column)
    }
}

impl Serialize for ColumnRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ColumnRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ColumnRef::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{s}` is not a column reference: write `<source>.<column>`"
            ))
        })
    }
}

impl JsonSchema for ColumnRef {
    fn schema_name() -> Cow<'static, str> {
        "ColumnRef".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^[^.]+\\..+$",
            "description": "`<source>.<column>`: a column of a named source (`subsidy.宛名番号`)."
        })
    }
}

/// One piece of a template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TemplatePart {
    Text(String),
    /// The cleaned value of another mapped field.
    Field(FieldId),
}

/// Text with `{field}` references to other mapped fields (`{valid_from}から{valid_to}まで`);
/// `{{` and `}}` stand for literal braces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    source: String,
    parts: Vec<TemplatePart>,
}

impl Template {
    pub fn parse(s: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    text.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    text.push('}');
                }
                '{' => {
                    let mut name = String::new();
                    let mut closed = false;
                    for c in chars.by_ref() {
                        if c == '}' {
                            closed = true;
                            break;
                        }
                        name.push(c);
                    }
                    if !closed {
                        return Err("a `{` without its `}` (write `{{` for a literal brace)".into());
                    }
                    let field = field_by_name(&name).ok_or_else(|| {
                        format!(
                            "template reference `{{{name}}}` is not a PMH field; fields are {}",
                            crate::error::list(FieldId::ALL.iter().map(|f| f.name()))
                        )
                    })?;
                    if !text.is_empty() {
                        parts.push(TemplatePart::Text(std::mem::take(&mut text)));
                    }
                    parts.push(TemplatePart::Field(field));
                }
                '}' => return Err("a `}` without its `{` (write `}}` for a literal brace)".into()),
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            parts.push(TemplatePart::Text(text));
        }
        Ok(Template {
            source: s.to_owned(),
            parts,
        })
    }

    pub fn parts(&self) -> &[TemplatePart] {
        &self.parts
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The fields the template reads.
    pub fn fields(&self) -> impl Iterator<Item = FieldId> + '_ {
        self.parts.iter().filter_map(|p| match p {
            TemplatePart::Field(f) => Some(*f),
            TemplatePart::Text(_) => None,
        })
    }
}

pub(crate) fn field_by_name(name: &str) -> Option<FieldId> {
    FieldId::ALL.into_iter().find(|f| f.name() == name)
}

impl Serialize for Template {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.source)
    }
}

impl<'de> Deserialize<'de> for Template {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Template::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Template {
    fn schema_name() -> Cow<'static, str> {
        "Template".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "Text with `{field}` references to other mapped fields, after their cleaning (`{valid_from}から{valid_to}まで`); `{{` and `}}` are literal braces."
        })
    }
}

/// A programme attribute (from `[[programs]]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProgramField {
    /// The programme's `type_id`.
    TypeId,
    /// The programme's `certification_name`.
    CertificationName,
    /// The programme's `insurer_number` (empty when the programme has none).
    InsurerNumber,
}

/// A cleaning step, applied in the order given, before `map` and `default`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CleanStep {
    /// Removes ASCII and ideographic (U+3000) white space at both ends: fixed-width padding.
    Trim,
    /// Half-width kana → full-width, dakuten composed (`ｶﾞ` → `ガ`).
    WidenKana,
    /// Runs of spaces in a kana name → one U+3000, none at either end.
    KanaSeparator,
    /// Identifiers: full-width digits folded, every space and dash removed.
    Identifier,
    /// Full-width digits ０–９ → 0–9, nothing else.
    FoldDigits,
    /// A dash-like character between two digits → the hyphen of the digits' width: `-` between
    /// ASCII digits, `－` between full-width ones (`９−１０` → `９－１０`), the width of the digit
    /// before it when they differ (house numbers only; never names).
    HouseNumberDashes,
    /// An era or Gregorian date in any exported spelling → `YYYY-MM-DD`, by `rules.era` and
    /// `rules.date_mode`.
    EraDate,
    /// Private-use characters (外字) → their replacements from the site's `gaiji` map; one
    /// without a mapping is a record error.
    Gaiji,
}

impl CleanStep {
    pub const ALL: [CleanStep; 8] = [
        CleanStep::Trim,
        CleanStep::WidenKana,
        CleanStep::KanaSeparator,
        CleanStep::Identifier,
        CleanStep::FoldDigits,
        CleanStep::HouseNumberDashes,
        CleanStep::EraDate,
        CleanStep::Gaiji,
    ];

    /// The name the pipeline file and the run report use.
    pub fn name(self) -> &'static str {
        match self {
            CleanStep::Trim => "trim",
            CleanStep::WidenKana => "widen_kana",
            CleanStep::KanaSeparator => "kana_separator",
            CleanStep::Identifier => "identifier",
            CleanStep::FoldDigits => "fold_digits",
            CleanStep::HouseNumberDashes => "house_number_dashes",
            CleanStep::EraDate => "era_date",
            CleanStep::Gaiji => "gaiji",
        }
    }
}

/// Where a mapped value comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValueSource {
    /// A cell of the joined row.
    Column(ColumnRef),
    /// A fixed value.
    Constant(String),
    /// An attribute of the row's programme.
    Program(ProgramField),
    /// `"true"` when the optional join of this source found a row, else `"false"`.
    Exists(String),
    /// Other mapped fields' values, after their cleaning.
    Template(Template),
}

/// A code map: the cleaned value → the sent value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeMap {
    pub entries: BTreeMap<String, String>,
    /// For a value not in `entries`; without it such a value is a record error.
    pub fallback: Option<String>,
}

/// How one PMH field (or one certificate-face item) is filled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawMapping", into = "RawMapping")]
pub struct Mapping {
    pub source: ValueSource,
    pub clean: Vec<CleanStep>,
    pub map: Option<CodeMap>,
    /// Used when the cleaned (and mapped) value is empty.
    pub default: Option<String>,
}

impl Mapping {
    pub fn column(c: &str) -> Mapping {
        Mapping::from_source(ValueSource::Column(
            ColumnRef::parse(c).expect("a `<source>.<column>` reference"),
        ))
    }

    pub fn from_source(source: ValueSource) -> Mapping {
        Mapping {
            source,
            clean: Vec::new(),
            map: None,
            default: None,
        }
    }
}

/// A mapping as written: exactly one value key, then the optional steps.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Mapping")]
struct RawMapping {
    /// A cell of the joined row: `<source>.<column>` (`residents.カナ氏名`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    column: Option<ColumnRef>,
    /// A fixed value (`"0"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    constant: Option<String>,
    /// An attribute of the row's programme (from `[[programs]]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    program: Option<ProgramField>,
    /// The name of an optionally joined source: `"true"` when the join found a row, else
    /// `"false"` (for flags such as `is_not_disclosed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exists: Option<String>,
    /// Text with `{field}` references to other mapped fields, after their cleaning
    /// (`{valid_from}から{valid_to}まで`); `{{` and `}}` are literal braces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    template: Option<Template>,
    /// Cleaning steps, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    clean: Vec<CleanStep>,
    /// Code map applied after cleaning (`{ "1" = "1", "2" = "2", "男" = "1" }`); a value not
    /// in it is a record error unless `map_default` is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    map: Option<BTreeMap<String, String>>,
    /// The value sent for a cleaned value `map` does not list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    map_default: Option<String>,
    /// The value sent when the cleaned (and mapped) value is empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    default: Option<String>,
}

const VALUE_KEYS: [&str; 5] = ["column", "constant", "program", "exists", "template"];

impl TryFrom<RawMapping> for Mapping {
    type Error = String;

    fn try_from(raw: RawMapping) -> Result<Self, String> {
        let given = [
            raw.column.is_some(),
            raw.constant.is_some(),
            raw.program.is_some(),
            raw.exists.is_some(),
            raw.template.is_some(),
        ];
        let named: Vec<&str> = VALUE_KEYS
            .iter()
            .zip(given)
            .filter_map(|(k, g)| g.then_some(*k))
            .collect();
        if named.len() != 1 {
            let found = if named.is_empty() {
                "none".to_owned()
            } else {
                crate::error::list(named.iter().copied())
            };
            return Err(format!(
                "a mapping takes exactly one of {}; found {found}",
                crate::error::list(VALUE_KEYS)
            ));
        }
        if raw.map_default.is_some() && raw.map.is_none() {
            return Err("`map_default` is given without `map`".into());
        }
        let source = if let Some(c) = raw.column {
            ValueSource::Column(c)
        } else if let Some(c) = raw.constant {
            ValueSource::Constant(c)
        } else if let Some(p) = raw.program {
            ValueSource::Program(p)
        } else if let Some(s) = raw.exists {
            ValueSource::Exists(s)
        } else {
            ValueSource::Template(raw.template.expect("exactly one value key"))
        };
        Ok(Mapping {
            source,
            clean: raw.clean,
            map: raw.map.map(|entries| CodeMap {
                entries,
                fallback: raw.map_default,
            }),
            default: raw.default,
        })
    }
}

impl From<Mapping> for RawMapping {
    fn from(m: Mapping) -> RawMapping {
        let mut raw = RawMapping {
            clean: m.clean,
            default: m.default,
            ..RawMapping::default()
        };
        if let Some(map) = m.map {
            raw.map = Some(map.entries);
            raw.map_default = map.fallback;
        }
        match m.source {
            ValueSource::Column(c) => raw.column = Some(c),
            ValueSource::Constant(c) => raw.constant = Some(c),
            ValueSource::Program(p) => raw.program = Some(p),
            ValueSource::Exists(s) => raw.exists = Some(s),
            ValueSource::Template(t) => raw.template = Some(t),
        }
        raw
    }
}

impl JsonSchema for Mapping {
    fn schema_name() -> Cow<'static, str> {
        "Mapping".into()
    }

    /// The written form's properties, plus `oneOf` saying exactly one value key is present.
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        let mut schema = RawMapping::json_schema(g);
        let one_of: Vec<serde_json::Value> = VALUE_KEYS
            .iter()
            .map(|k| serde_json::json!({ "required": [k] }))
            .collect();
        schema.insert("oneOf".into(), one_of.into());
        schema.insert(
            "description".into(),
            "How one PMH field (or certificate-face item) is filled: a value from one source, \
             then `clean` steps, then `map`, then `default`."
                .into(),
        );
        schema
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse_references_and_escapes() {
        let t = Template::parse("{{{name}}} 様").unwrap();
        assert_eq!(
            t.parts(),
            [
                TemplatePart::Text("{".into()),
                TemplatePart::Field(FieldId::Name),
                TemplatePart::Text("} 様".into()),
            ]
        );
        assert_eq!(t.as_str(), "{{{name}}} 様");
        assert_eq!(Template::parse("").unwrap().parts(), []);
        assert!(Template::parse("{nmae}").unwrap_err().contains("`{nmae}`"));
        assert!(Template::parse("a}b").unwrap_err().contains("`}`"));
        assert!(Template::parse("{name").unwrap_err().contains("`{`"));
    }

    #[test]
    fn column_refs_split_at_the_first_dot() {
        let c = ColumnRef::parse("subsidy.備考.1").unwrap();
        assert_eq!(
            (c.source.as_str(), c.column.as_str()),
            ("subsidy", "備考.1")
        );
        assert_eq!(c.to_string(), "subsidy.備考.1");
        assert_eq!(ColumnRef::parse("nodot"), None);
        assert_eq!(ColumnRef::parse(".x"), None);
        assert_eq!(ColumnRef::parse("x."), None);
    }

    #[test]
    fn a_mapping_round_trips_through_its_written_form() {
        let text = r#"{ "column": "a.b", "clean": ["trim", "era_date"], "map": { "1": "x" }, "map_default": "y", "default": "z" }"#;
        let m: Mapping = serde_json::from_str(text).unwrap();
        assert_eq!(m.clean, [CleanStep::Trim, CleanStep::EraDate]);
        let back = serde_json::to_value(&m).unwrap();
        assert_eq!(
            back,
            serde_json::from_str::<serde_json::Value>(text).unwrap()
        );
        assert_eq!(CleanStep::ALL.len(), 8);
    }
}
