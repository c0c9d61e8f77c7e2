//! The environment a pipeline is loaded in: `PMHLINK_` overrides and `${VAR}` values.
//!
//! Loading takes a snapshot ([`Env`]) instead of reading the process environment itself, so
//! tests need not mutate the process environment (which is `unsafe` in edition 2024).

use std::collections::BTreeMap;
use std::fmt;

use figment::value::{Dict, Map, Value};
use figment::{Metadata, Profile, Provider};

use crate::error::{KeyPath, Problem};
use crate::schema_walk;

/// Prefix of override variables.
pub const PREFIX: &str = "PMHLINK_";
/// Separator of nested keys in an override variable's name.
pub const SEPARATOR: &str = "__";

/// A snapshot of environment variables. `Debug` shows names only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

impl Env {
    /// The process environment (variables whose name or value is not UTF-8 are left out).
    pub fn process() -> Env {
        std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect()
    }

    pub fn empty() -> Env {
        Env::default()
    }

    #[must_use]
    pub fn with(mut self, name: impl Into<String>, value: impl Into<String>) -> Env {
        self.vars.insert(name.into(), value.into());
        self
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Env {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Env {
            vars: iter
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.vars.keys()).finish()
    }
}

/// One `PMHLINK_A__B=…` variable as a figment provider of its own, so that a figment error
/// about its value carries the variable's name as its metadata.
pub(crate) struct Override {
    pub var: String,
    /// Lower-cased key path, as figment spells it.
    pub keys: Vec<String>,
    value: Value,
}

impl Provider for Override {
    fn metadata(&self) -> Metadata {
        Metadata::named(self.var.clone())
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut value = self.value.clone();
        for key in self.keys.iter().rev() {
            let mut dict = Dict::new();
            dict.insert(key.clone(), value);
            value = dict.into();
        }
        let dict = value.into_dict().expect("at least one key");
        Ok(Map::from([(Profile::Default, dict)]))
    }
}

/// The override variables of `env`. Only names with a `__` count: every overridable key is in
/// a table, and single-level names (`PMHLINK_LOG`) belong to the command line tool.
pub(crate) fn overrides(env: &Env, schema: &serde_json::Value) -> (Vec<Override>, Vec<Problem>) {
    let mut found = Vec::new();
    let mut problems = Vec::new();
    for (var, raw) in &env.vars {
        let Some(rest) = var.strip_prefix(PREFIX) else {
            continue;
        };
        if !rest.contains(SEPARATOR) {
            continue;
        }
        let keys: Vec<String> = rest
            .split(SEPARATOR)
            .map(|k| k.to_ascii_lowercase())
            .collect();
        if keys.iter().any(String::is_empty) {
            problems.push(Problem {
                origin: format!("environment variable {var}"),
                path: KeyPath::root(),
                message: format!("an empty key between `{SEPARATOR}`s"),
            });
            continue;
        }
        let at = schema_walk::walk(schema, &keys);
        if let Some(array) = at.through_array {
            problems.push(Problem {
                origin: format!("environment variable {var}"),
                path: array.clone(),
                message: format!(
                    "`{array}` is an array: environment overrides can set keys of tables only"
                ),
            });
            continue;
        }
        found.push(Override {
            var: var.clone(),
            value: typed(raw, &at.types),
            keys,
        });
    }
    (found, problems)
}

/// Environment text as the type the schema wants there: a code like `0139` stays text where
/// the schema says string, `false` becomes a boolean where it says boolean, and free-form
/// plugin settings get figment's own reading (numbers, booleans, `[…]`, `{…}`).
fn typed(raw: &str, types: &std::collections::BTreeSet<String>) -> Value {
    let parsed: Value = raw.parse().expect("infallible");
    let kind = match &parsed {
        Value::String(..) | Value::Char(..) => "string",
        Value::Bool(..) => "boolean",
        Value::Num(_, n) if n.to_i128().is_some() || n.to_u128().is_some() => "integer",
        Value::Num(..) => "number",
        Value::Dict(..) => "object",
        Value::Array(..) => "array",
        Value::Empty(..) => "null",
    };
    let fits = types.contains(kind) || (kind == "integer" && types.contains("number"));
    if types.contains("string") && !fits {
        Value::from(raw.to_owned())
    } else {
        parsed
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn types(ts: &[&str]) -> BTreeSet<String> {
        ts.iter().map(|t| (*t).to_owned()).collect()
    }

    #[test]
    fn text_is_typed_by_the_schema() {
        assert_eq!(
            typed("0139", &types(&["string"])),
            Value::from("0139".to_owned())
        );
        assert_eq!(
            typed("true", &types(&["string"])),
            Value::from("true".to_owned())
        );
        assert_eq!(typed("true", &types(&["boolean"])), Value::from(true));
        assert!(matches!(typed("5432", &types(&[])), Value::Num(..)));
        assert!(matches!(typed("[1, 2]", &types(&[])), Value::Array(..)));
    }

    #[test]
    fn only_prefixed_nested_names_are_overrides() {
        let env = Env::empty()
            .with("PMHLINK_LOG", "debug")
            .with("OTHER__X", "1")
            .with("PMHLINK_MUNICIPALITY__NAME", "x")
            .with("PMHLINK_A____B", "x");
        let (found, problems) = overrides(&env, crate::schema_doc::schema());
        let vars: Vec<&str> = found.iter().map(|o| o.var.as_str()).collect();
        assert_eq!(vars, ["PMHLINK_MUNICIPALITY__NAME"]);
        assert_eq!(found[0].keys, ["municipality", "name"]);
        assert_eq!(problems.len(), 1, "an empty key is reported");
        assert_eq!(format!("{env:?}").matches("debug").count(), 0);
    }
}
