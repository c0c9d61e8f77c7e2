//! Finding the schema of a key path. Environment variables are untyped text, and figment
//! errors give paths as bare strings; the schema says whether `0` is a string (a code) or a
//! number, and whether `1` in a path is an array index or a table key.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::error::KeyPath;

/// What the schema says about one key path.
#[derive(Debug, Default)]
pub(crate) struct Found {
    /// JSON types admitted there (`string`, `boolean`, …); empty when free-form or unknown.
    pub types: BTreeSet<String>,
    /// The path as far as it runs through an array, if it does: environment overrides cannot
    /// address array items.
    pub through_array: Option<KeyPath>,
    /// The path with each step typed (array index or table key).
    pub path: KeyPath,
}

/// The schema nodes `node` stands for: `$ref` followed, `anyOf`/`oneOf`/`allOf` branches
/// included alongside the node itself (a node may have both properties and `oneOf`).
fn expand<'a>(root: &'a Value, node: &'a Value, out: &mut Vec<&'a Value>) {
    if out.len() > 64 {
        return; // a recursive schema; ours is not, but never loop
    }
    if let Some(target) = node
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/$defs/"))
        .and_then(|name| root.get("$defs")?.get(name))
    {
        expand(root, target, out);
    }
    out.push(node);
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(branches) = node.get(key).and_then(Value::as_array) {
            for b in branches {
                expand(root, b, out);
            }
        }
    }
}

fn types_of(node: &Value) -> Vec<String> {
    match node.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect(),
        _ if node.get("const").is_some_and(Value::is_string) => vec!["string".into()],
        _ if node
            .get("enum")
            .and_then(Value::as_array)
            .is_some_and(|e| e.iter().all(Value::is_string)) =>
        {
            vec!["string".into()]
        }
        _ => Vec::new(),
    }
}

/// Walks `keys` (as figment spells them: indices as digits) from the schema's root.
pub(crate) fn walk(root: &Value, keys: &[String]) -> Found {
    let mut found = Found::default();
    let mut nodes = Vec::new();
    expand(root, root, &mut nodes);
    let mut free_form = false;
    for key in keys {
        if free_form {
            found.path = found.path.key(key.clone());
            continue;
        }
        let is_array = nodes
            .iter()
            .any(|n| types_of(n).iter().any(|t| t == "array"));
        let mut next = Vec::new();
        if is_array && let Ok(i) = key.parse::<usize>() {
            if found.through_array.is_none() {
                found.through_array = Some(found.path.clone());
            }
            found.path = found.path.index(i);
            for n in &nodes {
                if let Some(items) = n.get("items") {
                    expand(root, items, &mut next);
                }
            }
        } else {
            found.path = found.path.key(key.clone());
            for n in &nodes {
                if let Some(p) = n.get("properties").and_then(|p| p.get(key)) {
                    expand(root, p, &mut next);
                } else {
                    match n.get("additionalProperties") {
                        Some(Value::Bool(true)) => free_form = true,
                        Some(extra @ Value::Object(_)) => expand(root, extra, &mut next),
                        _ => {}
                    }
                }
            }
        }
        if next.is_empty() {
            // Unknown or free-form from here on: keys stay keys.
            free_form = true;
        }
        nodes = next;
    }
    if !free_form {
        found.types = nodes.iter().flat_map(|n| types_of(n)).collect();
    }
    found
}

/// `keys` as a typed key path (array indices told apart from table keys by the schema).
pub(crate) fn key_path(root: &Value, keys: &[String]) -> KeyPath {
    walk(root, keys).path
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Segment;

    fn keys(s: &str) -> Vec<String> {
        s.split('.').map(str::to_owned).collect()
    }

    #[test]
    fn types_and_indices_follow_the_schema() {
        let schema = crate::json_schema();
        let code = walk(&schema, &keys("municipality.code"));
        assert_eq!(code.types, BTreeSet::from(["string".to_owned()]));
        let primary = walk(&schema, &keys("sources.subsidy.primary"));
        assert_eq!(primary.types, BTreeSet::from(["boolean".to_owned()]));
        let constant = walk(&schema, &keys("mapping.sex.constant"));
        assert!(constant.types.contains("string"), "{constant:?}");
        let free = walk(&schema, &keys("sources.db.config.port"));
        assert!(free.types.is_empty());
        let join = walk(&schema, &keys("joins.1.left"));
        assert_eq!(join.path.to_string(), "joins[1].left");
        assert_eq!(join.through_array.unwrap().to_string(), "joins");
        let map_key = walk(&schema, &keys("mapping.sex.map.1"));
        assert_eq!(map_key.path.to_string(), "mapping.sex.map.1");
        assert!(map_key.through_array.is_none());
        let item = walk(
            &schema,
            &keys("mapping.certification_detail.0.value.column"),
        );
        assert_eq!(
            item.path.to_string(),
            "mapping.certification_detail[0].value.column"
        );
    }

    #[test]
    fn segments_of_a_key_path() {
        let p = KeyPath::root().key("joins").index(2);
        assert_eq!(p.segments()[1], Segment::Index(2));
    }
}
