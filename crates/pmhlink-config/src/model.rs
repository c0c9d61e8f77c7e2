//! The pipeline file's sections, as serde reads them. Doc comments here are the schema's
//! descriptions and so the reference page's text: they are written for the operator.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pmhlink_profile::{ApiId, Format, SyncMode};
use pmhlink_rules::Severity;
use pmhlink_rules::codes::LocalProgram;
use pmhlink_rules::era::{DateMode, EraTable};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

use crate::fields::FieldMappings;
use crate::foreign;
use crate::mapping::ColumnRef;
use crate::secrets::PluginConfig;

/// パイプライン定義: one municipality's daily link from its vendor exports to PMH.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "pmhlink pipeline file")]
pub struct Pipeline {
    /// The sending municipality (送信元の地方公共団体).
    pub municipality: Municipality,
    /// Which interface profile to speak, and which registration API (sync mode × format).
    #[serde(default)]
    pub profile: ProfileSettings,
    /// How strictly the domain rules judge this municipality's data, and its site tables.
    #[serde(default)]
    pub rules: Rules,
    /// Where plugins are found besides the built-in locations.
    #[serde(default)]
    pub plugins: Plugins,
    /// The subsidy programmes (医療費助成制度) this pipeline sends, one entry per vendor
    /// programme code.
    pub programs: Vec<Program>,
    /// Which column of the primary source says which programme a row belongs to.
    pub program: ProgramSelector,
    /// The vendor exports read by source plugins, by a name of your choice (used in column
    /// references as `<name>.<column>`).
    pub sources: BTreeMap<String, Source>,
    /// Secondary sources joined to each primary row, in order.
    #[serde(default)]
    pub joins: Vec<Join>,
    /// How each PMH field is filled, keyed by the field's name.
    pub mapping: FieldMappings,
    /// Where payloads go (sink plugins), in order.
    #[serde(default)]
    pub sinks: Vec<Sink>,
    /// How large one payload (a file of the drop folder, one API request) may be. Each limit
    /// is at most the interface profile's own (its `[limits]`; the built-in profile's are
    /// assumed until the agency publishes them, and `pmhlink profile` prints them); a larger
    /// value, or zero, is refused by `pmhlink check`, `run` and `lint --pipeline`, naming the
    /// key and the limit. `pmhlink profile --pipeline FILE` shows the limits in force.
    /// Changing them while a run's delivery is interrupted part way stops its resume (the
    /// batches already delivered would be cut differently): change them back to finish it.
    #[serde(default)]
    pub batch: Batch,
    /// Where run reports are written.
    #[serde(default)]
    pub report: Report,
    /// The pipeline's ledger and the key that encrypts it.
    #[serde(default)]
    pub ledger: Ledger,
    /// Safety limits checked before anything is sent.
    #[serde(default)]
    pub guard: Guard,

    /// The pipeline file's directory: relative paths in the file are relative to it.
    #[serde(skip)]
    #[schemars(skip)]
    pub(crate) base_dir: PathBuf,
    /// The pipeline file's name without its extension (`pipeline` for `pipeline.toml`).
    #[serde(skip)]
    #[schemars(skip)]
    pub(crate) name: String,
    /// Where each value came from (the file, or the variable overriding it), for problems
    /// found after loading.
    #[serde(skip)]
    #[schemars(skip)]
    pub(crate) origins: crate::load::Origins,
}

/// The sending municipality.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Municipality {
    /// 団体コード: six digits, the prefecture first (`"139998"`). Write it quoted: leading
    /// zeros are significant.
    pub code: String,
    /// 団体名, for reports (`"さくら野市"`).
    pub name: String,
}

/// The interface profile and the registration API it selects.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileSettings {
    /// A profile file of your own (keys, limits, paths of the PMH interface); absent = the
    /// built-in profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// How records are synchronised; with `format` it selects the registration API.
    #[serde(default = "default_sync", deserialize_with = "deserialize_sync")]
    #[schemars(with = "foreign::SyncDoc")]
    pub sync: SyncMode,
    /// Payload format.
    #[serde(default = "default_format")]
    #[schemars(with = "foreign::FormatDoc")]
    pub format: Format,
}

fn default_sync() -> SyncMode {
    SyncMode::Diff
}

fn default_format() -> Format {
    Format::Json
}

/// Only the two modes a pipeline can run; `reset` is an operator's one-off, not a setting.
fn deserialize_sync<'de, D: Deserializer<'de>>(d: D) -> Result<SyncMode, D::Error> {
    Ok(match foreign::SyncDoc::deserialize(d)? {
        foreign::SyncDoc::Full => SyncMode::Full,
        foreign::SyncDoc::Diff => SyncMode::Diff,
    })
}

impl Default for ProfileSettings {
    fn default() -> Self {
        ProfileSettings {
            path: None,
            sync: default_sync(),
            format: default_format(),
        }
    }
}

impl ProfileSettings {
    /// The registration API: full+csv = E01, full+json = E02, diff+csv = E05, diff+json = E06.
    pub fn api(&self) -> ApiId {
        match (self.sync, self.format) {
            (SyncMode::Full, Format::Csv) => ApiId::E01,
            (SyncMode::Full, Format::Json) => ApiId::E02,
            // The deserializer admits no `reset`; were one constructed in code, it registers
            // through the diff APIs, as 差分履歴連携(リセット有り) does.
            (SyncMode::Diff | SyncMode::Reset, Format::Csv) => ApiId::E05,
            (SyncMode::Diff | SyncMode::Reset, Format::Json) => ApiId::E06,
        }
    }
}

/// Rule settings a site may change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    /// What a date written in an era that had already ended (`H320331`, printed before 令和
    /// was named) does.
    #[serde(default = "default_date_mode")]
    #[schemars(with = "foreign::DateModeDoc")]
    pub date_mode: DateMode,
    /// How the sources write era codes, when they differ from M/T/S/H/R and 1–5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<foreign::EraTableDoc>")]
    pub era: Option<EraTable>,
    /// What a local (地単) programme's 受給者番号 failing the 7-digit rule does.
    #[serde(default)]
    pub local_recipient: LocalRecipient,
    /// A site-tables TOML file (`local_programs`, `gaiji`), merged with the inline entries
    /// below.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<PathBuf>,
    /// Local (地単) programmes this site registers, in addition to those of `site`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Vec<foreign::LocalProgramDoc>")]
    pub local_programs: Vec<LocalProgram>,
    /// 外字 map: a private-use character (as a one-character string) → its replacement, in
    /// addition to those of `site`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub gaiji: BTreeMap<String, String>,
    /// What a validity end meaning "no end" (`validTo`) becomes.
    #[serde(default)]
    pub open_end: OpenEnd,
}

/// Open-ended validity. Vendors write "no end" as era year 99 (`H991231`, `R99.12.31`,
/// `平成99年12月31日`, `4991231`) or year 9999 (`99991231`, `9999-12-31`, `9999/12/31`), and
/// some leave the cell empty. In the `valid_to` mapping such a value is sent as one date, and
/// counted as the `open_end` normalisation, instead of being read as a date (`H991231` would
/// be 2087-12-31 with an `era-overflow` warning).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenEnd {
    /// The date sent for "no end", as `YYYY-MM-DD`. Absent = the form the interface profile
    /// documents (`open_end` of its `valid_to` field: `9999-12-31` in the built-in profile);
    /// when neither gives one, such values are read as ordinary dates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_as: Option<String>,
    /// `true`: an empty validity end means "no end" too. `false` (the default): an empty
    /// validity end is a missing value, and the record is quarantined (`required-missing`) —
    /// a certificate sent as valid for ever by mistake is the worse error.
    #[serde(default)]
    pub empty: bool,
}

fn default_date_mode() -> DateMode {
    DateMode::Lenient
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            date_mode: default_date_mode(),
            era: None,
            local_recipient: LocalRecipient::default(),
            site: None,
            local_programs: Vec::new(),
            gaiji: BTreeMap::new(),
            open_end: OpenEnd::default(),
        }
    }
}

impl Rules {
    /// The rule severities this pipeline sets; the rest keep their defaults.
    pub fn policy(&self) -> pmhlink_rules::Policy {
        pmhlink_rules::Policy {
            local_recipient: self.local_recipient.severity(),
            ..pmhlink_rules::Policy::default()
        }
    }

    /// The era table in force: the pipeline's own, or the default one.
    pub fn era_table(&self) -> EraTable {
        self.era.clone().unwrap_or_default()
    }
}

/// The severity of the local 受給者番号 check.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LocalRecipient {
    /// The record is quarantined.
    Error,
    /// The record is sent and the finding reported.
    #[default]
    Warning,
    /// Not checked.
    Off,
}

impl LocalRecipient {
    pub fn severity(self) -> Option<Severity> {
        match self {
            LocalRecipient::Error => Some(Severity::Error),
            LocalRecipient::Warning => Some(Severity::Warning),
            LocalRecipient::Off => None,
        }
    }
}

/// Plugin search settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Plugins {
    /// Extra directories searched for plugin libraries, before the built-in ones.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dirs: Vec<PathBuf>,
}

/// One subsidy programme as the vendor system codes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Program {
    /// The vendor's programme code, exactly as it appears in the programme column (`"010"`).
    pub code: String,
    /// PMH's 医療費助成種別 ID for it: ASCII letters and digits, at most 50 (`"M13KODOMO"`).
    pub type_id: String,
    /// 受給者証名 as printed on the certificate (`"子ども医療費受給者証"`).
    pub certification_name: String,
    /// 公費負担者番号 (8 digits) when it is the same for every certificate of the programme.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insurer_number: Option<String>,
    /// Whether the programme manages sex; `false` sends sex `0` whatever the source says.
    #[serde(default = "yes")]
    pub manages_sex: bool,
}

fn yes() -> bool {
    true
}

/// The programme selector.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgramSelector {
    /// A column of the primary source, as `<source>.<column>`, whose value is a programme
    /// `code`. A row whose code no programme has, and that `ignore` does not list, is
    /// quarantined (`unknown-program`).
    pub column: ColumnRef,
    /// Programme codes this municipality does not send (programmes not on PMH), exactly as
    /// they appear in the column. Their rows are counted as `ignored` in the run report and
    /// are never sent, quarantined or taken as deletions: they do not hold back the day's
    /// deletions, and what PMH holds for the same 公費受給者番号 + サブキー is kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<String>,
}

/// One vendor export, read by a source plugin.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// The source plugin's name (`csv`, `fixed-width`, …).
    pub plugin: String,
    /// The primary source gives one record (one history row) per row; exactly one source is
    /// primary.
    #[serde(default)]
    pub primary: bool,
    /// The plugin's own settings, passed to it verbatim. String values may contain
    /// `${VARIABLE}`, replaced from the environment at load and shown as `***`.
    #[serde(default)]
    pub config: PluginConfig,
}

/// One secondary source joined to the primary row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Join {
    /// The source joined (a key of `sources`, not the primary one).
    pub source: String,
    /// The key on the left: `<source>.<column>` of the primary source or of a source joined
    /// earlier.
    pub left: ColumnRef,
    /// The key column of `source` (a bare column name).
    pub right: String,
    /// `true`: a row without a match is quarantined. `false`: a missing match leaves that
    /// source's cells empty (and `exists` false).
    #[serde(default = "yes")]
    pub required: bool,
    /// A column of `source` holding the first day a row holds (e.g. the 支援措置 list's
    /// `開始日`, ISO or era dates). Rows not yet in force on the business date are not joined;
    /// an empty cell is an open start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<String>,
    /// A column of `source` holding the last day a row holds (`終了日`). Rows that ended before
    /// the business date are not joined; an empty cell is an open end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<String>,
    /// What a row of `source` that cannot be read does when its key cannot be read either (a
    /// short or split line, a key cell that does not decode). A row whose key can be read
    /// always quarantines the records with that key (`join-row-unreadable`): it may have said
    /// something they must carry, such as a 支援措置's 不開示フラグ. Only an optional join
    /// (`required = false`) asks: a required join quarantines a record that finds no row.
    #[serde(default)]
    pub on_unreadable_key: OnUnreadableKey,
}

/// What a joined source's unreadable row with an unreadable key does to the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnUnreadableKey {
    /// The run stops before anything is planned or sent (exit 4), naming the source and lines.
    #[default]
    Stop,
    /// Every record that found no row in the source is quarantined (`join-row-unreadable`):
    /// any of them may be the one the row names. Records that found their row are sent.
    Withhold,
}

/// One destination for payloads.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Sink {
    /// The sink plugin's name (`file`, …).
    pub plugin: String,
    /// The plugin's own settings, passed to it verbatim. String values may contain
    /// `${VARIABLE}`, replaced from the environment at load and shown as `***`.
    #[serde(default)]
    pub config: PluginConfig,
}

/// Batch size: how many records, and how many bytes, one payload may hold, within the
/// interface profile's limits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    /// Records per payload, from 1 to the profile's `limits.max_records`. Absent = that
    /// limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_records: Option<usize>,
    /// Bytes per payload (the whole body: the JSON brackets or the CSV header included), from
    /// 1 to the profile's `limits.max_bytes`. Absent = that limit. A single record larger
    /// than this stops the delivery: leave room for the largest certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<usize>,
}

/// Run reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// Directory the run reports are written to.
    #[serde(default = "default_report_dir")]
    pub dir: PathBuf,
    /// A column of the primary source, as `<source>.<column>`, that names a row the way staff
    /// find it in the vendor system (宛名番号, the vendor's certificate number): the quarantine
    /// list shows its value beside the line number, which changes every day. No other value
    /// of the row is shown. Absent = line numbers only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quarantine_key: Option<ColumnRef>,
}

fn default_report_dir() -> PathBuf {
    PathBuf::from("reports")
}

impl Default for Report {
    fn default() -> Self {
        Report {
            dir: default_report_dir(),
            quarantine_key: None,
        }
    }
}

/// The ledger: pmhlink's record of this pipeline's link with PMH.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ledger {
    /// The ledger file: what PMH holds, the submissions in flight, the runs journal and the
    /// quarantine. One file per pipeline, never shared between pipelines; a relative path is
    /// taken from the pipeline file's folder.
    #[serde(default = "default_ledger_path")]
    pub path: PathBuf,
    /// The file holding the key that encrypts the ledger's content at rest: 64 hexadecimal
    /// characters. pmhlink creates it (mode 0600) on the first run when neither it nor the
    /// ledger exists. Back it up apart from the ledger, never in the ledger's backups: a
    /// backup with its key is not protected, and without the key the ledger cannot be read.
    /// `null` (YAML) = no key file: the key must come from `key_env`.
    #[serde(default = "default_ledger_key_file")]
    pub key_file: Option<PathBuf>,
    /// An environment variable that, when set, holds the key instead of `key_file` (it takes
    /// precedence). The key itself is never written in the pipeline file.
    #[serde(default = "default_ledger_key_env")]
    pub key_env: String,
}

fn default_ledger_path() -> PathBuf {
    PathBuf::from("state/ledger.sqlite")
}

fn default_ledger_key_file() -> Option<PathBuf> {
    Some(PathBuf::from("state/ledger.key"))
}

fn default_ledger_key_env() -> String {
    "PMHLINK_LEDGER_KEY".to_owned()
}

impl Default for Ledger {
    fn default() -> Self {
        Ledger {
            path: default_ledger_path(),
            key_file: default_ledger_key_file(),
            key_env: default_ledger_key_env(),
        }
    }
}

/// Safety limits: a run that would break one stops before sending anything.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Guard {
    /// The mass-change guard: the largest share (0.0–1.0) of the rows PMH holds that one run
    /// may delete (or, in full sync, drop by leaving them out). A run that would remove more
    /// stops before sending anything, unless confirmed with `--confirm-deletions N`, N being
    /// the number of rows the stopped run reported.
    #[serde(default = "default_max_deletion_share")]
    pub max_deletion_share: f64,
}

fn default_max_deletion_share() -> f64 {
    0.05
}

impl Default for Guard {
    fn default() -> Self {
        Guard {
            max_deletion_share: default_max_deletion_share(),
        }
    }
}

impl Pipeline {
    /// The pipeline file's directory; relative paths in the file are relative to it.
    pub fn base_dir(&self) -> &Path {
        &self.base_dir
    }

    /// The pipeline file's name without its extension (`pipeline` for `pipeline.toml`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Which pipeline this is, for its ledger: the municipality code and the pipeline file's
    /// name (`139998/pipeline`). Moving the folder keeps it; another file or town differs.
    pub fn identity(&self) -> String {
        format!("{}/{}", self.municipality.code, self.name)
    }

    /// `path` as the runner should open it: relative paths are taken from [`Self::base_dir`].
    pub fn resolve(&self, path: &Path) -> PathBuf {
        self.base_dir.join(path)
    }

    /// The primary source's name. Validation guarantees there is exactly one.
    pub fn primary_source(&self) -> &str {
        self.sources
            .iter()
            .find(|(_, s)| s.primary)
            .map(|(name, _)| name.as_str())
            .expect("a validated pipeline has a primary source")
    }

    /// The ledger file as the runner should open it ([`Ledger::path`] resolved against
    /// [`Self::base_dir`]).
    pub fn ledger_path(&self) -> PathBuf {
        self.resolve(&self.ledger.path)
    }

    /// The ledger's key file as the runner should open it, if the pipeline has one
    /// ([`Ledger::key_file`] resolved against [`Self::base_dir`]).
    pub fn ledger_key_file(&self) -> Option<PathBuf> {
        self.ledger.key_file.as_deref().map(|p| self.resolve(p))
    }

    /// The registration API this pipeline sends through.
    pub fn api(&self) -> ApiId {
        self.profile.api()
    }

    /// The programme with vendor code `code`.
    pub fn program_by_code(&self, code: &str) -> Option<&Program> {
        self.programs.iter().find(|p| p.code == code)
    }
}
