//! Markdown from the JSON Schema: one section per top-level key with a row for every key
//! beneath it (full dotted path, type, default, description), and a section for each
//! definition used in several places (`Mapping`) or too long for a table cell.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use crate::validate::REQUIRED_FIELDS;

/// The page: `intro`, then the sections.
pub(crate) fn render(schema: &Value, intro: &str) -> String {
    Renderer::new(schema).render(intro)
}

/// The shape of a schema node, after `$ref` and `Option`'s `null` are seen through.
enum Shape<'a> {
    /// A table with named keys; `Some(def)` when it is a named definition.
    Table(&'a Value, Option<&'a str>),
    /// A table of arbitrary keys whose values have the given schema.
    MapOf(&'a Value),
    /// A table of arbitrary keys and values (a plugin's settings).
    FreeTable,
    Array(&'a Value),
    /// Strings from a fixed set, each with its description (empty if none).
    Enum(Vec<(String, String)>, Option<&'a str>),
    Scalar(String),
}

struct Renderer<'a> {
    root: &'a Value,
    /// Definitions referenced more than once (and long enums): rendered once, in a section
    /// of their own.
    shared: Vec<&'a str>,
    /// Shared definitions in the order the page first links to them.
    linked: RefCell<Vec<&'a str>>,
}

/// Enums longer than this get a section of their own instead of a list inside a cell.
const INLINE_ENUM_MAX: usize = 4;

/// The file's natural order; a key missing here (a new section) goes after, alphabetically.
pub(crate) const SECTION_ORDER: [&str; 15] = [
    "extends",
    "municipality",
    "profile",
    "rules",
    "plugins",
    "programs",
    "program",
    "sources",
    "joins",
    "mapping",
    "sinks",
    "batch",
    "report",
    "ledger",
    "guard",
];

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn cell(s: &str) -> String {
    one_line(s).replace('|', "\\|")
}

fn description(node: &Value) -> Option<&str> {
    node.get("description").and_then(Value::as_str)
}

fn count_refs<'a>(v: &'a Value, counts: &mut BTreeMap<&'a str, usize>) {
    match v {
        Value::Object(map) => {
            if let Some(name) = map
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/$defs/"))
            {
                *counts.entry(name).or_default() += 1;
            }
            map.values().for_each(|v| count_refs(v, counts));
        }
        Value::Array(items) => items.iter().for_each(|v| count_refs(v, counts)),
        _ => {}
    }
}

impl<'a> Renderer<'a> {
    fn new(root: &'a Value) -> Renderer<'a> {
        let mut counts = BTreeMap::new();
        count_refs(root, &mut counts);
        let mut r = Renderer {
            root,
            shared: Vec::new(),
            linked: RefCell::new(Vec::new()),
        };
        r.shared = counts
            .into_iter()
            .filter(|&(name, n)| {
                let def = &root["$defs"][name];
                match r.shape(def) {
                    Shape::Table(..) => n > 1,
                    Shape::Enum(values, _) => values.len() > INLINE_ENUM_MAX,
                    _ => false,
                }
            })
            .map(|(name, _)| name)
            .collect();
        r
    }

    /// The definition `node` refers to, and its name; `Option<T>`'s `anyOf [T, null]` and
    /// `type: [T, null]` are read as `T`.
    fn resolve(&self, node: &'a Value) -> (&'a Value, Option<&'a str>) {
        if let Some(branches) = node.get("anyOf").and_then(Value::as_array) {
            let non_null: Vec<&Value> = branches
                .iter()
                .filter(|b| b.get("type").and_then(Value::as_str) != Some("null"))
                .collect();
            if let [only] = non_null.as_slice() {
                return self.resolve(only);
            }
        }
        match node
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("#/$defs/"))
        {
            Some(name) => (&self.root["$defs"][name], Some(name)),
            None => (node, None),
        }
    }

    fn shape(&self, node: &'a Value) -> Shape<'a> {
        let (node, name) = self.resolve(node);
        if let Some(values) = node.get("enum").and_then(Value::as_array) {
            let values = values
                .iter()
                .filter_map(Value::as_str)
                .map(|v| (v.to_owned(), String::new()))
                .collect();
            return Shape::Enum(values, name);
        }
        if let Some(branches) = node.get("oneOf").and_then(Value::as_array)
            && branches.iter().all(|b| b.get("const").is_some())
        {
            let values = branches
                .iter()
                .map(|b| {
                    (
                        b["const"].as_str().unwrap_or_default().to_owned(),
                        description(b).map(one_line).unwrap_or_default(),
                    )
                })
                .collect();
            return Shape::Enum(values, name);
        }
        let types: Vec<&str> = match node.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(ts)) => ts
                .iter()
                .filter_map(Value::as_str)
                .filter(|&t| t != "null")
                .collect(),
            _ => Vec::new(),
        };
        match types.as_slice() {
            ["object"] if node.get("properties").is_some() => Shape::Table(node, name),
            ["object"] => match node.get("additionalProperties") {
                Some(v @ Value::Object(_)) => Shape::MapOf(v),
                _ => Shape::FreeTable,
            },
            ["array"] => Shape::Array(&node["items"]),
            [t] => Shape::Scalar((*t).to_owned()),
            _ => Shape::Scalar("any".to_owned()),
        }
    }

    fn is_shared(&self, name: Option<&str>) -> bool {
        name.is_some_and(|n| self.shared.contains(&n))
    }

    fn link(&self, name: Option<&'a str>) -> String {
        let name = name.expect("shared definitions are named");
        let mut linked = self.linked.borrow_mut();
        if !linked.contains(&name) {
            linked.push(name);
        }
        format!("[{name}](#{})", name.to_lowercase())
    }

    fn type_label(&self, node: &'a Value) -> String {
        match self.shape(node) {
            Shape::Table(_, name) if self.is_shared(name) => self.link(name),
            Shape::Table(..) | Shape::FreeTable => "table".into(),
            Shape::MapOf(v) => match self.shape(v) {
                Shape::Table(_, name) if !self.is_shared(name) => "table of tables".into(),
                _ => format!("table of {}", self.type_label(v)),
            },
            Shape::Array(items) => match self.shape(items) {
                Shape::Table(_, name) if !self.is_shared(name) => "array of tables".into(),
                _ => format!("array of {}", self.type_label(items)),
            },
            Shape::Enum(_, name) if self.is_shared(name) => self.link(name),
            Shape::Enum(values, _) => values
                .iter()
                .map(|(v, _)| format!("`\"{v}\"`"))
                .collect::<Vec<_>>()
                .join(" \\| "),
            Shape::Scalar(t) => t,
        }
    }

    /// Property names in reading order: PMH fields in `FieldId` order; otherwise the keys a
    /// `oneOf` chooses between, then required keys, then the rest, each group alphabetical
    /// (the schema's maps do not keep declaration order).
    fn ordered_keys(&self, table: &'a Value) -> Vec<&'a str> {
        let props = table["properties"]
            .as_object()
            .expect("a table has properties");
        let field_order: Vec<&str> = pmhlink_model::FieldId::ALL
            .iter()
            .map(|f| f.name())
            .collect();
        if props.keys().all(|k| field_order.contains(&k.as_str())) {
            return field_order
                .into_iter()
                .filter(|k| props.contains_key(*k))
                .map(|k| props.get_key_value(k).expect("filtered").0.as_str())
                .collect();
        }
        let required = |k: &str| {
            table["required"]
                .as_array()
                .is_some_and(|r| r.iter().any(|x| x == k))
        };
        let choice: Vec<&str> = table
            .get("oneOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|b| b["required"][0].as_str())
            .collect();
        let mut keys: Vec<&str> = props.keys().map(String::as_str).collect();
        keys.sort_by_key(|&k| {
            let group = match choice.iter().position(|&c| c == k) {
                Some(i) => i,
                None if required(k) => choice.len(),
                None => choice.len() + 1,
            };
            (group, if group < choice.len() { "" } else { k })
        });
        keys
    }

    /// One row per key of `table`, then the rows of any table nested in it (inline, with the
    /// full dotted path), so every key of the file has a row.
    fn rows(&self, prefix: &str, table: &'a Value, out: &mut String) {
        let required = table["required"].as_array();
        for key in self.ordered_keys(table) {
            let prop = &table["properties"][key];
            let (resolved, _) = self.resolve(prop);
            let path = format!("{prefix}{key}");
            let mut desc = description(prop)
                .or_else(|| description(resolved))
                .map(cell)
                .unwrap_or_default();
            if let Shape::Enum(values, name) = self.shape(prop)
                && !self.is_shared(name)
                && values.iter().any(|(_, d)| !d.is_empty())
            {
                let listed: Vec<String> = values
                    .iter()
                    .map(|(v, d)| format!("`{v}`: {}", cell(d.trim_end_matches('.'))))
                    .collect();
                let _ = write!(desc, " Values: {}.", listed.join("; "));
            }
            let default = match prop.get("default") {
                Some(Value::String(s)) => format!("`\"{}\"`", cell(s)),
                Some(Value::Null) => "—".into(),
                Some(v) => format!("`{v}`"),
                None if required.is_some_and(|r| r.iter().any(|x| x == key)) => "required".into(),
                None => "—".into(),
            };
            let _ = writeln!(
                out,
                "| `{path}` | {} | {default} | {desc} |",
                self.type_label(prop)
            );
            match self.shape(prop) {
                Shape::Table(t, name) if !self.is_shared(name) => {
                    self.rows(&format!("{path}."), t, out);
                }
                Shape::Array(items) => {
                    if let Shape::Table(t, name) = self.shape(items)
                        && !self.is_shared(name)
                    {
                        self.rows(&format!("{path}[]."), t, out);
                    }
                }
                Shape::MapOf(v) => {
                    if let Shape::Table(t, name) = self.shape(v)
                        && !self.is_shared(name)
                    {
                        self.rows(&format!("{path}.<name>."), t, out);
                    }
                }
                _ => {}
            }
        }
    }

    fn table(&self, prefix: &str, table: &'a Value, out: &mut String) {
        out.push_str("| key | type | default | description |\n|---|---|---|---|\n");
        self.rows(prefix, table, out);
        out.push('\n');
    }

    fn section(&self, key: &str, prop: &'a Value, required: bool, out: &mut String) {
        let (heading, prefix, table) = match self.shape(prop) {
            Shape::Table(t, _) => (format!("`[{key}]`"), format!("{key}."), Some(t)),
            Shape::Array(items) => match self.shape(items) {
                Shape::Table(t, _) => (format!("`[[{key}]]`"), format!("{key}[]."), Some(t)),
                _ => (format!("`{key}`"), String::new(), None),
            },
            Shape::MapOf(v) => match self.shape(v) {
                Shape::Table(t, _) => (
                    format!("`[{key}.<name>]`"),
                    format!("{key}.<name>."),
                    Some(t),
                ),
                _ => (format!("`{key}`"), String::new(), None),
            },
            _ => (format!("`{key}`"), String::new(), None),
        };
        let _ = writeln!(out, "## {heading}\n");
        if let Some(d) = description(prop) {
            let _ = writeln!(out, "{}\n", one_line(d));
        }
        let _ = writeln!(
            out,
            "*{}; type: {}.*\n",
            if required { "Required" } else { "Optional" },
            self.type_label(prop)
        );
        if let Some(t) = table {
            self.table(&prefix, t, out);
        }
    }

    fn shared_section(&self, name: &str, out: &mut String) {
        let def = &self.root["$defs"][name];
        let _ = writeln!(out, "## {name}\n");
        if let Some(d) = description(def) {
            let _ = writeln!(out, "{}\n", one_line(d));
        }
        match self.shape(def) {
            Shape::Table(t, _) => {
                let exactly_one: Vec<String> = t
                    .get("oneOf")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|b| b["required"][0].as_str())
                    .map(|k| format!("`{k}`"))
                    .collect();
                if !exactly_one.is_empty() {
                    let _ = writeln!(
                        out,
                        "Exactly one of {} is given; the other keys are optional.\n",
                        exactly_one.join(", ")
                    );
                }
                self.table("", t, out);
            }
            Shape::Enum(values, _) => {
                for (v, d) in values {
                    let _ = writeln!(out, "- `{v}`: {d}");
                }
                out.push('\n');
            }
            _ => {}
        }
    }

    fn render(&self, intro: &str) -> String {
        let mut out = String::from(intro);
        out.push('\n');
        let props = self.root["properties"]
            .as_object()
            .expect("the root is a table");
        let required = |k: &str| {
            self.root["required"]
                .as_array()
                .is_some_and(|r| r.iter().any(|x| x == k))
        };
        let mut keys: Vec<&str> = props.keys().map(String::as_str).collect();
        keys.sort_by_key(|k| {
            (
                SECTION_ORDER
                    .iter()
                    .position(|s| s == k)
                    .unwrap_or(SECTION_ORDER.len()),
                *k,
            )
        });
        for key in keys {
            self.section(key, &props[key], required(key), &mut out);
            if key == "mapping" {
                let _ = writeln!(
                    out,
                    "Required: {}. `history_key` is optional: when it is not mapped, pmhlink \
                     derives one from the certificate's identity (without the My Number) and \
                     `valid_from`.\n",
                    REQUIRED_FIELDS
                        .iter()
                        .map(|f| format!("`{}`", f.name()))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
        // A shared section may link to further ones (Mapping → CleanStep).
        let mut done = 0;
        loop {
            let next = self.linked.borrow().get(done).copied();
            let Some(name) = next else { break };
            self.shared_section(name, &mut out);
            done += 1;
        }
        while out.ends_with("\n\n") {
            out.pop();
        }
        out
    }
}
