//! A generated municipality over several business days, and a stand-in for PMH that takes the
//! drop folder's payloads, keeps the history rows they leave, and writes result files in the
//! profile's format for `pmhlink results import`.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use pmhlink_profile::Profile;
use pmhlink_profile::result::{Outcome, PmhError, RecordResult, TaskResult, TaskStatus};
use pmhlink_synth::{Synth, SynthConfig};
use serde_json::Value;

use super::{Run, ensure_plugins, pmhlink, run};

const PIPELINE: &str = include_str!("../../../../examples/sakurano/pipeline.toml");
const PROFILE: &str = include_str!("../../../pmhlink-profile/profiles/pmh-default.toml");

pub struct Town {
    pub dir: tempfile::TempDir,
}

impl Town {
    /// `batch` records per payload file, so that a run has several batches.
    pub fn new(certificates: u64, seed: u64, batch: usize) -> Town {
        Town::with_defects(certificates, seed, batch, 0.0)
    }

    /// Like [`Town::new`], with a share `dirty` of certificates carrying one defect each.
    pub fn with_defects(certificates: u64, seed: u64, batch: usize, dirty: f64) -> Town {
        ensure_plugins();
        let dir = tempfile::tempdir().unwrap();
        let synth = Synth::new(SynthConfig {
            seed,
            certificates,
            dirty,
            ..SynthConfig::default()
        });
        pmhlink_synth::files::write_dir(&synth, &dir.path().join("data"), &mut []).unwrap();
        let profile = PROFILE.replacen("max_records = 1000", &format!("max_records = {batch}"), 1);
        std::fs::write(dir.path().join("small.toml"), profile).unwrap();
        let pipeline = PIPELINE.replacen(
            "# path = \"profiles/pmh.toml\"",
            "path = \"small.toml\" #",
            1,
        );
        assert_ne!(pipeline, PIPELINE, "the example pipeline names its profile");
        std::fs::write(dir.path().join("pipeline.toml"), pipeline).unwrap();
        Town { dir }
    }

    /// A second town reading the same exports with a ledger of its own: its first run sends
    /// the whole clean set, which is what PMH must hold after diff uploads.
    pub fn fresh_copy(&self) -> Town {
        let copy = tempfile::tempdir().unwrap();
        for f in ["pipeline.toml", "small.toml"] {
            std::fs::copy(self.path(f), copy.path().join(f)).unwrap();
        }
        std::fs::create_dir(copy.path().join("data")).unwrap();
        for e in std::fs::read_dir(self.path("data")).unwrap().flatten() {
            std::fs::copy(e.path(), copy.path().join("data").join(e.file_name())).unwrap();
        }
        Town { dir: copy }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn edit_pipeline(&self, from: &str, to: &str) {
        let text = std::fs::read_to_string(self.path("pipeline.toml")).unwrap();
        assert!(text.contains(from), "pipeline has no `{from}`");
        std::fs::write(self.path("pipeline.toml"), text.replacen(from, to, 1)).unwrap();
    }

    pub fn command(&self, command: &str, date: &str, extra: &[&str]) -> Command {
        let mut cmd = pmhlink();
        cmd.arg(command)
            .arg(self.path("pipeline.toml"))
            .args(["--date", date, "--quiet"])
            .args(extra);
        cmd
    }

    pub fn run(&self, date: &str, extra: &[&str]) -> Run {
        run(&mut self.command("run", date, extra))
    }

    pub fn status(&self) -> Value {
        let out = run(pmhlink()
            .args(["status", "--json"])
            .arg(self.path("pipeline.toml")));
        assert_eq!(out.status, 0, "status\n{}{}", out.stdout, out.stderr);
        serde_json::from_str(&out.stdout).unwrap()
    }

    /// What the ledger holds, without what changes with every run (journal, file size).
    pub fn holdings(&self) -> Value {
        let mut s = self.status();
        let o = s.as_object_mut().unwrap();
        for k in ["recent_runs", "size_bytes", "last_run", "last_success_at"] {
            o.remove(k);
        }
        s
    }

    pub fn report(&self, run_id: &str, name: &str) -> Value {
        let path = self.path(&format!("reports/{run_id}/{name}"));
        serde_json::from_slice(&std::fs::read(&path).unwrap_or_else(|e| panic!("{path:?}: {e}")))
            .unwrap()
    }

    /// The vendor's main export as rows of cells (CP932 CSV with a header).
    pub fn subsidy(&self) -> Vec<Vec<String>> {
        let bytes = std::fs::read(self.path("data/subsidy.csv")).unwrap();
        let (text, _, bad) = encoding_rs::SHIFT_JIS.decode(&bytes);
        assert!(!bad);
        csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.as_bytes())
            .records()
            .map(|r| r.unwrap().iter().map(str::to_owned).collect())
            .collect()
    }

    pub fn write_subsidy(&self, rows: &[Vec<String>]) {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::new());
        for r in rows {
            w.write_record(r).unwrap();
        }
        let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
        let (bytes, _, bad) = encoding_rs::SHIFT_JIS.encode(&text);
        assert!(!bad);
        std::fs::write(self.path("data/subsidy.csv"), bytes).unwrap();
    }

    /// Run folders in the drop folder, and whether any partial folder is left.
    pub fn run_folders(&self) -> (BTreeSet<String>, bool) {
        let mut runs = BTreeSet::new();
        let mut partial = false;
        for e in std::fs::read_dir(self.path("outbox"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                partial = true;
            } else {
                runs.insert(name);
            }
        }
        (runs, partial)
    }
}

/// The columns of the example's `subsidy.csv` the tests change.
pub mod col {
    pub const HISTORY: usize = 6;
    pub const VALID_FROM: usize = 7;
    pub const MONTHLY_CAP: usize = 16;
    pub const DELETED: usize = 20;
}

/// A history row as PMH identifies it.
pub type RowId = (String, String);

fn row_id(record: &Value) -> RowId {
    let s = |k: &str| record[k].as_str().unwrap_or("").to_owned();
    (s("myNumber"), s("historyKey"))
}

/// PMH as far as these tests need it: the rows it holds, everything it was sent.
#[derive(Default)]
pub struct Pmh {
    pub rows: BTreeMap<RowId, Value>,
    /// (row, content, deleted) of every record ever sent: a repeat is a duplicate submission.
    pub seen: HashSet<(RowId, String, bool)>,
    pub duplicates: Vec<RowId>,
}

/// Payload files of a run folder, in batch order.
pub fn payloads(run_dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(run_dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json") && !p.ends_with("manifest.json"))
        .collect();
    files.sort();
    files
}

impl Pmh {
    /// Applies a run's payloads, rejecting the records whose history key is in `reject`, and
    /// writes one result file per payload into `results`. Returns the result files.
    pub fn take(&mut self, run_dir: &Path, reject: &[String], results: &Path) -> Vec<PathBuf> {
        std::fs::create_dir_all(results).unwrap();
        let spec = Profile::builtin().result;
        let mut files = Vec::new();
        for (n, payload) in payloads(run_dir).iter().enumerate() {
            let records: Vec<Value> =
                serde_json::from_slice(&std::fs::read(payload).unwrap()).unwrap();
            let full = records
                .first()
                .is_some_and(|r| r.get("isDeleted").is_none());
            let mut out = Vec::new();
            for (i, mut r) in records.into_iter().enumerate() {
                let id = row_id(&r);
                let deleted = !full && r["isDeleted"].as_bool().unwrap();
                r.as_object_mut().unwrap().remove("isDeleted");
                if !self.seen.insert((id.clone(), r.to_string(), deleted)) {
                    self.duplicates.push(id.clone());
                }
                let rejected = reject.contains(&id.1);
                if !rejected {
                    if deleted {
                        self.rows.remove(&id);
                    } else {
                        self.rows.insert(id.clone(), r);
                    }
                }
                out.push(RecordResult {
                    record_number: i as u32 + 1,
                    // Full-sync records have no history key.
                    history_key: Some(id.1.clone()).filter(|k| !k.is_empty()),
                    outcome: if rejected {
                        Outcome::Rejected(vec![PmhError {
                            code: "E1234".into(),
                            item: Some("validFrom".into()),
                            message: "制度マスタの有効期間外です".into(),
                        }])
                    } else {
                        Outcome::Accepted
                    },
                });
            }
            let result = TaskResult {
                task_id: format!("task-{n}"),
                status: TaskStatus::Completed,
                records: out,
            };
            let file = results.join(format!(
                "{}.result.json",
                payload.file_stem().unwrap().to_string_lossy()
            ));
            std::fs::write(&file, pmhlink_profile::result::write_json(&spec, &result)).unwrap();
            files.push(file);
        }
        files
    }

    /// Every record of a run's payloads, as PMH would hold them after a first upload.
    pub fn full_set(run_dir: &Path) -> BTreeMap<RowId, Value> {
        let mut pmh = Pmh::default();
        let results = tempfile::tempdir().unwrap();
        pmh.take(run_dir, &[], results.path());
        pmh.rows
    }
}

/// `pmhlink results import` of `files` into `town`'s ledger.
pub fn import(town: &Town, files: &[PathBuf]) -> Run {
    run(pmhlink()
        .args(["results", "import"])
        .arg(town.path("pipeline.toml"))
        .args(files))
}
