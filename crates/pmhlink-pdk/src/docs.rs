//! A plugin's settings page, rendered from its config schema: one table row per key (nested
//! keys by their dotted path), with type, default and the description that came from the
//! settings struct's doc comments. `cargo xtask docs` writes `docs/plugins/<name>.md` for the
//! first-party plugins with it; a vendor can keep a page of their own the same way
//! ([`page_is_current`] in a test).

use std::{fmt::Write as _, path::Path};

use serde_json::{Map, Value};

use crate::PluginSpec;

/// Why a schema cannot be rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError(pub String);

impl std::fmt::Display for SchemaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "config schema: {}", self.0)
    }
}

impl std::error::Error for SchemaError {}

/// The settings page of `spec`.
pub fn spec_page(spec: &PluginSpec) -> Result<String, SchemaError> {
    settings_page(&spec.name, &spec.description, &spec.config_schema_json)
}

/// The settings page of the plugin `name`: its description, then its config schema as a
/// table. The plugin's version is left out, so the page changes only when a setting does.
pub fn settings_page(
    name: &str,
    description: &str,
    schema_json: &str,
) -> Result<String, SchemaError> {
    let root: Value = serde_json::from_str(schema_json)
        .map_err(|e| SchemaError(format!("not valid JSON: {e}")))?;
    if root.get("type").and_then(Value::as_str) != Some("object") {
        return Err(SchemaError("its \"type\" is not \"object\"".to_owned()));
    }
    let mut rows = Vec::new();
    Renderer { root: &root }.keys(&root, "", &mut rows)?;

    let mut page = String::new();
    let _ = writeln!(page, "# Plugin `{name}`\n");
    page.push_str(
        "<!-- Generated from the plugin's settings struct by `cargo xtask docs`; do not edit by hand. -->\n\n",
    );
    let _ = writeln!(page, "{}\n", one_line(description));
    if let Some(text) = root.get("description").and_then(Value::as_str) {
        let _ = writeln!(page, "{}\n", paragraphs(text));
    }
    page.push_str("## Settings\n\n");
    page.push_str(
        "The keys of the plugin's `config` table in the pipeline file. A key path such as \
         `a.b` is key `b` of table `a`; `a[].b` is key `b` of each entry of array `a`.",
    );
    if root.get("additionalProperties") == Some(&Value::Bool(false)) {
        page.push_str(" Keys not listed here are refused.");
    }
    page.push_str("\n\n| key | type | default | description |\n|---|---|---|---|\n");
    for row in rows {
        let _ = writeln!(
            page,
            "| `{}` | {} | {} | {} |",
            row.path,
            row.kind,
            row.default,
            cell(&row.description)
        );
    }
    Ok(page)
}

/// Checks that the page at `path` is the settings page of `spec` (see [`page_is_current`]):
/// one call for a plugin's "the page is up to date" test.
pub fn spec_page_is_current(spec: &PluginSpec, path: &Path) -> Result<(), String> {
    let page = spec_page(spec).map_err(|e| e.to_string())?;
    page_is_current(path, &page)
}

/// Checks that the page at `path` is the settings page of `spec` followed by `guide`, a
/// plugin's hand-written Markdown (usage, examples, caveats; usually `include_str!` of a file
/// in its crate), so one page per plugin holds both and the settings part stays generated.
pub fn guided_page_is_current(spec: &PluginSpec, guide: &str, path: &Path) -> Result<(), String> {
    let page = spec_page(spec).map_err(|e| e.to_string())?;
    let guide = guide.trim();
    page_is_current(path, &format!("{page}\n{guide}\n"))
}

/// Checks that the page at `path` is `page`; with the environment variable `PMHLINK_BLESS`
/// set, writes it first. For a test that fails when a committed page is stale.
pub fn page_is_current(path: &Path, page: &str) -> Result<(), String> {
    if std::env::var_os("PMHLINK_BLESS").is_some() {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        std::fs::write(path, page).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    if committed == page {
        Ok(())
    } else {
        Err(format!(
            "{} differs from the plugin's settings struct: regenerate it (`cargo xtask docs`, \
             or run this test with PMHLINK_BLESS=1)",
            path.display()
        ))
    }
}

struct Row {
    path: String,
    kind: String,
    default: String,
    description: String,
}

struct Renderer<'a> {
    root: &'a Value,
}

impl<'a> Renderer<'a> {
    /// `node` with `$ref` followed and `Option`'s null branch dropped.
    fn resolve(&self, node: &'a Value) -> Result<&'a Value, SchemaError> {
        if let Some(branches) = node.get("anyOf").and_then(Value::as_array) {
            let non_null: Vec<&Value> = branches.iter().filter(|b| !is_null(b)).collect();
            if let [only] = non_null.as_slice() {
                return self.resolve(only);
            }
        }
        match node.get("$ref").and_then(Value::as_str) {
            None => Ok(node),
            Some(reference) => {
                let name = reference
                    .strip_prefix("#/$defs/")
                    .ok_or_else(|| SchemaError(format!("unsupported $ref {reference}")))?;
                let def = self
                    .root
                    .get("$defs")
                    .and_then(|d| d.get(name))
                    .ok_or_else(|| SchemaError(format!("no definition {name}")))?;
                self.resolve(def)
            }
        }
    }

    /// A row for every key of the object schema `node`, under `prefix`; required keys first.
    fn keys(&self, node: &'a Value, prefix: &str, rows: &mut Vec<Row>) -> Result<(), SchemaError> {
        let empty = Map::new();
        let properties = node
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let required: Vec<&str> = node
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut keys: Vec<(&String, &Value)> = properties.iter().collect();
        keys.sort_by_key(|(key, _)| !required.contains(&key.as_str()));
        for (key, property) in keys {
            let path = format!("{prefix}{key}");
            self.key(property, &path, required.contains(&key.as_str()), rows)?;
        }
        Ok(())
    }

    fn key(
        &self,
        property: &'a Value,
        path: &str,
        required: bool,
        rows: &mut Vec<Row>,
    ) -> Result<(), SchemaError> {
        let node = self.resolve(property)?;
        // A description on the property (a field's doc comment) wins over its type's.
        let description = [property, node]
            .into_iter()
            .find_map(|n| n.get("description").and_then(Value::as_str))
            .unwrap_or_default();
        let mut description = one_line(description);
        let (kind, choices) = self.kind(node)?;
        if !choices.is_empty() {
            if !description.is_empty() {
                description.push(' ');
            }
            description.push_str(&choices);
        }
        let default = match property.get("default").or_else(|| node.get("default")) {
            Some(Value::Null) | None if required => "required".to_owned(),
            Some(Value::Null) | None => "—".to_owned(),
            Some(value) => format!("`{value}`"),
        };
        rows.push(Row {
            path: path.to_owned(),
            kind,
            default,
            description,
        });
        if is_object(node) {
            self.keys(node, &format!("{path}."), rows)?;
        } else if let Some(items) = node.get("items") {
            let items = self.resolve(items)?;
            if is_object(items) {
                self.keys(items, &format!("{path}[]."), rows)?;
            }
        }
        Ok(())
    }

    /// The type as the page shows it, and for a set of values the list of them.
    fn kind(&self, node: &'a Value) -> Result<(String, String), SchemaError> {
        let constants: Option<Vec<(String, &str)>> =
            if let Some(values) = node.get("enum").and_then(Value::as_array) {
                Some(values.iter().map(|v| (v.to_string(), "")).collect())
            } else if let Some(branches) = node.get("oneOf").and_then(Value::as_array) {
                branches
                    .iter()
                    .map(|b| {
                        let description = b.get("description").and_then(Value::as_str);
                        b.get("const")
                            .map(|c| (c.to_string(), description.unwrap_or_default()))
                    })
                    .collect()
            } else {
                None
            };
        if let Some(constants) = constants {
            let values: Vec<String> = constants.iter().map(|(v, _)| format!("`{v}`")).collect();
            let explained: Vec<String> = constants
                .iter()
                .filter(|(_, d)| !d.is_empty())
                .map(|(v, d)| format!("`{v}`: {}", one_line(d)))
                .collect();
            return Ok((values.join(" \\| "), explained.join(" ")));
        }
        let kind = match type_name(node).as_deref() {
            Some("array") => {
                let items = node
                    .get("items")
                    .map(|items| self.resolve(items))
                    .transpose()?;
                match items.and_then(type_name) {
                    Some(_) if items.is_some_and(is_object) => "array of tables".to_owned(),
                    Some(item) => format!("array of {item}s"),
                    None => "array".to_owned(),
                }
            }
            Some("object") => "table".to_owned(),
            Some("integer") => match node.get("minimum").and_then(Value::as_i64) {
                Some(0) => "integer ≥ 0".to_owned(),
                Some(min) => format!("integer ≥ {min}"),
                None => "integer".to_owned(),
            },
            Some("string") if node.get("maxLength") == Some(&Value::from(1)) => {
                "one character".to_owned()
            }
            Some(other) => other.to_owned(),
            None => "any".to_owned(),
        };
        Ok((kind, String::new()))
    }
}

/// `"type"`, with `Option`'s `"null"` left out of a list.
fn type_name(node: &Value) -> Option<String> {
    match node.get("type")? {
        Value::String(t) => Some(t.clone()),
        Value::Array(types) => {
            let types: Vec<&str> = types
                .iter()
                .filter_map(Value::as_str)
                .filter(|t| *t != "null")
                .collect();
            Some(types.join(" or "))
        }
        _ => None,
    }
}

fn is_null(node: &Value) -> bool {
    node.get("type").and_then(Value::as_str) == Some("null")
}

fn is_object(node: &Value) -> bool {
    type_name(node).as_deref() == Some("object") && node.get("properties").is_some()
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Doc-comment text as Markdown paragraphs: lines of a paragraph joined, blank lines kept.
fn paragraphs(text: &str) -> String {
    text.split("\n\n")
        .map(one_line)
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::*;

    /// # demo source
    ///
    /// Reads a demo file,
    /// line by line.
    #[derive(Deserialize, schemars::JsonSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Demo {
        /// The file to read.
        path: String,
        /// The text encoding.
        #[serde(default)]
        encoding: Encoding,
        /// The cells, in order.
        fields: Vec<Field>,
        /// Where to skip | stop.
        #[serde(default)]
        limit: Option<u32>,
    }

    #[derive(Default, Deserialize, Serialize, schemars::JsonSchema)]
    enum Encoding {
        /// UTF-8, a BOM dropped.
        #[default]
        #[serde(rename = "utf-8")]
        Utf8,
        /// Windows-31J.
        #[serde(rename = "cp932")]
        Cp932,
    }

    #[derive(Deserialize, schemars::JsonSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Field {
        /// Column name.
        name: String,
        /// Byte offset.
        offset: usize,
    }

    #[test]
    fn every_key_gets_a_row_with_its_type_default_and_description() {
        let spec = PluginSpec::new("demo", "1.0.0", "Reads demo files.").config_schema_of::<Demo>();
        let page = spec_page(&spec).unwrap();
        let expected = "\
# Plugin `demo`

<!-- Generated from the plugin's settings struct by `cargo xtask docs`; do not edit by hand. -->

Reads demo files.

Reads a demo file, line by line.

## Settings

The keys of the plugin's `config` table in the pipeline file. A key path such as `a.b` is key `b` of table `a`; `a[].b` is key `b` of each entry of array `a`. Keys not listed here are refused.

| key | type | default | description |
|---|---|---|---|
| `fields` | array of tables | required | The cells, in order. |
| `fields[].name` | string | required | Column name. |
| `fields[].offset` | integer ≥ 0 | required | Byte offset. |
| `path` | string | required | The file to read. |
| `encoding` | `\"utf-8\"` \\| `\"cp932\"` | `\"utf-8\"` | The text encoding. `\"utf-8\"`: UTF-8, a BOM dropped. `\"cp932\"`: Windows-31J. |
| `limit` | integer ≥ 0 | — | Where to skip \\| stop. |
";
        assert_eq!(page, expected, "{page}");
    }

    #[test]
    fn a_schema_that_is_no_object_is_refused() {
        assert!(settings_page("x", "y", r#"{"type": "string"}"#).is_err());
        assert!(settings_page("x", "y", "{").is_err());
    }

    #[test]
    fn a_stale_page_is_reported_and_a_current_one_passes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("demo.md");
        let err = page_is_current(&path, "# page\n").unwrap_err();
        assert!(err.contains("cargo xtask docs"), "{err}");
        std::fs::write(&path, "# page\n").unwrap();
        page_is_current(&path, "# page\n").unwrap();
    }
}
