//! pmhlink sink plugin `file`: a drop folder for the agency's batch tool or a manual upload.
//!
//! ```toml
//! [[sinks]]
//! plugin = "file"
//! config = { dir = "/srv/pmh/outbox", file_name = "{municipality}_{api}_{date}_{seq}.{ext}" }
//! ```
//!
//! Every setting is documented in `docs/plugins/file.md`, generated from [`Config`].
//! Layout: `<dir>/<run_id>/<file_name>…` and `<dir>/<run_id>/manifest.json` (the host's
//! manifest plus `files`: name, sha256, bytes, records, seq). Until the run commits everything
//! lives in `<dir>/.<run_id>.partial/`; each file is written under a temporary name, fsynced and
//! renamed, and the folder is renamed last, so a final name only ever holds complete files.
//! An aborted run leaves nothing. The sink only moves bytes (architecture invariant 1):
//! `poll` stays `Pending` (results come back by hand) and `import` returns a result file's
//! bytes for the host to parse.

pub mod config;
mod csv_form;
mod fsio;
mod name;
mod run;

use std::fs;

use pmhlink_pdk::{
    PluginError, PluginSpec, SinkPlugin,
    api::{ROutcome, ROutcomeState, RPayload, RReceipt, RRunEnd, abi_stable::std_types::RVec},
};

pub use config::Config;
use config::Settings;
use fsio::{check_name, io_error};
use name::{Values, business_date};
use run::{MANIFEST, Run};

pub fn spec() -> PluginSpec {
    PluginSpec::new(
        "file",
        env!("CARGO_PKG_VERSION"),
        "Writes each run's payload files and a manifest into a drop folder; results are imported by hand.",
    )
    .config_schema_of::<Config>()
    .capability("manual-import")
}

pub fn open(config: Config) -> Result<FileSink, PluginError> {
    let settings = config.settle()?;
    Ok(FileSink {
        settings,
        run: None,
    })
}

pub struct FileSink {
    settings: Settings,
    /// The run being delivered, from its first `deliver` to its `finish`.
    run: Option<Run>,
}

impl FileSink {
    /// The name the payload is written under: the `file_name` pattern filled in.
    fn name_of(&self, payload: &RPayload) -> Result<String, PluginError> {
        let (run_id, municipality) = (payload.run_id.as_str(), payload.municipality.as_str());
        let values = Values {
            suggested: payload.file_name.as_str(),
            run_id,
            municipality,
            api: payload.api.as_str(),
            seq: payload.seq,
            date: business_date(run_id, municipality),
            ext: payload.format.as_str(),
        };
        let name = self.settings.file_name.fill(&values).ok_or_else(|| {
            PluginError::data(format!(
                "run id {run_id} carries no business date (<municipality>-<YYYYMMDD>-…), which `file_name` asks for with {{date}}"
            ))
            .at("file_name")
        })?;
        check_name("file name", &name)?;
        Ok(name)
    }

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
            if !self.settings.overwrite && run::final_dir(&self.settings.dir, id).exists() {
                return Err(run::already_there(&self.settings.dir, id));
            }
            self.run = Some(Run::start(&self.settings.dir, id)?);
        }
        Ok(self.run.as_mut().expect("started above"))
    }
}

impl SinkPlugin for FileSink {
    fn check(&self) -> Result<String, PluginError> {
        let dir = &self.settings.dir;
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
        let id = payload.run_id.as_str();
        check_name("run id", id)?;
        let name = self.name_of(&payload)?;
        if name == MANIFEST {
            return Err(PluginError::data(format!(
                "file name {MANIFEST} is the sink's own manifest"
            )));
        }
        let bytes = if payload.format.as_str() == "csv" {
            csv_form::rewrite(
                &payload.bytes,
                self.settings.csv_bom,
                self.settings.csv_line_ending,
            )
        } else {
            std::borrow::Cow::Borrowed(payload.bytes.as_slice())
        };
        let run = self.run_for(id)?;
        let sha256 = run.deliver(&name, &bytes, payload.records, payload.seq)?;
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
            .map(|(id, name)| run::final_dir(&self.settings.dir, id).join(name));
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
                    fsio::remove_dir_if_any(&run::partial_dir(&self.settings.dir, id))?;
                    Ok(format!("run {id}: aborted, nothing delivered"))
                }
            };
        }
        // A run with no files still gets its folder and manifest: an empty day is a result.
        let run = match self.run.take() {
            Some(run) => run,
            None => {
                if !self.settings.overwrite && run::final_dir(&self.settings.dir, id).exists() {
                    return Err(run::already_there(&self.settings.dir, id));
                }
                Run::start(&self.settings.dir, id)?
            }
        };
        match run.commit(
            &self.settings.dir,
            &end.manifest_json,
            self.settings.overwrite,
        ) {
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
