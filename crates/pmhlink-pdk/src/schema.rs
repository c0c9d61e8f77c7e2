//! A plugin's config schema, derived from its settings struct so it cannot drift from what
//! the plugin accepts: doc comments become descriptions, `#[serde(default)]` values become
//! `default`, `deny_unknown_fields` becomes `"additionalProperties": false`.

use schemars::{JsonSchema, generate::SchemaSettings};
use serde_json::Value;

/// The JSON Schema (draft 2020-12) of `T`, as the JSON text a [`crate::PluginSpec`] carries.
///
/// The root's `title` is the struct's doc heading (`/// # csv source`) if it has one, else
/// none (schemars would otherwise name it after the Rust type, which means nothing to an
/// operator). Subschemas of nested structs and enums are kept in `$defs`.
///
/// # Panics
/// If `T`'s schema is not an object schema (`"type": "object"`): a plugin's configuration is
/// always a table in the pipeline file. This is a programming error, caught by the plugin's
/// first test (the conformance kit checks the spec).
pub fn config_schema<T: JsonSchema>() -> String {
    let schema = SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<T>();
    let mut value = schema.to_value();
    let type_name = T::schema_name();
    if value.get("title").and_then(Value::as_str) == Some(type_name.as_ref())
        && let Some(map) = value.as_object_mut()
    {
        map.remove("title");
    }
    assert_eq!(
        value.get("type").and_then(Value::as_str),
        Some("object"),
        "the config schema of {type_name} is not an object schema"
    );
    serde_json::to_string_pretty(&value).expect("a JSON value serialises")
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::*;

    /// # demo source
    ///
    /// Reads a demo file.
    #[derive(Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Demo {
        /// The file to read.
        path: String,
        /// How many lines to skip.
        #[serde(default = "two")]
        skip: u32,
        /// The text encoding.
        #[serde(default)]
        encoding: Encoding,
        /// Where the rows are cut.
        #[serde(default)]
        split: Option<Split>,
    }

    fn two() -> u32 {
        2
    }

    #[derive(Default, Deserialize, Serialize, JsonSchema)]
    #[serde(rename_all = "lowercase")]
    enum Encoding {
        /// UTF-8.
        #[default]
        Utf8,
        /// Windows-31J.
        Cp932,
    }

    /// A split.
    #[derive(Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Split {
        /// Byte offset.
        at: usize,
    }

    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Open {
        path: String,
    }

    #[test]
    fn a_settings_struct_becomes_its_schema() {
        let schema: Value = serde_json::from_str(&config_schema::<Demo>()).unwrap();
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        assert_eq!(schema["title"], "demo source");
        assert_eq!(schema["description"], "Reads a demo file.");
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(schema["required"], serde_json::json!(["path"]));
        let properties = &schema["properties"];
        assert_eq!(properties["path"]["description"], "The file to read.");
        assert_eq!(properties["skip"]["default"], 2);
        assert_eq!(properties["encoding"]["default"], "utf8");
        let split = &schema["$defs"]["Split"];
        assert_eq!(split["additionalProperties"], false);
        assert_eq!(split["properties"]["at"]["description"], "Byte offset.");
    }

    #[test]
    fn without_deny_unknown_fields_other_keys_are_allowed_and_no_rust_name_is_a_title() {
        let schema: Value = serde_json::from_str(&config_schema::<Open>()).unwrap();
        assert!(schema.get("additionalProperties").is_none(), "{schema}");
        assert!(schema.get("title").is_none(), "{schema}");
    }
}
