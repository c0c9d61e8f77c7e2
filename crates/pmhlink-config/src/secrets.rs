//! Plugin settings and the secrets inside them.
//!
//! Passwords and tokens belong in the environment, not in a file that is copied between
//! machines, so plugin settings may say `${VAR}`. The value is substituted at load, and the
//! key path is remembered so that every way of showing the config (`Debug`, `Serialize`,
//! [`crate::Pipeline::redacted_json`]) prints `***` there. Only [`PluginConfig::value`] hands
//! out the real values, for the plugin itself.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::env::Env;
use crate::error::{KeyPath, Segment};

/// What a redacted value reads as.
pub const REDACTED: &str = "***";

/// A plugin's `config` table: passed to the plugin verbatim, shown with its secrets redacted.
#[derive(Clone, Default, PartialEq)]
pub struct PluginConfig {
    value: Map<String, Value>,
    /// Paths (relative to the table) whose values came from the environment.
    secrets: BTreeSet<KeyPath>,
}

impl PluginConfig {
    pub fn new(value: Map<String, Value>) -> PluginConfig {
        PluginConfig {
            value,
            secrets: BTreeSet::new(),
        }
    }

    /// The effective settings, secrets included: for handing to the plugin, never for
    /// display (use [`Self::redacted`]).
    pub fn value(&self) -> &Map<String, Value> {
        &self.value
    }

    /// The settings with every secret replaced by `***`.
    pub fn redacted(&self) -> Value {
        let mut v = Value::Object(self.value.clone());
        for path in &self.secrets {
            if let Some(slot) = pointer_mut(&mut v, path) {
                *slot = Value::String(REDACTED.to_owned());
            }
        }
        v
    }

    /// The paths (relative to this table) that hold secrets.
    pub fn secret_paths(&self) -> impl Iterator<Item = &KeyPath> {
        self.secrets.iter()
    }

    /// Marks the value at `path` as a secret (a value set through an environment override).
    pub(crate) fn mark_secret(&mut self, path: KeyPath) {
        let mut v = Value::Object(std::mem::take(&mut self.value));
        if pointer_mut(&mut v, &path).is_some() {
            self.secrets.insert(path);
        }
        if let Value::Object(map) = v {
            self.value = map;
        }
    }

    /// Replaces every `${VAR}` in string values from `env`. Problems name `at` + the key and
    /// the variable, never a value.
    pub(crate) fn substitute(&mut self, env: &Env, at: &KeyPath) -> Vec<(KeyPath, String)> {
        let mut problems = Vec::new();
        let mut found = Vec::new();
        for (k, v) in self.value.iter_mut() {
            walk(
                v,
                KeyPath::root().key(k.clone()),
                &mut |path, s| match expand(s, env) {
                    Ok(None) => {}
                    Ok(Some(expanded)) => {
                        *s = expanded.text;
                        if expanded.secret {
                            found.push(path.clone());
                        }
                    }
                    Err(e) => problems.push((path.clone(), e)),
                },
            );
        }
        self.secrets.extend(found);
        problems
            .into_iter()
            .map(|(rel, e)| {
                let full = join(at, &rel);
                let message = format!("`{full}`: {e}");
                (full, message)
            })
            .collect()
    }
}

fn join(at: &KeyPath, rel: &KeyPath) -> KeyPath {
    at.segments()
        .iter()
        .chain(rel.segments())
        .cloned()
        .collect()
}

fn walk(v: &mut Value, path: KeyPath, f: &mut impl FnMut(&KeyPath, &mut String)) {
    match v {
        Value::String(s) => f(&path, s),
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                walk(item, path.index(i), f);
            }
        }
        Value::Object(map) => {
            for (k, item) in map.iter_mut() {
                walk(item, path.key(k.clone()), f);
            }
        }
        _ => {}
    }
}

fn pointer_mut<'a>(mut v: &'a mut Value, path: &KeyPath) -> Option<&'a mut Value> {
    for seg in path.segments() {
        v = match (seg, v) {
            (Segment::Key(k), Value::Object(map)) => map.get_mut(k)?,
            (Segment::Index(i), Value::Array(items)) => items.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(v)
}

/// A string after substitution.
struct Expanded {
    text: String,
    /// Whether a variable was substituted (an escape alone makes no secret).
    secret: bool,
}

/// `Ok(None)` when `s` has nothing to substitute; `$${` is a literal `${`. Errors name the
/// variable or the mistake, never the text around it.
fn expand(s: &str, env: &Env) -> Result<Option<Expanded>, String> {
    if !s.contains("${") {
        return Ok(None);
    }
    let mut text = String::with_capacity(s.len());
    let mut rest = s;
    let mut secret = false;
    while let Some(at) = rest.find('$') {
        text.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix("${") {
            text.push_str("${");
            rest = tail;
        } else if let Some(tail) = after.strip_prefix('{') {
            let Some(end) = tail.find('}') else {
                return Err("a `${` without its `}` (write `$${` for a literal `${`)".into());
            };
            let name = &tail[..end];
            if !is_var_name(name) {
                return Err(
                    "`${…}` must enclose an environment variable name (letters, digits, `_`); \
                     write `$${` for a literal `${`"
                        .into(),
                );
            }
            let value = env
                .get(name)
                .ok_or_else(|| format!("environment variable `{name}` is not set"))?;
            text.push_str(value);
            secret = true;
            rest = &tail[end + 1..];
        } else {
            text.push('$');
            rest = after;
        }
    }
    text.push_str(rest);
    Ok(Some(Expanded { text, secret }))
}

fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl fmt::Debug for PluginConfig {
    /// Redacted: a `{:?}` of a pipeline must not print a password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PluginConfig({})", self.redacted())
    }
}

impl Serialize for PluginConfig {
    /// Redacted, for the same reason as `Debug`: serializing is for display (`plan`, `check`).
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.redacted().serialize(s)
    }
}

impl<'de> Deserialize<'de> for PluginConfig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Map::deserialize(d).map(PluginConfig::new)
    }
}

impl JsonSchema for PluginConfig {
    fn schema_name() -> Cow<'static, str> {
        "PluginConfig".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "additionalProperties": true,
            "description": "The plugin's own settings, passed to it verbatim (see the plugin's schema). String values may contain `${VARIABLE}`, replaced from the environment at load and shown as `***`; `$${` is a literal `${`."
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Env {
        Env::empty().with("A", "1").with("B_2", "two")
    }

    fn run(s: &str) -> Result<Option<(String, bool)>, String> {
        expand(s, &env()).map(|o| o.map(|e| (e.text, e.secret)))
    }

    #[test]
    fn expands_variables_and_escapes() {
        assert_eq!(run("plain $5"), Ok(None));
        assert_eq!(run("${A}"), Ok(Some(("1".into(), true))));
        assert_eq!(run("x${A}y${B_2}z"), Ok(Some(("x1ytwoz".into(), true))));
        assert_eq!(run("$${A}"), Ok(Some(("${A}".into(), false))));
        assert_eq!(run("$${A} is ${A}"), Ok(Some(("${A} is 1".into(), true))));
    }

    #[test]
    fn errors_name_the_variable_only() {
        assert_eq!(
            run("pw=${NOPE}"),
            Err("environment variable `NOPE` is not set".into())
        );
        assert!(run("${A").unwrap_err().contains("without its `}`"));
        assert!(run("${A-B}").unwrap_err().contains("variable name"));
        assert!(run("${}").unwrap_err().contains("variable name"));
    }

    #[test]
    fn marks_and_redacts_nested_values() {
        let mut c = PluginConfig::new(
            serde_json::json!({ "a": ["x", { "p": "${A}" }], "b": "${B_2}", "c": 3 })
                .as_object()
                .unwrap()
                .clone(),
        );
        let problems = c.substitute(&env(), &KeyPath::root().key("sinks").index(0).key("config"));
        assert!(problems.is_empty());
        assert_eq!(
            c.redacted(),
            serde_json::json!({ "a": ["x", { "p": "***" }], "b": "***", "c": 3 })
        );
        assert_eq!(c.value()["a"][1]["p"], "1");
        c.mark_secret(KeyPath::root().key("c"));
        c.mark_secret(KeyPath::root().key("absent"));
        assert_eq!(c.secret_paths().count(), 3);
        assert!(!format!("{c:?}").contains("two"));
    }
}
