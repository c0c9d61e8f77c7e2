//! pmhlink sink plugin `file`: a drop folder for the agency's batch tool or a manual upload.
//!
//! ```toml
//! [sinks.pmh]
//! plugin = "file"
//! dir = "/srv/pmh/outbox"
//! ```
//!
//! Layout: `<dir>/<run_id>/<file_name>…` and `<dir>/<run_id>/manifest.json` (the host's
//! manifest plus `files`: name, sha256, bytes, records, seq). Until the run commits everything
//! lives in `<dir>/.<run_id>.partial/`; each file is written under a temporary name, fsynced and
//! renamed, and the folder is renamed last, so a final name only ever holds complete files.
//! An aborted run leaves nothing. The sink only moves bytes (architecture invariant 1):
//! `poll` stays `Pending` (results come back by hand) and `import` returns a result file's
//! bytes for the host to parse.

pub mod config;
mod fsio;
mod run;

use std::{fs, path::PathBuf};

use pmhlink_pdk::{
    PluginError, PluginSpec, SinkPlugin,
    api::{ROutcome, ROutcomeState, RPayload, RReceipt, RRunEnd, abi_stable::std_types::RVec},
};

pub use config::Config;
use fsio::{check_name, io_error};
use run::{MANIFEST, Run};

pub fn spec() -> PluginSpec {
    PluginSpec::new(
        "file",
        env!("CARGO_PKG_VERSION"),
        "Writes each run's payload files and a manifest into a drop folder; results are imported by hand.",
    )
    .config_schema(config::SCHEMA)
    .capability("manual-import")
}

pub fn open(config: Config) -> Result<FileSink, PluginError> {
    let config = config.settle()?;
    Ok(FileSink {
        dir: config.dir,
        overwrite: config.overwrite,
        run: None,
    })
}

pub struct FileSink {
    dir: PathBuf,
    overwrite: bool,
    /// The run being delivered, from its first `deliver` to its `finish`.
    run: Option<Run>,
}

impl FileSink {
    /// The open run, started on its first delivery. One run at a time.
    fn run_for(&mut self, id: &str) -> Result<&mut Run, PluginError> {
        if let Some(open) = &self.run
            && open.id != id
        {
            return Err(PluginError::other(format!(
                "run {} is still open in this sink; finish it before run {id}",
                open.id
            )));
        }
        if self.run.is_none() {
            // Refuse before writing anything rather than after the whole run.
            if !self.overwrite && run::final_dir(&self.dir, id).exists() {
                return Err(run::already_there(&self.dir, id));
            }
            self.run = Some(Run::start(&self.dir, id)?);
        }
        Ok(self.run.as_mut().expect("started above"))
    }
}

impl SinkPlugin for FileSink {
    fn check(&self) -> Result<String, PluginError> {
        let dir = &self.dir;
        fs::create_dir_all(dir).map_err(|e| io_error("create", dir, &e))?;
        if !dir.is_dir() {
            return Err(
                PluginError::io(format!("{} is not a folder", dir.display()))
                    .at(dir.display().to_string()),
            );
        }
        // Creating and removing a file is the only sure test of write access (ACLs, read-only
        // mounts and network shares defeat permission bits).
        let probe = dir.join(format!(".pmhlink-probe-{}", std::process::id()));
        fs::write(&probe, b"probe").map_err(|e| io_error("write", &probe, &e))?;
        fs::remove_file(&probe).map_err(|e| io_error("remove", &probe, &e))?;
        Ok(format!("drop folder {} is writable", dir.display()))
    }

    fn deliver(&mut self, payload: RPayload) -> Result<RReceipt, PluginError> {
        let (id, name) = (payload.run_id.as_str(), payload.file_name.as_str());
        check_name("run id", id)?;
        check_name("file name", name)?;
        if name == MANIFEST {
            return Err(PluginError::data(format!(
                "file name {MANIFEST} is the sink's own manifest"
            )));
        }
        let run = self.run_for(id)?;
        let sha256 = run.deliver(name, &payload.bytes, payload.records, payload.seq)?;
        Ok(RReceipt {
            id: format!("{id}/{name}").into(),
            detail: sha256.into(),
        })
    }

    fn poll(&mut self, receipt: RReceipt) -> Result<ROutcome, PluginError> {
        // A file counts as delivered once it is final in the run's folder with the content it
        // was given; one still in a partial folder (or gone) was not, and is sent again. Its
        // result comes back by hand, through `import`, so a final file stays pending.
        let final_file = receipt
            .id
            .split_once('/')
            .filter(|(id, name)| {
                check_name("run id", id).is_ok() && check_name("file name", name).is_ok()
            })
            .map(|(id, name)| run::final_dir(&self.dir, id).join(name));
        let delivered = final_file
            .and_then(|path| fs::read(path).ok())
            .is_some_and(|bytes| run::sha256_hex(&bytes) == receipt.detail.as_str());
        Ok(ROutcome {
            state: if delivered {
                ROutcomeState::Pending
            } else {
                ROutcomeState::Failed
            },
            result_bytes: RVec::new(),
        })
    }

    fn import(&mut self, path: &str) -> Result<Vec<u8>, PluginError> {
        fs::read(path).map_err(|e| io_error("read", path.as_ref(), &e))
    }

    fn finish(&mut self, end: RRunEnd) -> Result<String, PluginError> {
        let id = end.run_id.as_str();
        check_name("run id", id)?;
        if let Some(open) = &self.run
            && open.id != id
        {
            return Err(PluginError::other(format!(
                "finish for run {id}, but run {} is the one open in this sink",
                open.id
            )));
        }
        if !end.commit {
            return match self.run.take() {
                Some(run) => run.abort(),
                // Nothing delivered by this instance; a partial folder of an earlier process
                // for the same run goes too.
                None => {
                    fsio::remove_dir_if_any(&run::partial_dir(&self.dir, id))?;
                    Ok(format!("run {id}: aborted, nothing delivered"))
                }
            };
        }
        // A run with no files still gets its folder and manifest: an empty day is a result.
        let run = match self.run.take() {
            Some(run) => run,
            None => {
                if !self.overwrite && run::final_dir(&self.dir, id).exists() {
                    return Err(run::already_there(&self.dir, id));
                }
                Run::start(&self.dir, id)?
            }
        };
        match run.commit(&self.dir, &end.manifest_json, self.overwrite) {
            Ok(summary) => Ok(summary),
            Err(e) => {
                // Kept so a following abort removes the partial folder.
                self.run = Some(run);
                Err(e)
            }
        }
    }
}

pmhlink_pdk::export_sink_plugin!(spec, open);
