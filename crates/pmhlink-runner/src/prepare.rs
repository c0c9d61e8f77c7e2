//! The one way into a pipeline, shared by `run`, `plan`, `reset`, `check` and `results`: the
//! profile and the API's layout, the site tables, every source and sink opened and checked,
//! the mapping compiled against the columns the sources report, and the ledger with its key.
//! Nothing is read or delivered here (validate before running).

use std::collections::HashMap;

use pmhlink_config::Pipeline;
use pmhlink_diff::SyncKind;
use pmhlink_ledger::{Access, Ledger, MasterKey};
use pmhlink_plugin_host::{ColumnType, Host, HostError};
use pmhlink_profile::{ApiId, Format, Layout, Profile, ProfileError, SyncMode};
use pmhlink_rules::SiteTables;
use pmhlink_rules::era::EraTable;

use crate::compile::{compile, source_order};
use crate::mapping::Mapping;
use crate::plugins::{PluginSink, PluginSource};
use crate::vocab::{Mode, PipelineError};

/// The interface profile as its file says it: the one `profile.path` names, or the built-in
/// one.
pub fn stored_profile(pipeline: &Pipeline) -> Result<Profile, ProfileError> {
    match &pipeline.profile.path {
        Some(p) => Profile::load(&pipeline.resolve(p)),
        None => Ok(Profile::builtin()),
    }
}

/// The interface profile as this pipeline speaks it: [`stored_profile`] with its per-payload
/// limits narrowed to the pipeline's `[batch]` (refused when above the profile's). Every layout
/// of a day is made from it, so a fresh run and a resumed one cut the same batches.
pub fn load_profile(pipeline: &Pipeline) -> Result<Profile, PipelineError> {
    let mut profile = stored_profile(pipeline)?;
    profile.limits = pipeline.batch_limits(&profile)?;
    Ok(profile)
}

/// Every source and sink opened and checked, with the columns each source reports.
pub struct Opened {
    pub sources: Vec<PluginSource>,
    pub columns: HashMap<String, Vec<String>>,
    /// Each source's column types, where it has them (a database); none for a file.
    pub types: HashMap<String, Vec<ColumnType>>,
    pub sinks: Vec<PluginSink>,
    pub sink_health: Vec<String>,
}

/// Opens and checks every source (and, `with_sinks`, every sink), and asks each source for its
/// columns. Nothing is read or delivered.
pub fn open(pipeline: &Pipeline, host: &Host, with_sinks: bool) -> Result<Opened, PipelineError> {
    let mut sources = Vec::new();
    let mut columns = HashMap::new();
    let mut types = HashMap::new();
    for name in source_order(pipeline) {
        let spec = &pipeline.sources[&name];
        // A settings error is reported at its key in the pipeline file.
        let at = format!("sources.{name}.config");
        let inner = host
            .open_source(
                &spec.plugin,
                &serde_json::Value::Object(spec.config.value().clone()),
            )
            .map_err(|e| e.in_config(&at))?;
        inner
            .check()
            .map_err(|e| HostError::from(e.in_config(&at)))?;
        let names = inner.discover().map_err(HostError::from)?;
        types.insert(
            name.clone(),
            inner.column_types(names.len()).map_err(HostError::from)?,
        );
        columns.insert(name.clone(), names);
        sources.push(PluginSource { name, inner });
    }
    let (sinks, sink_health) = if with_sinks {
        open_sinks(pipeline, host, true)?
    } else {
        Default::default()
    };
    Ok(Opened {
        sources,
        columns,
        types,
        sinks,
        sink_health,
    })
}

/// Opens every sink of the pipeline; `check` also asks each whether it is healthy.
pub fn open_sinks(
    pipeline: &Pipeline,
    host: &Host,
    check: bool,
) -> Result<(Vec<PluginSink>, Vec<String>), PipelineError> {
    let mut sinks = Vec::new();
    let mut health = Vec::new();
    for (i, spec) in pipeline.sinks.iter().enumerate() {
        let at = format!("sinks[{i}].config");
        let inner = host
            .open_sink(
                &spec.plugin,
                &serde_json::Value::Object(spec.config.value().clone()),
            )
            .map_err(|e| e.in_config(&at))?;
        if check {
            let said = inner
                .check()
                .map_err(|e| HostError::from(e.in_config(&at)))?;
            health.push(format!("{}: {said}", spec.plugin));
        }
        sinks.push(PluginSink { inner });
    }
    Ok((sinks, health))
}

/// The reset API of a pipeline's format: 差分履歴連携(リセット有り).
fn reset_api(pipeline: &Pipeline) -> Result<ApiId, PipelineError> {
    if pipeline.profile.sync != SyncMode::Diff {
        return Err(PipelineError::Usage(
            "reset sends a new baseline for diff-history sync; set `profile.sync = \"diff\"` first"
                .into(),
        ));
    }
    Ok(match pipeline.profile.format {
        Format::Csv => ApiId::E11,
        Format::Json => ApiId::E12,
    })
}

/// A pipeline opened and checked for one command: everything known before any row is read.
pub struct Prepared {
    pub profile: Profile,
    pub layout: Layout,
    pub kind: SyncKind,
    pub site: SiteTables,
    pub era: EraTable,
    pub opened: Opened,
    /// The pipeline's mapping compiled against the sources' columns.
    pub mapping: Mapping,
}

/// Opens and checks the pipeline for a run (`reset`: through the reset API), or for `check`.
pub fn prepare(
    pipeline: &Pipeline,
    host: &Host,
    reset: bool,
    with_sinks: bool,
) -> Result<Prepared, PipelineError> {
    let profile = load_profile(pipeline)?;
    let api = if reset {
        reset_api(pipeline)?
    } else {
        pipeline.api()
    };
    let layout = Layout::new(&profile, api)?;
    let kind = match (reset, layout.sync()) {
        (true, _) => SyncKind::Reset,
        (false, SyncMode::Full) => SyncKind::Full,
        (false, _) => SyncKind::Diff,
    };
    let site = pipeline.site_tables()?;
    let era = pipeline.rules.era_table();
    let opened = open(pipeline, host, with_sinks)?;
    let open_end = profile
        .field(pmhlink_model::FieldId::ValidTo)
        .and_then(|f| f.open_end.as_deref());
    let mapping = compile(pipeline, &opened.columns, open_end)?;
    Ok(Prepared {
        profile,
        layout,
        kind,
        site,
        era,
        opened,
        mapping,
    })
}

/// The ledger key: the environment variable if set, else the key file. A first run (no ledger,
/// no key file) creates the key file.
pub fn master_key(pipeline: &Pipeline, may_create: bool) -> Result<MasterKey, PipelineError> {
    let var = &pipeline.ledger.key_env;
    if let Ok(hex) = std::env::var(var) {
        return MasterKey::from_hex(&hex)
            .map_err(|_| PipelineError::Key(format!("{var}: expected 64 hexadecimal characters")));
    }
    let Some(file) = pipeline.ledger_key_file() else {
        return Err(PipelineError::Key(format!(
            "no ledger key: set {var} or `ledger.key_file`"
        )));
    };
    if file.exists() {
        return MasterKey::from_file(&file).map_err(|e| PipelineError::Key(e.to_string()));
    }
    if may_create && !pipeline.ledger_path().exists() {
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| PipelineError::Key(format!("{}: {e}", dir.display())))?;
        }
        // A run started at the same moment may create it first: then its key is this one.
        let (key, created) =
            MasterKey::load_or_generate(&file).map_err(|e| PipelineError::Key(e.to_string()))?;
        if created {
            // Not eprintln!: a closed stderr must not turn a first run into a panic.
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "pmhlink: created a new ledger key in {} — back it up, apart from the ledger's backups",
                file.display()
            );
        }
        return Ok(key);
    }
    Err(PipelineError::Key(format!(
        "ledger key file {} not found (and {var} is not set)",
        file.display()
    )))
}

/// Opens the pipeline's ledger: created by the first run; only read, if it exists, by a dry
/// run (which has none to read before the first run).
pub fn open_ledger(
    pipeline: &Pipeline,
    mode: Mode,
    wait: std::time::Duration,
) -> Result<Option<Ledger>, PipelineError> {
    let path = pipeline.ledger_path();
    if mode == Mode::DryRun && !path.exists() {
        return Ok(None);
    }
    let key = master_key(pipeline, mode == Mode::Run)?;
    let access = match mode {
        Mode::Run => Access::CreateOrOpen,
        Mode::DryRun => Access::Existing,
    };
    let opened = Ledger::open_waiting(&path, &key, access, wait);
    bound(pipeline, opened, mode == Mode::Run).map(Some)
}

/// The ledger of a pipeline that has run before (`status`, `results`).
pub fn existing_ledger(pipeline: &Pipeline) -> Result<Ledger, PipelineError> {
    let key = master_key(pipeline, false)?;
    let opened = Ledger::open(&pipeline.ledger_path(), &key, Access::Existing);
    bound(pipeline, opened, false)
}

/// A ledger opened for `pipeline`, refused when it belongs to another pipeline (and bound to
/// this one by a run, when it is not bound yet).
fn bound(
    pipeline: &Pipeline,
    opened: pmhlink_ledger::Result<Ledger>,
    record: bool,
) -> Result<Ledger, PipelineError> {
    let mut ledger = opened.map_err(PipelineError::Ledger)?;
    ledger
        .bind(&pipeline.identity(), record)
        .map_err(PipelineError::Ledger)?;
    Ok(ledger)
}
