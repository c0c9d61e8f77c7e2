//! The sink trait object and what it carries.
// abi_stable 0.11's #[sabi_trait] expands to impl blocks inside consts, which rustc's
// `non_local_definitions` lint flags; the allowance is scoped to this module.
#![allow(non_local_definitions)]
// The generated vtable and trait-object code is `unsafe` (it erases the concrete type); there is
// no safe way to express it.
#![allow(unsafe_code)]

use std::fmt;

use abi_stable::{
    StableAbi, sabi_trait,
    std_types::{RBox, RResult, RStr, RString, RVec},
};

use crate::{ROutcomeState, RPluginError};

/// An opened sink, as the host holds it.
pub type SinkBox = Sink_TO<'static, RBox<()>>;

/// A sink moves payloads to PMH (or to a drop folder) and brings results back.
/// `Send` so the host may drive it from its own thread.
#[sabi_trait]
pub trait Sink: Send {
    /// Checks configuration and reachability; returns a short health text for the operator.
    fn check(&self) -> RResult<RString, RPluginError>;

    /// Hands over one payload file; the receipt identifies it for [`Sink::poll`].
    fn deliver(&mut self, payload: RPayload) -> RResult<RReceipt, RPluginError>;

    /// Asks where a delivered payload stands.
    fn poll(&mut self, receipt: RReceipt) -> RResult<ROutcome, RPluginError>;

    /// Reads a result file fetched by hand (manual routes); the host parses the bytes.
    fn import(&mut self, path: RStr<'_>) -> RResult<RVec<u8>, RPluginError>;

    /// Ends a run. `commit = true`: make delivered files final and write `manifest_json`;
    /// `commit = false`: remove everything of this run. Returns a human summary.
    #[sabi(last_prefix_field)]
    fn finish(&mut self, end: RRunEnd) -> RResult<RString, RPluginError>;
}

/// One payload file for PMH, already in PMH's layout.
#[repr(C)]
#[derive(StableAbi, Clone, PartialEq, Eq)]
pub struct RPayload {
    pub run_id: RString,
    pub municipality: RString,
    /// PMH API id, e.g. `E06`.
    pub api: RString,
    /// `json` or `csv`.
    pub format: RString,
    /// 1-based sequence number of this file within the run and API.
    pub seq: u32,
    pub records: u64,
    /// Suggested file name; a sink may use its own.
    pub file_name: RString,
    pub bytes: RVec<u8>,
}

// The bytes are record content: never print them.
impl fmt::Debug for RPayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RPayload")
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

/// Identifies a delivered payload; opaque to the host, stored in its ledger.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct RReceipt {
    pub id: RString,
    /// Human text for the operator (where the file went, a task id…).
    pub detail: RString,
}

#[repr(C)]
#[derive(StableAbi, Clone, PartialEq, Eq)]
pub struct ROutcome {
    pub state: ROutcomeState,
    /// The result file's bytes once `Completed` or `Failed` (empty while `Pending`).
    pub result_bytes: RVec<u8>,
}

// Result files echo record content: never print them.
impl fmt::Debug for ROutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ROutcome")
            .field("state", &self.state)
            .field("result_bytes", &self.result_bytes.len())
            .finish()
    }
}

#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct RRunEnd {
    pub run_id: RString,
    pub commit: bool,
    pub manifest_json: RString,
}
