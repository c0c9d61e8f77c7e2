//! The host's handle on an opened sink, and the plain types the runner passes through it.

use std::fmt;

use pmhlink_plugin_api::{
    ROutcomeState, RPayload, RReceipt, RRunEnd, SinkBox, abi_stable::std_types::RStr,
};
use serde::{Deserialize, Serialize};

use crate::{FailureKind, PluginFailure, Verb, guard::Guard};

/// One payload file for PMH, already in PMH's layout.
#[derive(Clone, PartialEq, Eq)]
pub struct PayloadOut {
    pub run_id: String,
    pub municipality: String,
    /// PMH API id, e.g. `E06`.
    pub api: String,
    /// `json` or `csv`.
    pub format: String,
    /// 1-based sequence number of this file within the run and API.
    pub seq: u32,
    pub records: u64,
    /// Suggested file name; a sink may use its own.
    pub file_name: String,
    pub bytes: Vec<u8>,
}

// The bytes are record content: never print them.
impl fmt::Debug for PayloadOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PayloadOut")
            .field("run_id", &self.run_id)
            .field("municipality", &self.municipality)
            .field("api", &self.api)
            .field("format", &self.format)
            .field("seq", &self.seq)
            .field("records", &self.records)
            .field("file_name", &self.file_name)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// Identifies a delivered payload; opaque to the host, kept in its ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub id: String,
    /// Human text for the operator (where the file went, a task id…).
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutcomeState {
    Pending,
    Completed,
    Failed,
}

/// Where a delivered payload stands at PMH.
#[derive(Clone, PartialEq, Eq)]
pub struct Outcome {
    pub state: OutcomeState,
    /// The result file's bytes once `Completed` or `Failed` (empty while `Pending`).
    pub result_bytes: Vec<u8>,
}

// Result files echo record content: never print them.
impl fmt::Debug for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outcome")
            .field("state", &self.state)
            .field("result_bytes", &self.result_bytes.len())
            .finish()
    }
}

/// An opened sink. Failures behave as in [`crate::HostSource`].
pub struct HostSink {
    guard: Guard,
    inner: SinkBox,
}

impl HostSink {
    pub(crate) fn new(plugin: &str, inner: SinkBox) -> Self {
        Self {
            guard: Guard::new(plugin),
            inner,
        }
    }

    /// The plugin's spec name.
    pub fn plugin(&self) -> &str {
        &self.guard.plugin
    }

    /// Checks configuration and reachability; returns a short health text for the operator.
    pub fn check(&self) -> Result<String, PluginFailure> {
        let text = self.guard.call(Verb::Check, || self.inner.check())?;
        Ok(text.into())
    }

    /// Hands over one payload file; the receipt identifies it for [`HostSink::poll`].
    pub fn deliver(&mut self, payload: PayloadOut) -> Result<Receipt, PluginFailure> {
        let payload = RPayload {
            run_id: payload.run_id.into(),
            municipality: payload.municipality.into(),
            api: payload.api.into(),
            format: payload.format.into(),
            seq: payload.seq,
            records: payload.records,
            file_name: payload.file_name.into(),
            bytes: payload.bytes.into(),
        };
        let receipt = self
            .guard
            .call(Verb::Deliver, || self.inner.deliver(payload))?;
        Ok(Receipt {
            id: receipt.id.into(),
            detail: receipt.detail.into(),
        })
    }

    /// Asks where a delivered payload stands.
    pub fn poll(&mut self, receipt: &Receipt) -> Result<Outcome, PluginFailure> {
        let receipt = RReceipt {
            id: receipt.id.as_str().into(),
            detail: receipt.detail.as_str().into(),
        };
        let outcome = self.guard.call(Verb::Poll, || self.inner.poll(receipt))?;
        let state = match outcome.state {
            ROutcomeState::Pending => OutcomeState::Pending,
            ROutcomeState::Completed => OutcomeState::Completed,
            ROutcomeState::Failed => OutcomeState::Failed,
            // Guessing what a newer state means could advance the ledger wrongly.
            other => {
                return Err(self.guard.fail(PluginFailure::new(
                    self.plugin(),
                    Verb::Poll,
                    FailureKind::Protocol,
                    format!(
                        "returned outcome state {} (unknown to this host; from a newer plugin API?)",
                        other.0
                    ),
                )));
            }
        };
        Ok(Outcome {
            state,
            result_bytes: outcome.result_bytes.into_vec(),
        })
    }

    /// Reads a result file fetched by hand (manual routes); the host parses the bytes.
    pub fn import(&mut self, path: &str) -> Result<Vec<u8>, PluginFailure> {
        let bytes = self
            .guard
            .call(Verb::Import, || self.inner.import(RStr::from_str(path)))?;
        Ok(bytes.into_vec())
    }

    /// Ends a run. `commit = true`: the sink makes delivered files final and writes
    /// `manifest_json`; `commit = false`: it removes everything of this run. Returns a human
    /// summary.
    pub fn finish(
        &mut self,
        run_id: &str,
        commit: bool,
        manifest_json: &str,
    ) -> Result<String, PluginFailure> {
        let end = RRunEnd {
            run_id: run_id.into(),
            commit,
            manifest_json: manifest_json.into(),
        };
        let summary = self.guard.call(Verb::Finish, || self.inner.finish(end))?;
        Ok(summary.into())
    }
}
