//! Reading a pipeline: the file and the files it `extends`, merged (`layers.rs`), then
//! `PMHLINK_` overrides (figment), then `${VAR}` secrets, then the semantic checks. Problems
//! of every stage are collected and reported together.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use figment::error::{Actual, Kind};
use figment::value::{Dict, Map};
use figment::{Figment, Metadata, Profile, Provider};

use crate::env::{self, Env, PREFIX};
use crate::error::{ConfigError, KeyPath, Problem, list};
use crate::layers::{self, LayerFile};
use crate::model::Pipeline;
use crate::validate::did_you_mean;
use crate::{schema_doc, schema_walk, validate};

/// The syntax of a pipeline file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    Toml,
    Yaml,
}

impl FileFormat {
    /// By extension: `.toml`, `.yaml`, `.yml` (any case).
    pub fn from_path(path: &Path) -> Option<FileFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "toml" => Some(FileFormat::Toml),
            "yaml" | "yml" => Some(FileFormat::Yaml),
            _ => None,
        }
    }
}

impl Pipeline {
    /// Loads and checks the pipeline file at `path`, with the process environment's
    /// `PMHLINK_…__…` overrides and `${VAR}` values.
    pub fn load(path: impl AsRef<Path>) -> Result<Pipeline, ConfigError> {
        Pipeline::load_with_env(path, &Env::process())
    }

    /// [`Pipeline::load`] in the environment `env`.
    pub fn load_with_env(path: impl AsRef<Path>, env: &Env) -> Result<Pipeline, ConfigError> {
        let path = path.as_ref();
        let format = FileFormat::from_path(path).ok_or_else(|| ConfigError::Extension {
            path: path.to_owned(),
        })?;
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Pipeline::from_str_with_env(&text, format, path, env)
    }

    /// Parses and checks pipeline text as if read from `origin` (which names it in errors and
    /// gives [`Pipeline::base_dir`]), with the process environment.
    pub fn from_str(
        text: &str,
        format: FileFormat,
        origin: impl AsRef<Path>,
    ) -> Result<Pipeline, ConfigError> {
        Pipeline::from_str_with_env(text, format, origin, &Env::process())
    }

    /// [`Pipeline::from_str`] in the environment `env`. A file that `extends` another reads
    /// its chain from disk, each parent relative to the file that names it.
    pub fn from_str_with_env(
        text: &str,
        format: FileFormat,
        origin: impl AsRef<Path>,
        env: &Env,
    ) -> Result<Pipeline, ConfigError> {
        let origin = origin.as_ref();
        let schema = schema_doc::schema();
        let (overrides, mut problems) = env::overrides(env, schema);
        let override_paths: Vec<(String, KeyPath)> = overrides
            .iter()
            .map(|o| (o.var.clone(), schema_walk::key_path(schema, &o.keys)))
            .collect();

        let merged = match layers::read_and_merge(text, format, origin) {
            Ok(m) => m,
            Err(found) => {
                problems.extend(found);
                return Err(ConfigError::Invalid(problems));
            }
        };
        let origins = Origins {
            files: merged.files,
            written: merged.written,
            overrides: override_paths,
        };
        let mut figment = Figment::from(Document(merged.document));
        for o in overrides {
            figment = figment.merge(o);
        }
        let mut pipeline: Pipeline = match figment.extract() {
            Ok(p) => p,
            Err(errors) => {
                problems.extend(
                    errors
                        .into_iter()
                        .map(|e| from_figment(e, &origins, schema)),
                );
                return Err(ConfigError::Invalid(problems));
            }
        };
        pipeline.base_dir = base_dir(origin);
        pipeline.name = origin
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();

        let secret_problems = secrets(&mut pipeline, env, &origins.overrides);
        pipeline.origins = origins;
        let found = secret_problems
            .into_iter()
            .chain(validate::validate(&pipeline));
        problems.extend(found.map(|(path, message)| pipeline.origins.problem(path, message)));
        if problems.is_empty() {
            Ok(pipeline)
        } else {
            Err(ConfigError::Invalid(problems))
        }
    }
}

/// The merged document of a chain as one figment provider: figment reads it as it read a
/// single file, and the overrides merge over it.
struct Document(Dict);

impl Provider for Document {
    /// Not a variable's name: problems about its values are named by [`Origins::of`].
    fn metadata(&self) -> Metadata {
        Metadata::named("pipeline files")
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Map::from([(Profile::Default, self.0.clone())]))
    }
}

/// Where the values of a loaded pipeline came from: the files of its chain, key path by key
/// path, and the `PMHLINK_` variables that override keys. Problems found after loading
/// (against the profile) name their origin too.
#[derive(Clone, Debug, Default)]
pub(crate) struct Origins {
    /// The chain, the municipality's file first.
    files: Vec<LayerFile>,
    /// The file (an index into `files`) that wrote each node of the merged document.
    written: BTreeMap<KeyPath, usize>,
    /// Each override variable with the key path it sets.
    overrides: Vec<(String, KeyPath)>,
}

/// Two pipelines that say the same are equal wherever their values were written (a TOML file
/// and its YAML twin, a key in the file or in a variable, a layered file and its flattened
/// twin).
impl PartialEq for Origins {
    fn eq(&self, _: &Origins) -> bool {
        true
    }
}

/// Where one value of a loaded pipeline came from, as `pmhlink config` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValueOrigin {
    /// A file of the chain, named relative to the municipality file's folder.
    File(String),
    /// A `PMHLINK_…__…` variable.
    Environment(String),
    /// Written nowhere: the default.
    Default,
}

impl std::fmt::Display for ValueOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ValueOrigin::File(file) => write!(f, "from {file}"),
            ValueOrigin::Environment(var) => write!(f, "from environment variable {var}"),
            ValueOrigin::Default => f.write_str("default"),
        }
    }
}

impl Origins {
    /// The municipality's file, as problems name it.
    fn file(&self) -> &str {
        self.files.first().map_or("", |f| f.name.as_str())
    }

    fn variable(&self, path: &KeyPath) -> Option<&str> {
        self.overrides
            .iter()
            .find(|(_, p)| path.starts_with(p))
            .map(|(var, _)| var.as_str())
    }

    /// The variable that set `path` (or a table holding it), else the file that wrote it (or
    /// the nearest table holding it: a missing key is missing from the table's file), as
    /// problems name them.
    pub(crate) fn of(&self, path: &KeyPath) -> String {
        if let Some(var) = self.variable(path) {
            return format!("environment variable {var}");
        }
        let mut at = path.clone();
        loop {
            if let Some(&i) = self.written.get(&at) {
                return self.files[i].name.clone();
            }
            if at.is_root() {
                return self.file().to_owned();
            }
            at = at.parent();
        }
    }

    /// Where the value at exactly `path` came from, for display.
    pub(crate) fn value_origin(&self, path: &KeyPath) -> ValueOrigin {
        if let Some(var) = self.variable(path) {
            return ValueOrigin::Environment(var.to_owned());
        }
        match self.written.get(path) {
            Some(&i) => ValueOrigin::File(self.files[i].shown.clone()),
            None => ValueOrigin::Default,
        }
    }

    /// The chain's files relative to the municipality file's folder, the municipality's first.
    pub(crate) fn layers(&self) -> impl Iterator<Item = &str> {
        self.files.iter().map(|f| f.shown.as_str())
    }

    /// A problem about `path`, named by where its value came from.
    pub(crate) fn problem(&self, path: KeyPath, message: String) -> Problem {
        Problem {
            origin: self.of(&path),
            path,
            message,
        }
    }
}

fn base_dir(origin: &Path) -> PathBuf {
    match origin.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// Substitutes `${VAR}` in every plugin config, and marks the config values set by override
/// variables as secrets too: a value important enough to keep out of the file is shown as
/// `***`.
fn secrets(
    p: &mut Pipeline,
    env: &Env,
    override_paths: &[(String, KeyPath)],
) -> Vec<(KeyPath, String)> {
    let mut problems = Vec::new();
    for (name, source) in p.sources.iter_mut() {
        let at = KeyPath::root()
            .key("sources")
            .key(name.clone())
            .key("config");
        problems.extend(source.config.substitute(env, &at));
        for (_, path) in override_paths {
            if let Some(rel) = strip(path, &at) {
                source.config.mark_secret(rel);
            }
        }
    }
    for (i, sink) in p.sinks.iter_mut().enumerate() {
        let at = KeyPath::root().key("sinks").index(i).key("config");
        problems.extend(sink.config.substitute(env, &at));
    }
    problems
}

fn strip(path: &KeyPath, prefix: &KeyPath) -> Option<KeyPath> {
    (path.starts_with(prefix) && path.segments().len() > prefix.segments().len()).then(|| {
        path.segments()[prefix.segments().len()..]
            .iter()
            .cloned()
            .collect()
    })
}

/// What was found, without the value: a value in the wrong place may be a secret.
fn found(actual: &Actual) -> &'static str {
    match actual {
        Actual::Bool(_) => "a boolean",
        Actual::Unsigned(_) | Actual::Signed(_) => "an integer",
        Actual::Float(_) => "a number",
        Actual::Char(_) | Actual::Str(_) => "a string",
        Actual::Bytes(_) => "bytes",
        Actual::Unit | Actual::Option => "nothing",
        Actual::Seq => "an array",
        Actual::Map => "a table",
        _ => "something else",
    }
}

/// serde's names for what it expected, in the file's words (`struct Join` → a table).
fn in_file_words(expected: &str) -> String {
    if expected.starts_with("struct ") || expected == "a map" {
        "a table".into()
    } else if expected == "a sequence" {
        "an array".into()
    } else if expected == "f64" || expected == "f32" {
        "a number".into()
    } else {
        expected.into()
    }
}

/// What to say about an unknown key that is a known mistake rather than a slip, in place of
/// "did you mean".
fn known_mistake(parent: &KeyPath, key: &str) -> Option<&'static str> {
    let ledger = KeyPath::root().key("ledger");
    (*parent == ledger && key == "key").then_some(
        "; the ledger's key is never written in the pipeline file: put it in the key file \
         (`ledger.key_file`) or in the environment variable named by `ledger.key_env` \
         (`PMHLINK_LEDGER_KEY` by default)",
    )
}

fn from_figment(e: figment::Error, origins: &Origins, schema: &serde_json::Value) -> Problem {
    let path = schema_walk::key_path(schema, &e.path);
    let origin = match &e.metadata {
        Some(m) if m.name.starts_with(PREFIX) => format!("environment variable {}", m.name),
        _ => origins.of(&path),
    };
    let at = if path.is_root() {
        "top level".to_owned()
    } else {
        format!("`{path}`")
    };
    let message = match &e.kind {
        Kind::UnknownField(key, expected) => {
            let parent = path.parent();
            // `extends` is taken out of each file before serde sees it, but it is a key of the
            // top level all the same.
            let mut expected = expected.to_vec();
            if parent.is_root() {
                expected.push(layers::EXTENDS);
            }
            let hint = known_mistake(&parent, key)
                .map(str::to_owned)
                .or_else(|| {
                    did_you_mean(key, expected.iter().copied())
                        .map(|c| format!("; did you mean `{c}`?"))
                })
                .unwrap_or_default();
            let place = if parent.is_root() {
                "at top level".to_owned()
            } else {
                format!("in `{parent}`")
            };
            format!(
                "unknown key `{key}` {place}; expected one of {}{hint}",
                list(expected.iter().copied())
            )
        }
        Kind::UnknownVariant(value, expected) => {
            let hint = did_you_mean(value, expected.iter().copied())
                .map(|c| format!("; did you mean `{c}`?"))
                .unwrap_or_default();
            format!(
                "{at}: unknown value `{value}`; expected one of {}{hint}",
                list(expected.iter().copied())
            )
        }
        Kind::InvalidType(actual, expected) | Kind::InvalidValue(actual, expected) => {
            let quote = matches!(
                actual,
                Actual::Unsigned(_) | Actual::Signed(_) | Actual::Float(_)
            ) && expected.contains("string");
            let hint = if quote {
                " (write it in quotes: leading zeros matter)"
            } else {
                ""
            };
            format!(
                "{at}: expected {}, found {}{hint}",
                in_file_words(expected),
                found(actual)
            )
        }
        Kind::InvalidLength(n, expected) => format!("{at}: {n} items, expected {expected}"),
        Kind::MissingField(key) => {
            let place = if path.is_root() {
                "at top level".to_owned()
            } else {
                format!("in `{path}`")
            };
            format!("missing key `{key}` {place}")
        }
        Kind::DuplicateField(key) => format!("{at}: key `{key}` is given twice"),
        Kind::Message(m) if path.is_root() => m.clone(),
        Kind::Message(m) => format!("{at}: {m}"),
        Kind::Unsupported(actual) | Kind::UnsupportedKey(actual, _) => {
            format!("{at}: {} is not supported here", found(actual))
        }
        other => format!("{at}: {other}"),
    };
    Problem {
        origin,
        path,
        message,
    }
}
