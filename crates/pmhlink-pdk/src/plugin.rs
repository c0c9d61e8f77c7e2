//! The plain-Rust side a plugin author implements.

use pmhlink_plugin_api::{ColumnType, RBatch, ROutcome, RPayload, RReceipt, RRunEnd};

use crate::PluginError;

/// What a plugin says about itself. The export macro adds the kind and the API level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginSpec {
    /// Short stable name, e.g. `csv-cp932`.
    pub name: String,
    pub version: String,
    pub description: String,
    /// JSON Schema of the configuration; [`PluginSpec::config_schema_of`] derives it from the
    /// settings struct.
    pub config_schema_json: String,
    pub capabilities: Vec<String>,
}

impl PluginSpec {
    /// A spec with a permissive schema (`{"type": "object"}`) and no capabilities.
    pub fn new(
        name: impl Into<String>,
        version: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            version: version.into(),
            description: description.into(),
            config_schema_json: r#"{"type": "object"}"#.to_owned(),
            capabilities: Vec::new(),
        }
    }

    /// The config schema derived from the settings struct `T` (see
    /// [`crate::schema::config_schema`]): doc comments on its fields become the descriptions
    /// `pmhlink` and the generated settings page show, so no JSON is written by hand.
    #[must_use]
    pub fn config_schema_of<T: schemars::JsonSchema>(self) -> Self {
        self.config_schema(crate::schema::config_schema::<T>())
    }

    /// A config schema written by hand, as JSON text. Prefer [`PluginSpec::config_schema_of`].
    #[must_use]
    pub fn config_schema(mut self, json_schema: impl Into<String>) -> Self {
        self.config_schema_json = json_schema.into();
        self
    }

    #[must_use]
    pub fn capability(mut self, capability: impl Into<String>) -> Self {
        self.capabilities.push(capability.into());
        self
    }
}

/// A source: reads tables of text cells. Panics are caught by the pdk; after one the plugin
/// instance answers every call with a `Panic` error.
pub trait SourcePlugin: Send + 'static {
    /// Configuration valid and inputs readable, without reading rows.
    fn check(&self) -> Result<(), PluginError>;

    /// Column names, in cell order.
    fn discover(&self) -> Result<Vec<String>, PluginError>;

    /// Up to `max_rows` (≥ 1) rows, at least one per `Some`; `None` at the end. The first call
    /// starts reading. Build batches with [`crate::api::BatchBuilder`].
    fn next_batch(&mut self, max_rows: usize) -> Result<Option<RBatch>, PluginError>;

    /// Each column's type, in cell order, learnt without reading a row; empty (the default)
    /// when the source has no types, as a file has none. A typed source (a database) says so,
    /// and `pmhlink check` warns when an identifier the mapping reads is held as a number.
    fn column_types(&self) -> Result<Vec<ColumnType>, PluginError> {
        Ok(Vec::new())
    }
}

/// A sink: moves payloads and brings results back. See [`crate::api::Sink`] for the verbs.
pub trait SinkPlugin: Send + 'static {
    /// Short health text for the operator.
    fn check(&self) -> Result<String, PluginError>;

    fn deliver(&mut self, payload: RPayload) -> Result<RReceipt, PluginError>;

    fn poll(&mut self, receipt: RReceipt) -> Result<ROutcome, PluginError>;

    /// The bytes of a result file fetched by hand.
    fn import(&mut self, path: &str) -> Result<Vec<u8>, PluginError>;

    /// `end.commit`: make delivered files final and write `end.manifest_json`; otherwise remove
    /// everything of this run. Returns a human summary.
    fn finish(&mut self, end: RRunEnd) -> Result<String, PluginError>;
}
