//! The effective pipeline for `pmhlink config`: the merged, overridden file with every secret
//! `***`, and for each value where it came from (a file of the chain, an environment variable,
//! or the default), as TOML with a comment per line or as JSON entries.

use std::fmt::Write as _;

use serde_json::{Map, Value};

use crate::error::{KeyPath, Segment};
use crate::layers::{self, How};
use crate::load::ValueOrigin;
use crate::model::Pipeline;

/// One value of the effective pipeline: a scalar, an array of plain values, a table that is
/// one unit (a field's mapping, replaced whole by the merge rules), or an empty table.
#[derive(Clone, Debug, PartialEq)]
pub struct EffectiveValue {
    pub path: KeyPath,
    /// Redacted: a secret reads `***`.
    pub value: Value,
    pub origin: ValueOrigin,
}

impl Pipeline {
    /// The files this pipeline was read from, the municipality's first and each template
    /// after the file that extends it, named relative to the municipality file's folder.
    pub fn layers(&self) -> Vec<&str> {
        self.origins.layers().collect()
    }

    /// Where the value at `path` came from.
    pub fn origin_of(&self, path: &KeyPath) -> ValueOrigin {
        self.origins.value_origin(path)
    }

    /// Every value of the effective pipeline ([`Pipeline::redacted_json`]) with its origin, in
    /// the order [`Pipeline::effective_toml`] prints them.
    pub fn effective_values(&self) -> Vec<EffectiveValue> {
        let mut out = Vec::new();
        let json = self.redacted_json();
        let root = json.as_object().expect("a pipeline is a table");
        self.walk(&KeyPath::root(), root, &mut |path, value| {
            out.push(EffectiveValue {
                origin: self.origin_of(&path),
                path,
                value: value.clone(),
            });
        });
        out
    }

    /// The effective pipeline as a TOML file, each line commented with where its value came
    /// from. Secrets read `***`, so it is for reading, not for running.
    pub fn effective_toml(&self) -> String {
        let json = self.redacted_json();
        let root = json.as_object().expect("a pipeline is a table");
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# The effective pipeline of {}: defaults filled in, environment overrides\n\
             # applied, secrets shown as ***. Each value says where it came from.",
            self.layers()[0]
        );
        if self.layers().len() > 1 {
            let _ = writeln!(out, "# Files: {}", self.layers().join(" extends "));
        }
        self.toml_table(&KeyPath::root(), root, &mut out);
        out
    }

    fn walk(&self, at: &KeyPath, table: &Map<String, Value>, f: &mut impl FnMut(KeyPath, &Value)) {
        let (values, sections) = split(at, table);
        for (k, v) in values {
            f(at.key(k), v);
        }
        for (k, section) in sections {
            match section {
                Section::Table(t) if t.is_empty() => f(at.key(k), &table[k]),
                Section::Table(t) => self.walk(&at.key(k), t, f),
                Section::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        self.walk(&at.key(k).index(i), item, f);
                    }
                }
            }
        }
    }

    fn toml_table(&self, at: &KeyPath, table: &Map<String, Value>, out: &mut String) {
        let (values, sections) = split(at, table);
        for (k, v) in values {
            let path = at.key(k);
            let origin = self.origin_of(&path);
            match inline(v) {
                Some(text) => {
                    let _ = writeln!(out, "{} = {text}  # {origin}", quote_key(k));
                }
                // An absent optional value serializes as null: absent is what it is.
                None if origin == ValueOrigin::Default => {}
                None => {
                    let _ = writeln!(
                        out,
                        "# {} = null  (TOML cannot write a null: only a YAML file can)  # {origin}",
                        quote_key(k)
                    );
                }
            }
        }
        for (k, section) in sections {
            let path = at.key(k);
            match section {
                Section::Table(t) if t.is_empty() => {
                    let _ = writeln!(out, "\n[{}]  # {}", header(&path), self.origin_of(&path));
                }
                Section::Table(t) => {
                    // A table holding only tables needs no header of its own.
                    if !split(&path, t).0.is_empty() {
                        let _ = writeln!(out, "\n[{}]", header(&path));
                    }
                    self.toml_table(&path, t, out);
                }
                Section::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        let _ = writeln!(out, "\n[[{}]]", header(&path));
                        self.toml_table(&path.index(i), item, out);
                    }
                }
            }
        }
    }
}

/// A key written as a section of its own: `[table]` or `[[array]]` items.
enum Section<'a> {
    Table(&'a Map<String, Value>),
    Array(Vec<&'a Map<String, Value>>),
}

type Split<'a> = (Vec<(&'a str, &'a Value)>, Vec<(&'a str, Section<'a>)>);

/// A table's keys as TOML must write them: values on a line each, then the sections (tables,
/// empty ones included, and arrays of tables). At the
/// top, the sections come in the reference page's order; in a keyed item, its key comes
/// first; otherwise keys are in alphabetical order.
fn split<'a>(at: &KeyPath, table: &'a Map<String, Value>) -> Split<'a> {
    let mut keys: Vec<&str> = table.keys().map(String::as_str).collect();
    let first: Vec<&str> = if at.is_root() {
        crate::markdown::SECTION_ORDER.to_vec()
    } else {
        match layers::rule(&at.parent()).map(|r| r.how) {
            Some(How::ByKey(key)) if matches!(at.last(), Some(Segment::Index(_))) => key.to_vec(),
            _ => Vec::new(),
        }
    };
    keys.sort_by_key(|k| (first.iter().position(|f| f == k).unwrap_or(first.len()), *k));
    let (mut values, mut sections) = (Vec::new(), Vec::new());
    for k in keys {
        let v = &table[k];
        match v {
            Value::Object(t) if !layers::is_whole(&at.key(k)) => {
                sections.push((k, Section::Table(t)));
            }
            Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_object) => {
                let items = items.iter().filter_map(Value::as_object).collect();
                sections.push((k, Section::Array(items)));
            }
            v => values.push((k, v)),
        }
    }
    (values, sections)
}

fn quote_key(k: &str) -> String {
    let bare = !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare { k.to_owned() } else { quote(k) }
}

/// A TOML basic string. Control characters and private-use characters (外字) are written as
/// `\uXXXX`: an operator looking for a 外字 sees its code point, not an empty box.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || ('\u{E000}'..='\u{F8FF}').contains(&c) => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `[a.b]` for the table at `path` (array indices are implied by `[[…]]` headers).
fn header(path: &KeyPath) -> String {
    path.segments()
        .iter()
        .filter_map(|s| match s {
            Segment::Key(k) => Some(quote_key(k)),
            Segment::Index(_) => None,
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// A value as TOML writes it on one line; `None` for what TOML has no way to write (null).
fn inline(v: &Value) -> Option<String> {
    Some(match v {
        Value::Null => return None,
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.to_string(),
            (None, Some(f)) => toml::Value::Float(f).to_string(),
            (None, None) => return None,
        },
        Value::String(s) => quote(s),
        Value::Array(items) => {
            let parts: Option<Vec<String>> = items.iter().map(inline).collect();
            format!("[{}]", parts?.join(", "))
        }
        Value::Object(t) if t.is_empty() => "{}".to_owned(),
        Value::Object(t) => {
            let parts: Option<Vec<String>> = t
                .iter()
                .map(|(k, v)| inline(v).map(|v| format!("{} = {v}", quote_key(k))))
                .collect();
            format!("{{ {} }}", parts?.join(", "))
        }
    })
}
