//! The per-municipality pipeline file: which vendor exports to read, how to join them, how
//! each PMH field is filled, where payloads go.
//!
//! [`Pipeline::load`] reads TOML or YAML with figment (a file may `extends` a template: the
//! chain is merged first, by [`MERGE_RULES`]), applies `PMHLINK_…__…` environment
//! overrides, substitutes `${VAR}` secrets in plugin settings, and checks what serde cannot
//! (references between sections, required fields). Every problem names its origin and key
//! path. [`json_schema`] is derived from the same types, and [`reference_markdown`] renders
//! `docs/pipeline-reference.md` from it. Plugin columns are checked later, by the runner,
//! against what the source plugins discover.
//!
//! Secrets: values substituted from the environment are shown as `***` by `Debug`,
//! `Serialize` and [`Pipeline::redacted_json`]; only [`PluginConfig::value`] hands them out.

mod batch;
mod effective;
mod env;
mod error;
mod fields;
mod foreign;
mod layers;
mod load;
mod mapping;
mod markdown;
mod model;
mod schema_doc;
mod schema_walk;
mod secrets;
mod site;
mod validate;

pub use effective::EffectiveValue;
pub use env::{Env, PREFIX as ENV_PREFIX, SEPARATOR as ENV_SEPARATOR};
pub use error::{ConfigError, KeyPath, Problem, Segment};
pub use fields::{DetailItemMapping, FieldMappings};
pub use layers::{
    DEFAULT_OTHER, DEFAULT_TABLE, EXTENDS, Flattened, How, MAX_LAYERS, MERGE_RULES, MergeRule,
    REMOVE, flatten, is_template,
};
pub use load::{FileFormat, ValueOrigin};
pub use mapping::{
    CleanStep, CodeMap, ColumnRef, Mapping, ProgramField, Template, TemplatePart, ValueSource,
};
pub use model::{
    Batch, Guard, Join, Ledger, LocalRecipient, Municipality, OnUnreadableKey, OpenEnd, Pipeline,
    Plugins, ProfileSettings, Program, ProgramSelector, Report, Rules, Sink, Source,
};
pub use schema_doc::{json_schema, reference_markdown};
pub use secrets::{PluginConfig, REDACTED};
pub use validate::{REQUIRED_FIELDS, required_fields};

/// A commented starter pipeline (Japanese and English) for `pmhlink init`: a CSV subsidy
/// export, a fixed-width resident export and a 支援措置 list, every key explained.
pub const STARTER_TOML: &str = include_str!("starter.toml");

impl Pipeline {
    /// The effective configuration for display (`pmhlink check`, `pmhlink plan`): defaults
    /// filled in, overrides applied, every secret shown as `***`.
    pub fn redacted_json(&self) -> serde_json::Value {
        // `PluginConfig` serializes redacted, so the plain serialization is the display form.
        serde_json::to_value(self).expect("a pipeline serializes to JSON")
    }

    /// The full key paths of every value substituted from the environment.
    pub fn secret_paths(&self) -> Vec<KeyPath> {
        let sources = self.sources.iter().map(|(name, s)| {
            (
                KeyPath::root()
                    .key("sources")
                    .key(name.clone())
                    .key("config"),
                &s.config,
            )
        });
        let sinks = self.sinks.iter().enumerate().map(|(i, s)| {
            (
                KeyPath::root().key("sinks").index(i).key("config"),
                &s.config,
            )
        });
        sources
            .chain(sinks)
            .flat_map(|(at, config)| {
                config
                    .secret_paths()
                    .map(move |rel| rel.segments().iter().cloned().fold(at.clone(), push))
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

fn push(path: KeyPath, seg: Segment) -> KeyPath {
    match seg {
        Segment::Key(k) => path.key(k),
        Segment::Index(i) => path.index(i),
    }
}
