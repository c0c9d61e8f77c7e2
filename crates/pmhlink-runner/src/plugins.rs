//! The run's view of the plugin host: `SourceHandle`/`SinkHandle` over the host's safe
//! wrappers, copying each batch into the host's own packed table.

use pmhlink_plugin_host::{FailureKind, HostSink, HostSource, PayloadOut, PluginFailure};

use pmhlink_plugin_host::{OutcomeState, Receipt as HostReceipt};

use crate::table::Table;
use crate::vocab::{PayloadMeta, Receipt, RunError, SinkHandle, SourceHandle};

pub struct PluginSource {
    pub name: String,
    pub inner: HostSource,
}

fn source_error(name: &str, f: PluginFailure) -> RunError {
    RunError::Source {
        source_name: name.to_owned(),
        message: f.to_string(),
    }
}

impl SourceHandle for PluginSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn plugin(&self) -> &str {
        self.inner.plugin()
    }

    fn next_batch(&mut self, max_rows: usize, into: &mut Table) -> Result<bool, RunError> {
        let Some(batch) = self
            .inner
            .next_batch(max_rows)
            .map_err(|f| source_error(&self.name, f))?
        else {
            return Ok(false);
        };
        let mut errors = batch.row_errors().iter().peekable();
        for row in 0..batch.rows() {
            into.push_row(batch.row(row), batch.line(row));
            while let Some(e) = errors.next_if(|e| e.row as usize <= row) {
                if e.row as usize == row {
                    into.mark_error(e.message.to_string());
                }
            }
        }
        Ok(true)
    }
}

pub struct PluginSink {
    pub inner: HostSink,
}

fn sink_error(f: PluginFailure) -> RunError {
    RunError::Sink {
        sink: f.plugin.clone(),
        message: f.to_string(),
    }
}

impl PluginSink {
    fn poll(&mut self, receipt: &Receipt) -> Result<pmhlink_plugin_host::Outcome, RunError> {
        self.inner
            .poll(&HostReceipt {
                id: receipt.id.clone(),
                detail: receipt.detail.clone(),
            })
            .map_err(sink_error)
    }
}

impl SinkHandle for PluginSink {
    fn plugin(&self) -> &str {
        self.inner.plugin()
    }

    fn deliver(&mut self, meta: &PayloadMeta, bytes: Vec<u8>) -> Result<Receipt, RunError> {
        let payload = PayloadOut {
            run_id: meta.run_id.clone(),
            municipality: meta.municipality.clone(),
            api: meta.api.clone(),
            format: meta.format.to_owned(),
            seq: meta.seq as u32 + 1,
            records: meta.records as u64,
            file_name: meta.file_name.clone(),
            bytes,
        };
        let receipt = self.inner.deliver(payload).map_err(sink_error)?;
        Ok(Receipt {
            id: receipt.id,
            detail: receipt.detail,
        })
    }

    fn holds(&mut self, receipt: &Receipt) -> Result<bool, RunError> {
        Ok(self.poll(receipt)?.state != OutcomeState::Failed)
    }

    fn result(&mut self, receipt: &Receipt) -> Result<Option<Vec<u8>>, RunError> {
        let outcome = self.poll(receipt)?;
        Ok(
            (outcome.state != OutcomeState::Pending && !outcome.result_bytes.is_empty())
                .then_some(outcome.result_bytes),
        )
    }

    fn finish(
        &mut self,
        run_id: &str,
        commit: bool,
        manifest_json: String,
    ) -> Result<String, RunError> {
        self.inner
            .finish(run_id, commit, &manifest_json)
            .map_err(sink_error)
    }
}

/// Whether a plugin failure is the operator's configuration (exit 2) rather than the run's
/// circumstances (exit 4).
pub fn is_config_failure(f: &PluginFailure) -> bool {
    f.kind == FailureKind::Config
}

/// The opened sinks as the handles delivery and result collection take.
pub fn sink_handles(sinks: &mut [PluginSink]) -> Vec<&mut (dyn crate::vocab::SinkHandle + Send)> {
    sinks
        .iter_mut()
        .map(|s| s as &mut (dyn crate::vocab::SinkHandle + Send))
        .collect()
}
