//! A pipeline file's mapping compiled against the columns its sources report: every name
//! resolved once, every reference checked. Errors name the pipeline key, the source, its file
//! and how many columns it has. They list the columns only when every one of them was written
//! in the pipeline file (a `columns` setting, a fixed-width layout): names read from a file may
//! be a resident's data when the export came without its header line.

use std::collections::HashMap;

use pmhlink_config::{Mapping as ConfigMapping, Pipeline, ValueSource as ConfigSource};
use pmhlink_model::FieldId;

use crate::mapping::{
    CodeMap, ColumnRef, MappedDetail, MappedField, MappedJoin, MappedValue, Mapping, OpenEnd,
    Program, QuarantineKey, TemplatePart, ValueSource,
};

/// Sources in plan order: the primary first, then each join's source.
pub fn source_order(pipeline: &Pipeline) -> Vec<String> {
    std::iter::once(pipeline.primary_source().to_owned())
        .chain(pipeline.joins.iter().map(|j| j.source.clone()))
        .collect()
}

#[derive(Debug, thiserror::Error)]
#[error("{key}: {message}")]
pub struct CompileError {
    /// The pipeline key, e.g. `mapping.name_kana.column`.
    pub key: String,
    pub message: String,
}

struct Resolver<'a> {
    order: &'a [String],
    columns: &'a HashMap<String, Vec<String>>,
    pipeline: &'a Pipeline,
}

/// At most this much of a column list goes into a message.
const LISTED_COLUMNS_MAX: usize = 200;

/// Every string in a plugin's settings: the names the operator wrote.
fn declared_strings<'v>(value: &'v serde_json::Value, into: &mut Vec<&'v str>) {
    match value {
        serde_json::Value::String(s) => into.push(s),
        serde_json::Value::Array(items) => items.iter().for_each(|v| declared_strings(v, into)),
        serde_json::Value::Object(map) => map.values().for_each(|v| declared_strings(v, into)),
        _ => {}
    }
}

/// What a message may say about a source's columns: their count and file, and their names only
/// when the pipeline file declared every one of them.
fn describe_columns(pipeline: &Pipeline, source: &str, have: &[String]) -> String {
    let config = pipeline
        .sources
        .get(source)
        .map(|s| serde_json::Value::Object(s.config.value().clone()))
        .unwrap_or_default();
    let file = config
        .get("path")
        .and_then(|p| p.as_str())
        .map(|p| format!(" (file {p})"))
        .unwrap_or_default();
    let mut declared = Vec::new();
    declared_strings(&config, &mut declared);
    let mut text = format!("{file} has {} columns", have.len());
    if !have.is_empty() && have.iter().all(|c| declared.contains(&c.as_str())) {
        let mut list = have.join(", ");
        if list.len() > LISTED_COLUMNS_MAX {
            let cut = (0..=LISTED_COLUMNS_MAX)
                .rev()
                .find(|&i| list.is_char_boundary(i))
                .unwrap_or(0);
            list.truncate(cut);
            list.push('…');
        }
        text.push_str(&format!(", as its settings declare: {list}"));
    } else if !have.is_empty() {
        text.push_str(" (names read from the file are not shown: without a header line they would be a resident's data)");
    }
    text
}

impl Resolver<'_> {
    fn source(&self, key: &str, name: &str) -> Result<usize, CompileError> {
        self.order
            .iter()
            .position(|s| s == name)
            .ok_or_else(|| CompileError {
                key: key.to_owned(),
                message: format!("source `{name}` is neither the primary source nor joined"),
            })
    }

    fn column_in(&self, key: &str, source: &str, column: &str) -> Result<usize, CompileError> {
        let have = self
            .columns
            .get(source)
            .map(Vec::as_slice)
            .unwrap_or_default();
        have.iter()
            .position(|c| c == column)
            .ok_or_else(|| CompileError {
                key: key.to_owned(),
                message: format!(
                    "source `{source}` has no column `{column}`; the source{}",
                    describe_columns(self.pipeline, source, have)
                ),
            })
    }

    fn column(&self, key: &str, c: &pmhlink_config::ColumnRef) -> Result<ColumnRef, CompileError> {
        Ok(ColumnRef {
            source: self.source(key, &c.source)?,
            column: self.column_in(key, &c.source, &c.column)?,
        })
    }

    fn value(&self, key: &str, m: &ConfigMapping) -> Result<MappedValue, CompileError> {
        let source = match &m.source {
            ConfigSource::Column(c) => {
                ValueSource::Column(self.column(&format!("{key}.column"), c)?)
            }
            ConfigSource::Constant(s) => ValueSource::Constant(s.clone()),
            ConfigSource::Program(p) => ValueSource::Program(*p),
            ConfigSource::Exists(s) => {
                let key = format!("{key}.exists");
                let join = self
                    .source(&key, s)?
                    .checked_sub(1)
                    .ok_or_else(|| CompileError {
                        key,
                        message: format!(
                            "`{s}` is the primary source; `exists` names a joined source"
                        ),
                    })?;
                ValueSource::Exists(join)
            }
            ConfigSource::Template(t) => ValueSource::Template(t.parts().to_vec()),
        };
        Ok(MappedValue {
            source,
            steps: m.clean.clone(),
            map: m.map.as_ref().map(|cm| CodeMap {
                map: cm
                    .entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                fallback: cm.fallback.clone(),
            }),
            default: m.default.clone(),
        })
    }
}

fn template_inputs(v: &MappedValue) -> Vec<FieldId> {
    match &v.source {
        ValueSource::Template(parts) => parts
            .iter()
            .filter_map(|p| match p {
                TemplatePart::Field(f) => Some(*f),
                TemplatePart::Text(_) => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Orders fields so that every template comes after the fields it reads (the pipeline file's
/// validation has already refused cycles).
fn order_fields(mut pending: Vec<MappedField>) -> Vec<MappedField> {
    let mut done: Vec<MappedField> = Vec::with_capacity(pending.len());
    while !pending.is_empty() {
        let ready = |f: &MappedField| {
            template_inputs(&f.value)
                .iter()
                .all(|i| !pending.iter().any(|p| p.field == *i && p.field != f.field))
        };
        let (now, later): (Vec<_>, Vec<_>) = pending.iter().cloned().partition(ready);
        if now.is_empty() {
            done.extend(later);
            break;
        }
        done.extend(now);
        pending = later;
    }
    done
}

/// Compiles the pipeline's mapping; `columns` holds what each source's plugin discovered, and
/// `profile_open_end` is the profile's form of "no end" for `validTo`, if it documents one.
pub fn compile(
    pipeline: &Pipeline,
    columns: &HashMap<String, Vec<String>>,
    profile_open_end: Option<&str>,
) -> Result<Mapping, CompileError> {
    let order = source_order(pipeline);
    let r = Resolver {
        order: &order,
        columns,
        pipeline,
    };
    let mut joins = Vec::new();
    for (i, j) in pipeline.joins.iter().enumerate() {
        let key = format!("joins[{i}]");
        let optional_column = |name: &Option<String>, what: &str| {
            name.as_ref()
                .map(|c| r.column_in(&format!("{key}.{what}"), &j.source, c))
                .transpose()
        };
        joins.push(MappedJoin {
            name: j.source.clone(),
            left: r.column(&format!("{key}.left"), &j.left)?,
            right_column: r.column_in(&format!("{key}.right"), &j.source, &j.right)?,
            required: j.required,
            valid_from: optional_column(&j.valid_from, "valid_from")?,
            valid_to: optional_column(&j.valid_to, "valid_to")?,
            columns_read: false,
            on_unreadable_key: j.on_unreadable_key,
        });
    }
    let mut fields = Vec::new();
    for (field, m) in pipeline.mapping.iter() {
        fields.push(MappedField {
            field,
            value: r.value(&format!("mapping.{}", field.name()), m)?,
        });
    }
    let mut details = Vec::new();
    for (i, d) in pipeline.mapping.detail_items().iter().enumerate() {
        let key = format!("mapping.certification_detail[{i}].value");
        details.push(MappedDetail {
            name: d.name.clone(),
            value: r.value(&key, &d.value)?,
            skip_empty: d.skip_empty,
        });
    }
    // A join whose columns something reads cannot treat a doubled key as mere presence.
    let read = fields
        .iter()
        .map(|f| &f.value)
        .chain(details.iter().map(|d| &d.value))
        .filter_map(|v| match v.source {
            ValueSource::Column(c) => Some(c.source),
            _ => None,
        });
    let read: Vec<usize> = read.chain(joins.iter().map(|j| j.left.source)).collect();
    for (i, j) in joins.iter_mut().enumerate() {
        j.columns_read = read.contains(&(i + 1));
    }
    let programs = pipeline
        .programs
        .iter()
        .map(|p| {
            let program = Program {
                code: p.code.clone(),
                type_id: p.type_id.clone(),
                certification_name: p.certification_name.clone(),
                insurer_number: p.insurer_number.clone(),
                manages_sex: p.manages_sex,
            };
            (p.code.clone(), program)
        })
        .collect();
    let program_column = r.column("program.column", &pipeline.program.column)?;
    if program_column.source != 0 {
        return Err(CompileError {
            key: "program.column".into(),
            message: "must be a column of the primary source".into(),
        });
    }
    let quarantine_key = match &pipeline.report.quarantine_key {
        Some(c) => {
            let key = "report.quarantine_key";
            let at = r.column(key, c)?;
            if at.source != 0 {
                return Err(CompileError {
                    key: key.into(),
                    message: "must be a column of the primary source".into(),
                });
            }
            Some(QuarantineKey {
                column: at.column,
                name: c.column.clone(),
            })
        }
        None => None,
    };
    let open_end = &pipeline.rules.open_end;
    let open_end = open_end
        .sent_as
        .as_deref()
        .or(profile_open_end)
        .map(|sent_as| OpenEnd {
            sent_as: sent_as.to_owned(),
            empty: open_end.empty,
        });
    Ok(Mapping {
        primary: order[0].clone(),
        joins,
        program_column,
        programs,
        ignored: pipeline.program.ignore.iter().cloned().collect(),
        open_end,
        quarantine_key,
        fields: order_fields(fields),
        details,
        history: pipeline.profile.sync.has_history(),
    })
}
