//! The runner's shared vocabulary: the errors, the handles over plugins and the exit statuses
//! that every phase of a run speaks. Kept apart so that the phases depend on it and not on
//! each other.

use pmhlink_config::ConfigError;
use pmhlink_ledger::LedgerError;
use pmhlink_plugin_host::HostError;
use pmhlink_profile::ProfileError;

use crate::compile::CompileError;
use crate::table::Table;

/// Why a run stopped. Messages name sources, plugins, files and lines, never values.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("source `{source_name}`: {message}")]
    Source {
        source_name: String,
        message: String,
    },
    #[error("sink `{sink}`: {message}")]
    Sink { sink: String, message: String },
    #[error("{0}")]
    Payload(String),
    #[error("{0}")]
    Ledger(String),
}

/// A source as the run sees it: columns, then batches of rows.
pub trait SourceHandle {
    fn name(&self) -> &str;
    fn plugin(&self) -> &str;
    /// Appends up to `max_rows` rows to `into`; false when the source is exhausted.
    fn next_batch(&mut self, max_rows: usize, into: &mut Table) -> Result<bool, RunError>;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Everything but delivery (`pmhlink plan`).
    DryRun,
    Run,
}

/// What a payload batch is, for a sink and its manifest.
#[derive(Clone, Debug)]
pub struct PayloadMeta {
    pub run_id: String,
    pub municipality: String,
    pub api: String,
    pub format: &'static str,
    pub seq: usize,
    pub records: usize,
    pub file_name: String,
}

/// A sink's word for a batch it took: enough to ask it about that batch later.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    pub id: String,
    pub detail: String,
}

impl Receipt {
    /// The ledger keeps a receipt as one string.
    pub fn to_ledger(&self) -> String {
        format!("{}\t{}", self.id, self.detail)
    }

    pub fn from_ledger(text: &str) -> Receipt {
        let (id, detail) = text.split_once('\t').unwrap_or((text, ""));
        Receipt {
            id: id.to_owned(),
            detail: detail.to_owned(),
        }
    }
}

pub trait SinkHandle {
    fn plugin(&self) -> &str;
    fn deliver(&mut self, meta: &PayloadMeta, bytes: Vec<u8>) -> Result<Receipt, RunError>;
    /// Whether a batch handed over by an earlier, interrupted attempt is final with the sink
    /// (so it must not be sent again).
    fn holds(&mut self, receipt: &Receipt) -> Result<bool, RunError>;
    /// The batch's result when the sink can fetch it and it is ready (completed or failed);
    /// `None` while PMH is still processing, or when results come back another way.
    fn result(&mut self, receipt: &Receipt) -> Result<Option<Vec<u8>>, RunError>;
    /// Makes this run's deliveries final (`commit`) or removes them; returns a summary.
    fn finish(
        &mut self,
        run_id: &str,
        commit: bool,
        manifest_json: String,
    ) -> Result<String, RunError>;
}

/// The documented exit statuses of `pmhlink run` / `plan` / `check`.
pub mod exit {
    /// Everything was sent (or, for `plan`/`check`, would be).
    pub const OK: u8 = 0;
    /// The pipeline file, a profile, a plugin's settings or the arguments are wrong.
    pub const CONFIG: u8 = 2;
    /// Finished, and some records were quarantined (the rest were sent).
    pub const QUARANTINED: u8 = 3;
    /// Stopped: nothing of this run was delivered.
    pub const ABORTED: u8 = 4;
}

/// Why a pipeline could not run. `exit_code` says which documented status it is.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Profile(#[from] ProfileError),
    #[error("{0}")]
    Layout(#[from] pmhlink_profile::layout::LayoutError),
    #[error("{0}")]
    Plugin(HostError),
    #[error("{0}")]
    Compile(#[from] CompileError),
    #[error("{0}")]
    Aborted(String),
    #[error("cannot write the run report to {path}: {message}")]
    Report { path: String, message: String },
    #[error("{0}")]
    Ledger(LedgerError),
    /// The ledger key is missing or malformed (the operator's setup).
    #[error("{0}")]
    Key(String),
    #[error("{0}")]
    Usage(String),
    /// A file given on the command line (a result file) is unreadable or does not fit.
    #[error("{0}")]
    Input(String),
}

impl PipelineError {
    pub fn exit_code(&self) -> u8 {
        match self {
            PipelineError::Plugin(HostError::Plugin(f))
                if !crate::plugins::is_config_failure(f) =>
            {
                exit::ABORTED
            }
            PipelineError::Aborted(_) | PipelineError::Report { .. } | PipelineError::Ledger(_) => {
                exit::ABORTED
            }
            _ => exit::CONFIG,
        }
    }
}

impl From<HostError> for PipelineError {
    fn from(e: HostError) -> Self {
        PipelineError::Plugin(e)
    }
}
