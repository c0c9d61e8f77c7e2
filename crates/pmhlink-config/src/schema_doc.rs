//! The pipeline file's JSON Schema and the reference page rendered from it.
//!
//! The schema is derived from the serde types (doc comments become descriptions), so the
//! page cannot drift from what the loader accepts: `docs/pipeline-reference.md` is this
//! module's output, and a test fails when the committed page differs.

use std::sync::OnceLock;

use serde_json::{Value, json};

use crate::model::Pipeline;
use crate::validate::REQUIRED_FIELDS;

/// The JSON Schema (draft 2020-12) of a pipeline file, for editors and for `pmhlink check`.
pub fn json_schema() -> Value {
    schema().clone()
}

pub(crate) fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let mut schema = schemars::schema_for!(Pipeline).to_value();
        add_required_fields(&mut schema);
        add_extends(&mut schema);
        schema
    })
}

/// Required PMH fields are a rule of the mapping as a whole, so serde cannot say it; the
/// schema can, for editors that validate.
fn add_required_fields(schema: &mut Value) {
    let required: Vec<&str> = REQUIRED_FIELDS.iter().map(|f| f.name()).collect();
    schema["$defs"]["FieldMappings"]["required"] = json!(required);
}

/// `extends` is read before the file is a pipeline (`layers.rs`), so no field of
/// [`Pipeline`] holds it; the schema documents it, with the merge rules.
fn add_extends(schema: &mut Value) {
    schema["properties"][crate::layers::EXTENDS] = json!({
        "type": "string",
        "description": crate::layers::schema_description(),
    });
}

const INTRO: &str = "\
# Pipeline file reference / パイプライン定義ファイル リファレンス

<!-- Generated from the pmhlink-config schema by `cargo xtask docs`; do not edit by hand. -->

A pipeline file describes one municipality's daily link: which vendor exports to read
(sources), how to join them, how each PMH field is filled (mapping), and where payloads go
(sinks). `pmhlink init` writes a commented starter; `pmhlink check` loads and validates one.

パイプライン定義ファイルは、1団体分の連携（どの出力ファイルを読み、どう結合し、PMHの各項目を
どう埋め、どこへ送るか）を記述します。

## Conventions

- **Formats.** TOML (`.toml`) or YAML (`.yaml`, `.yml`), same structure. Every table rejects
  unknown keys; errors name the file and the key path (`joins[1].left`).
- **Relative paths** are relative to the pipeline file's directory: the directory of the file
  that is run, also for a path a template gives (see [Layered files](#layered-files-extends)).
- **Identifiers are strings.** Write codes in quotes (`code = \"010\"`): leading zeros matter.
- **Column references** are `<source>.<column>`: a source name from `[sources]`, a dot, and
  the column name as the source plugin reports it (everything after the first dot).
- **Environment overrides.** `PMHLINK_<TABLE>__<KEY>[__<KEY>…]` sets a key, e.g.
  `PMHLINK_MUNICIPALITY__NAME=さくら野市` or `PMHLINK_SOURCES__DB__CONFIG__HOST=db1`. Names
  are lower-cased; `__` separates levels. Values are read as the schema's type there (a
  string stays a string: `PMHLINK_MAPPING__SEX__CONSTANT=0`). Only keys of tables can be set
  (not items of `[[programs]]`, `[[joins]]`, `[[sinks]]`). Variables without `__`
  (`PMHLINK_LOG`) are not overrides. Values set this way inside a plugin's `config` are
  treated as secrets.
- **Secrets.** Any string in `sources.<name>.config` or `sinks[].config` may contain
  `${VARIABLE}`, replaced from the environment when the file is loaded; `$${` is a literal
  `${`. A missing variable is an error naming the key and the variable. Substituted values
  are shown as `***` by `pmhlink check` and `pmhlink plan`, and never appear in errors.
- **Checks beyond types.** Exactly one primary source; every other source joined once; a
  join's `left` names the primary source or one joined before it; references name declared
  sources and mapped fields; programme codes unique; `type_id` is 1–50 ASCII letters and
  digits; `municipality.code` is six digits; `program.column` is a column of the primary
  source; every required PMH field is mapped; `guard.max_deletion_share` is between 0.0 and
  1.0. With the interface profile loaded (`pmhlink check`, `run`, `lint --pipeline`):
  `batch.max_records` and `batch.max_bytes` are from 1 to the profile's limits. Columns
  themselves are checked against what the source plugins discover, when the pipeline runs.

Types: *table* is a TOML table / YAML mapping; *array of tables* is `[[…]]` / a YAML list.
\"required\" means the key has no default.
";

/// The reference page, `docs/pipeline-reference.md`.
pub fn reference_markdown() -> String {
    let intro = format!("{INTRO}\n{}", crate::layers::reference_section());
    crate::markdown::render(schema(), &intro)
}
