//! The host's handle on an opened source.

use pmhlink_plugin_api::{ColumnType, RBatch, SourceBox};

use crate::{FailureKind, PluginFailure, Verb, guard::Guard};

/// An opened source. Every method returns the plugin's error, a caught panic or a protocol
/// violation as a [`PluginFailure`]; after a panic or a violation every call fails the same way.
pub struct HostSource {
    guard: Guard,
    inner: SourceBox,
}

impl HostSource {
    pub(crate) fn new(plugin: &str, inner: SourceBox) -> Self {
        Self {
            guard: Guard::new(plugin),
            inner,
        }
    }

    /// The plugin's spec name.
    pub fn plugin(&self) -> &str {
        &self.guard.plugin
    }

    /// Configuration valid and inputs readable, without reading rows.
    pub fn check(&self) -> Result<(), PluginFailure> {
        self.guard.call(Verb::Check, || self.inner.check())
    }

    /// The column names, in cell order.
    pub fn discover(&self) -> Result<Vec<String>, PluginFailure> {
        let columns = self.guard.call(Verb::Discover, || self.inner.discover())?;
        Ok(columns.into_iter().map(String::from).collect())
    }

    /// Each column's type as the source knows it, in cell order; empty when it has none (a
    /// file source, or a plugin older than API 1.1). A list of another length than the
    /// columns is a protocol failure.
    pub fn column_types(&self, columns: usize) -> Result<Vec<ColumnType>, PluginFailure> {
        let types = self
            .guard
            .call(Verb::Discover, || self.inner.column_types())?;
        if !types.is_empty() && types.len() != columns {
            return Err(self.guard.fail(PluginFailure::new(
                self.plugin(),
                Verb::Discover,
                FailureKind::Protocol,
                format!(
                    "named the types of {} columns when it has {columns}",
                    types.len()
                ),
            )));
        }
        Ok(types.iter().map(|t| ColumnType::from_name(t)).collect())
    }

    /// The next batch of at most `max_rows` rows (at least 1 is asked for); `None` at the end.
    ///
    /// The batch is checked before it is returned ([`RBatch::validate`], at least one row, no
    /// more than asked): a malformed batch is a [`FailureKind::Protocol`] failure naming the
    /// plugin, so the runner can index a returned batch without further checks.
    pub fn next_batch(&mut self, max_rows: usize) -> Result<Option<RBatch>, PluginFailure> {
        let max_rows = u32::try_from(max_rows.max(1)).unwrap_or(u32::MAX);
        let batch = self
            .guard
            .call(Verb::Read, || self.inner.next_batch(max_rows))?
            .into_option();
        let Some(batch) = batch else {
            return Ok(None);
        };
        let problem = match batch.validate() {
            Err(err) => Some(err.to_string()),
            Ok(()) if batch.is_empty() => {
                // An empty batch would let a runner loop forever; the end is `None`.
                Some("returned an empty batch instead of the end of the data".to_owned())
            }
            Ok(()) if batch.rows() > max_rows as usize => Some(format!(
                "returned {} rows when at most {max_rows} were asked for",
                batch.rows()
            )),
            Ok(()) => None,
        };
        match problem {
            Some(problem) => Err(self.guard.fail(PluginFailure::new(
                self.plugin(),
                Verb::Read,
                FailureKind::Protocol,
                problem,
            ))),
            None => Ok(Some(batch)),
        }
    }
}
