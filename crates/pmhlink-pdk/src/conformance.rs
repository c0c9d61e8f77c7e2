//! The conformance kit: run it from your plugin's own integration tests, against the cdylib
//! cargo built, to check the rules the host relies on. Enable the `conformance` feature in
//! your dev-dependencies:
//!
//! ```toml
//! [dev-dependencies]
//! pmhlink-pdk = { version = "…", features = ["conformance"] }
//! ```
//!
//! ```no_run
//! use pmhlink_pdk::conformance::{SourceKit, built_cdylib};
//! use serde_json::json;
//!
//! #[test]
//! fn conforms() {
//!     SourceKit::new(built_cdylib(env!("CARGO_PKG_NAME")))
//!         .good_config(json!({"path": "tests/fixtures/two.tsv"}))
//!         .bad_config(json!({"path": 7}), "`path`")
//!         .fixture(
//!             json!({"path": "tests/fixtures/two.tsv"}),
//!             ["id", "name"],
//!             [["1", "テスト"], ["2", "ダミー"]],
//!         )
//!         .run();
//! }
//! ```
//!
//! The library is loaded by the real host code (`pmhlink-plugin-host`), through the same
//! checks `pmhlink` applies, so a plugin that passes here loads there. [`SourceKit::run`]
//! prints the checklist when every check passed and panics with it when one failed;
//! [`SourceKit::evaluate`] returns the [`Report`]. Rows with expected row errors are checked
//! with [`SourceKit::fixture_with_errors`].
//!
//! Fixtures and configs are printed in failure messages (cells as written, kana unescaped):
//! use synthetic data only.

use std::{
    env::consts::{DLL_PREFIX, DLL_SUFFIX},
    fmt,
    path::{Path, PathBuf},
};

use pmhlink_plugin_host::{
    API_LEVEL, FailureKind, Host, HostError, HostSink, HostSource, PayloadOut, PluginFailure,
    PluginInfo, PluginKind,
};
use serde_json::Value;

/// The cdylib cargo built for the package running this test: `package` is the package (or
/// `[lib] name`), e.g. `env!("CARGO_PKG_NAME")`. Cargo builds it into `target/<profile>/deps/`
/// (and copies it to `target/<profile>/`) before running the package's integration tests.
///
/// # Panics
/// If no such library is next to the test executable: check that `crate-type` includes
/// `"cdylib"`.
pub fn built_cdylib(package: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    let deps = exe.parent().expect("the test executable's directory");
    let name = format!("{DLL_PREFIX}{}{DLL_SUFFIX}", package.replace('-', "_"));
    [Some(deps), deps.parent()]
        .into_iter()
        .flatten()
        .map(|dir| dir.join(&name))
        .find(|path| path.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{name} is not built next to {}; does the package's [lib] crate-type include \
                 \"cdylib\"?",
                exe.display()
            )
        })
}

/// How one check went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Failed(String),
    /// Not run, and why (e.g. nothing to inspect a sink's output with).
    Skipped(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: String,
    pub outcome: Outcome,
}

/// The checks a kit ran, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub library: PathBuf,
    /// The spec name, once the library loaded.
    pub plugin: Option<String>,
    pub checks: Vec<Check>,
}

impl Report {
    fn new(library: &Path) -> Self {
        Self {
            library: library.to_owned(),
            plugin: None,
            checks: Vec::new(),
        }
    }

    fn record(&mut self, name: impl Into<String>, result: Result<(), String>) -> bool {
        let passed = result.is_ok();
        self.checks.push(Check {
            name: name.into(),
            outcome: match result {
                Ok(()) => Outcome::Passed,
                Err(why) => Outcome::Failed(why),
            },
        });
        passed
    }

    fn skip(&mut self, name: impl Into<String>, why: impl Into<String>) {
        self.checks.push(Check {
            name: name.into(),
            outcome: Outcome::Skipped(why.into()),
        });
    }

    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Failed(_)))
    }

    pub fn passed(&self) -> bool {
        self.failures().next().is_none()
    }

    /// # Panics
    /// With the whole report if any check failed.
    #[track_caller]
    pub fn assert_passed(&self) {
        assert!(self.passed(), "{self}");
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plugin = self.plugin.as_deref().unwrap_or("?");
        let failed = self.failures().count();
        write!(
            f,
            "conformance of plugin `{plugin}` ({}): ",
            self.library.display()
        )?;
        if failed == 0 {
            writeln!(f, "all {} checks passed", self.checks.len())?;
        } else {
            writeln!(f, "{failed} of {} checks FAILED", self.checks.len())?;
        }
        for check in &self.checks {
            match &check.outcome {
                Outcome::Passed => writeln!(f, "  ok    {}", check.name)?,
                Outcome::Failed(why) => writeln!(f, "  FAIL  {}: {why}", check.name)?,
                Outcome::Skipped(why) => writeln!(f, "  skip  {}: {why}", check.name)?,
            }
        }
        Ok(())
    }
}

/// A configuration the plugin must refuse, and a substring its error must contain.
struct BadConfig {
    config: Value,
    expected: String,
}

struct Fixture {
    config: Value,
    columns: Vec<String>,
    rows: Vec<Vec<String>>,
    /// (line, text the row error must contain): exactly these rows have errors.
    errors: Vec<(u64, String)>,
}

/// Batch sizes every fixture is read with; all must give the same rows.
const MAX_ROWS: [usize; 3] = [1, 2, 1000];

/// Checks a source plugin. See the [module docs](self).
pub struct SourceKit {
    library: PathBuf,
    good: Vec<Value>,
    bad: Vec<BadConfig>,
    fixtures: Vec<Fixture>,
}

impl SourceKit {
    pub fn new(library: impl Into<PathBuf>) -> Self {
        Self {
            library: library.into(),
            good: Vec::new(),
            bad: Vec::new(),
            fixtures: Vec::new(),
        }
    }

    /// A configuration that must have the schema's required keys, open, pass `check` and
    /// `discover` the same columns twice.
    #[must_use]
    pub fn good_config(mut self, config: Value) -> Self {
        self.good.push(config);
        self
    }

    /// A configuration that `open` or `check` must refuse with a config error whose text
    /// contains `expected_error`, without quoting any string value of `config` that is 4 or
    /// more characters long (so use distinctive values, and don't expect one of them).
    #[must_use]
    pub fn bad_config(mut self, config: Value, expected_error: impl Into<String>) -> Self {
        self.bad.push(BadConfig {
            config,
            expected: expected_error.into(),
        });
        self
    }

    /// A configuration whose data is known: `discover` must give `columns`, and reading with
    /// each of `max_rows` 1, 2 and 1000 must give exactly `rows`, with strictly increasing
    /// line numbers, no row errors, and `None` (again and again) at the end.
    #[must_use]
    pub fn fixture<S: Into<String>, R: IntoIterator<Item = S>>(
        mut self,
        config: Value,
        columns: impl IntoIterator<Item = S>,
        rows: impl IntoIterator<Item = R>,
    ) -> Self {
        self.fixtures.push(Fixture {
            config,
            columns: columns.into_iter().map(Into::into).collect(),
            rows: rows
                .into_iter()
                .map(|row| row.into_iter().map(Into::into).collect())
                .collect(),
            errors: Vec::new(),
        });
        self
    }

    /// A fixture whose file has rows the plugin cannot read: as [`SourceKit::fixture`], but
    /// the rows on the lines of `errors` must carry a row error containing its text (say
    /// `"line 3"`), no other row may have one, and no row error may quote a cell (a value of
    /// 4 or more characters read from the file or given in `rows`). `rows` includes the
    /// flagged rows, with the cells the plugin keeps for them (none for an undecodable line).
    #[must_use]
    pub fn fixture_with_errors<S: Into<String>, R: IntoIterator<Item = S>, E: Into<String>>(
        mut self,
        config: Value,
        columns: impl IntoIterator<Item = S>,
        rows: impl IntoIterator<Item = R>,
        errors: impl IntoIterator<Item = (u64, E)>,
    ) -> Self {
        self = self.fixture(config, columns, rows);
        let fixture = self.fixtures.last_mut().expect("just added");
        fixture.errors = errors
            .into_iter()
            .map(|(line, text)| (line, text.into()))
            .collect();
        self
    }

    /// Runs every check and prints the checklist (shown with `cargo test -- --nocapture`).
    ///
    /// # Panics
    /// With the report, if any check failed.
    #[track_caller]
    pub fn run(self) -> Report {
        let report = self.evaluate();
        report.assert_passed();
        print!("{report}");
        report
    }

    /// Runs every check and returns the report without panicking or printing.
    pub fn evaluate(self) -> Report {
        let mut report = Report::new(&self.library);
        let Some((host, info)) = load(&self.library, PluginKind::Source, &mut report) else {
            return report;
        };
        let name = info.name.as_str();
        let open = |config: &Value| host.open_source(name, config);

        for (i, config) in self.good.iter().enumerate() {
            let label = format!("good config #{}", i + 1);
            report.record(
                format!("{label}: has the schema's required keys"),
                fits_schema(&info.config_schema_json, config),
            );
            let opened = open(config).map_err(|e| e.to_string()).and_then(|source| {
                source.check().map_err(|e| e.to_string())?;
                Ok(source)
            });
            let source = match opened {
                Ok(source) => source,
                Err(why) => {
                    report.record(format!("{label}: opens and passes check"), Err(why));
                    continue;
                }
            };
            report.record(format!("{label}: opens and passes check"), Ok(()));
            report.record(
                format!("{label}: discover is stable"),
                stable_discover(&source),
            );
        }
        if self.good.is_empty() {
            report.skip("good config", "none given (SourceKit::good_config)");
        }

        for (i, bad) in self.bad.iter().enumerate() {
            let refusal = match open(&bad.config) {
                Err(err) => Err(err),
                Ok(source) => source.check().map_err(HostError::Plugin),
            };
            check_refusal(&mut report, i, bad, refusal.err());
        }
        if self.bad.is_empty() {
            report.skip("bad config", "none given (SourceKit::bad_config)");
        }

        for (i, fixture) in self.fixtures.iter().enumerate() {
            let label = format!("fixture #{}", i + 1);
            let columns = open(&fixture.config)
                .map_err(|e| e.to_string())
                .and_then(|source| source.discover().map_err(|e| e.to_string()));
            report.record(
                format!("{label}: columns"),
                columns.and_then(|got| same(&fixture.columns, &got, "columns")),
            );
            for max_rows in MAX_ROWS {
                let read = open(&fixture.config)
                    .map_err(|e| e.to_string())
                    .and_then(|mut source| read_all(&mut source, max_rows));
                let label = format!("{label}: read with max_rows = {max_rows}");
                match read {
                    Err(why) => {
                        report.record(label, Err(why));
                    }
                    Ok(read) => {
                        report.record(
                            format!("{label}: rows"),
                            compare_rows(&fixture.rows, &read.rows),
                        );
                        report.record(
                            format!("{label}: line numbers strictly increase"),
                            increasing(&read.lines),
                        );
                        if fixture.errors.is_empty() {
                            report.record(
                                format!("{label}: no row errors"),
                                match read.row_errors.first() {
                                    None => Ok(()),
                                    Some((line, first)) => Err(format!(
                                        "{} row error(s), the first on line {line}: {first}",
                                        read.row_errors.len()
                                    )),
                                },
                            );
                        } else {
                            report.record(
                                format!("{label}: row errors on the expected lines"),
                                expected_errors(&fixture.errors, &read.row_errors),
                            );
                            report.record(
                                format!("{label}: row errors quote no cell"),
                                quotes_no_cell(fixture, &read),
                            );
                        }
                    }
                }
            }
        }
        if self.fixtures.is_empty() {
            report.skip("fixture", "none given (SourceKit::fixture)");
        }
        report
    }
}

/// Loads the library through the host and checks its spec.
fn load(library: &Path, kind: PluginKind, report: &mut Report) -> Option<(Host, PluginInfo)> {
    let host = match Host::load_file(library) {
        Ok(host) => host,
        Err(problem) => {
            report.record("loads like pmhlink loads it", Err(problem.to_string()));
            return None;
        }
    };
    report.record("loads like pmhlink loads it", Ok(()));
    let info = host.plugins().into_iter().next()?;
    report.plugin = Some(info.name.clone());
    report.record(
        "spec: name is a non-empty word",
        if info.name.is_empty() || info.name.contains(char::is_whitespace) {
            Err(format!("{:?}", info.name))
        } else {
            Ok(())
        },
    );
    report.record(
        "spec: version is semver",
        if is_semver(&info.version) {
            Ok(())
        } else {
            Err(format!(
                "{:?} is not MAJOR.MINOR.PATCH[-pre][+build]",
                info.version
            ))
        },
    );
    report.record(
        format!("spec: API level is {API_LEVEL}"),
        if info.api_level == API_LEVEL {
            Ok(())
        } else {
            Err(format!("{}", info.api_level))
        },
    );
    report.record(
        format!("spec: kind is {kind}"),
        if info.kind == kind {
            Ok(())
        } else {
            Err(format!("{}", info.kind))
        },
    );
    report.record(
        "spec: description is not empty",
        if info.description.trim().is_empty() {
            Err("empty".to_owned())
        } else {
            Ok(())
        },
    );
    report.record(
        "spec: config schema is a JSON Schema with \"type\": \"object\"",
        schema(&info.config_schema_json).map(|_| ()),
    );
    Some((host, info))
}

fn schema(json: &str) -> Result<serde_json::Map<String, Value>, String> {
    let value: Value = serde_json::from_str(json).map_err(|e| format!("not valid JSON: {e}"))?;
    let Value::Object(schema) = value else {
        return Err("not a JSON object".to_owned());
    };
    match schema.get("type") {
        Some(Value::String(t)) if t == "object" => Ok(schema),
        other => Err(format!("\"type\" is {other:?}, not \"object\"")),
    }
}

/// A structural check, not a JSON Schema validator: the config is an object, has every key
/// in `required`, and (with `"additionalProperties": false`) no key outside `properties`.
fn fits_schema(schema_json: &str, config: &Value) -> Result<(), String> {
    let schema = schema(schema_json)?;
    let Value::Object(config) = config else {
        return Err("the config is not a JSON object".to_owned());
    };
    if let Some(Value::Array(required)) = schema.get("required") {
        let missing: Vec<&str> = required
            .iter()
            .filter_map(Value::as_str)
            .filter(|key| !config.contains_key(*key))
            .collect();
        if !missing.is_empty() {
            return Err(format!("missing required key(s) {missing:?}"));
        }
    }
    if schema.get("additionalProperties") == Some(&Value::Bool(false)) {
        let known = schema.get("properties").and_then(Value::as_object);
        let unknown: Vec<&str> = config
            .keys()
            .map(String::as_str)
            .filter(|key| !known.is_some_and(|k| k.contains_key(*key)))
            .collect();
        if !unknown.is_empty() {
            return Err(format!(
                "key(s) {unknown:?} are not in the schema's properties"
            ));
        }
    }
    Ok(())
}

fn stable_discover(source: &HostSource) -> Result<(), String> {
    let first = source.discover().map_err(|e| e.to_string())?;
    let second = source.discover().map_err(|e| e.to_string())?;
    if first == second {
        Ok(())
    } else {
        Err(format!("first call {first:?}, second call {second:?}"))
    }
}

/// Checks that a bad config was refused with a config error that says what was expected and
/// quotes no value.
fn check_refusal(report: &mut Report, i: usize, bad: &BadConfig, refusal: Option<HostError>) {
    let label = format!("bad config #{}", i + 1);
    let Some(err) = refusal else {
        report.record(
            format!("{label}: refused"),
            Err("opened and passed check".to_owned()),
        );
        return;
    };
    let text = err.to_string();
    report.record(
        format!(
            "{label}: refused with a config error mentioning {:?}",
            bad.expected
        ),
        match &err {
            HostError::Plugin(PluginFailure {
                kind: FailureKind::Config,
                ..
            }) if text.contains(&bad.expected) => Ok(()),
            HostError::Plugin(PluginFailure {
                kind: FailureKind::Config,
                ..
            }) => Err(format!("the error does not mention it: {text}")),
            _ => Err(format!("not a config error: {text}")),
        },
    );
    let mut values = Vec::new();
    string_values(&bad.config, &mut values);
    let quoted: Vec<&str> = values
        .into_iter()
        .filter(|v| v.chars().count() >= 4 && text.contains(v))
        .collect();
    report.record(
        format!("{label}: error quotes no config value"),
        if quoted.is_empty() {
            Ok(())
        } else {
            Err(format!("it quotes {quoted:?}: {text}"))
        },
    );
}

fn string_values<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::String(s) => out.push(s),
        Value::Array(items) => items.iter().for_each(|v| string_values(v, out)),
        Value::Object(map) => map.values().for_each(|v| string_values(v, out)),
        _ => {}
    }
}

struct Read {
    rows: Vec<Vec<String>>,
    lines: Vec<u64>,
    /// (line, message)
    row_errors: Vec<(u64, String)>,
}

/// Reads to the end, then asks twice more: the end must stay the end.
fn read_all(source: &mut HostSource, max_rows: usize) -> Result<Read, String> {
    let mut read = Read {
        rows: Vec::new(),
        lines: Vec::new(),
        row_errors: Vec::new(),
    };
    // The host refuses empty and oversized batches (a `Protocol` failure), so a plugin that
    // never ends is bounded by the rows it returns; stop well past what a fixture holds.
    const LIMIT: usize = 1_000_000;
    while let Some(batch) = source.next_batch(max_rows).map_err(|e| e.to_string())? {
        for i in 0..batch.rows() {
            read.rows.push(batch.row(i).map(str::to_owned).collect());
            read.lines.push(batch.line(i));
        }
        read.row_errors.extend(
            batch
                .row_errors()
                .iter()
                .map(|e| (batch.line(e.row as usize), e.message.to_string())),
        );
        if read.rows.len() > LIMIT {
            return Err(format!("more than {LIMIT} rows; does the source ever end?"));
        }
    }
    for _ in 0..2 {
        if source
            .next_batch(max_rows)
            .map_err(|e| e.to_string())?
            .is_some()
        {
            return Err("returned a batch after the end".to_owned());
        }
    }
    Ok(read)
}

/// Every expected line has a row error containing its text, and no other line has one.
fn expected_errors(expected: &[(u64, String)], got: &[(u64, String)]) -> Result<(), String> {
    for (line, text) in expected {
        match got.iter().find(|(l, _)| l == line) {
            None => return Err(format!("no row error on line {line}")),
            Some((_, message)) if !message.contains(text.as_str()) => {
                return Err(format!(
                    "the row error on line {line} does not mention {text:?}: {message}"
                ));
            }
            Some(_) => {}
        }
    }
    match got
        .iter()
        .find(|(l, _)| !expected.iter().any(|(e, _)| e == l))
    {
        None => Ok(()),
        Some((line, message)) => Err(format!("unexpected row error on line {line}: {message}")),
    }
}

/// No row error contains a cell of 4 or more characters, read or expected.
fn quotes_no_cell(fixture: &Fixture, read: &Read) -> Result<(), String> {
    let cells = fixture.rows.iter().chain(&read.rows).flatten();
    for cell in cells.filter(|c| c.trim().chars().count() >= 4) {
        if let Some((line, _)) = read
            .row_errors
            .iter()
            .find(|(_, m)| m.contains(cell.trim()))
        {
            return Err(format!("the row error on line {line} quotes a cell"));
        }
    }
    Ok(())
}

/// Cells as written, in quotes: kana and kanji stay readable (`Debug` would escape combining
/// marks); only quotes, backslashes and control characters are escaped.
fn show(cells: &[String]) -> String {
    let shown: Vec<String> = cells
        .iter()
        .map(|cell| {
            let mut out = String::from("\"");
            for c in cell.chars() {
                match c {
                    '"' | '\\' => {
                        out.push('\\');
                        out.push(c);
                    }
                    c if c.is_control() => out.push_str(&c.escape_unicode().to_string()),
                    c => out.push(c),
                }
            }
            out.push('"');
            out
        })
        .collect();
    format!("[{}]", shown.join(", "))
}

fn same(expected: &[String], got: &[String], what: &str) -> Result<(), String> {
    if expected == got {
        Ok(())
    } else {
        Err(format!(
            "expected {what} {}, got {}",
            show(expected),
            show(got)
        ))
    }
}

fn compare_rows(expected: &[Vec<String>], got: &[Vec<String>]) -> Result<(), String> {
    if let Some(i) = (0..expected.len().min(got.len())).find(|&i| expected[i] != got[i]) {
        let cell = (0..expected[i].len().max(got[i].len()))
            .find(|&c| expected[i].get(c) != got[i].get(c))
            .map_or(0, |c| c + 1);
        return Err(format!(
            "row {} differs (cell {cell}): expected {}, got {}",
            i + 1,
            show(&expected[i]),
            show(&got[i])
        ));
    }
    if expected.len() != got.len() {
        return Err(format!(
            "expected {} rows, got {}",
            expected.len(),
            got.len()
        ));
    }
    Ok(())
}

fn increasing(lines: &[u64]) -> Result<(), String> {
    if let Some(i) = lines.iter().position(|&l| l == 0) {
        return Err(format!("row {} has no line number (0)", i + 1));
    }
    match lines.windows(2).position(|w| w[0] >= w[1]) {
        None => Ok(()),
        Some(i) => Err(format!(
            "row {} is on line {} after line {}",
            i + 2,
            lines[i + 1],
            lines[i]
        )),
    }
}

/// `MAJOR.MINOR.PATCH`, numbers without leading zeros, optional `-pre` and `+build` made of
/// dot-separated non-empty `[0-9A-Za-z-]` identifiers (semver.org, without the rule on
/// leading zeros in numeric pre-release identifiers).
fn is_semver(version: &str) -> bool {
    let (rest, build) = match version.split_once('+') {
        Some((rest, build)) => (rest, Some(build)),
        None => (version, None),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (rest, None),
    };
    let number = |n: &str| {
        !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && (n == "0" || !n.starts_with('0'))
    };
    let identifiers = |s: &str| {
        s.split('.')
            .all(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    };
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| number(p))
        && pre.is_none_or(identifiers)
        && build.is_none_or(identifiers)
}

/// Inspects what a sink left behind for `run_id`; `Err` says what is wrong.
pub type Inspect = Box<dyn Fn(&str) -> Result<(), String>>;

/// Checks a sink plugin: spec, good and bad configs, and one committed and one discarded run
/// whose results the test inspects (the sink decides where its output goes, so the kit asks).
pub struct SinkKit {
    library: PathBuf,
    good: Option<Value>,
    bad: Vec<BadConfig>,
    payload: PayloadOut,
    committed: Option<Inspect>,
    discarded: Option<Inspect>,
}

/// Run ids the kit uses; a sink may use them in paths.
pub const COMMIT_RUN: &str = "conformance-commit";
pub const DISCARD_RUN: &str = "conformance-discard";

impl SinkKit {
    pub fn new(library: impl Into<PathBuf>) -> Self {
        Self {
            library: library.into(),
            good: None,
            bad: Vec::new(),
            payload: PayloadOut {
                run_id: String::new(),
                municipality: "999999".into(),
                api: "E06".into(),
                format: "json".into(),
                seq: 1,
                records: 1,
                file_name: "E06-001.json".into(),
                bytes: br#"[{"conformance": "synthetic payload"}]"#.to_vec(),
            },
            committed: None,
            discarded: None,
        }
    }

    /// The configuration the runs use; it must open and pass `check`.
    #[must_use]
    pub fn good_config(mut self, config: Value) -> Self {
        self.good = Some(config);
        self
    }

    /// As [`SourceKit::bad_config`].
    #[must_use]
    pub fn bad_config(mut self, config: Value, expected_error: impl Into<String>) -> Self {
        self.bad.push(BadConfig {
            config,
            expected: expected_error.into(),
        });
        self
    }

    /// The payload delivered in each run (its `run_id` is replaced by the kit's). The default
    /// is a one-record synthetic E06 JSON file.
    #[must_use]
    pub fn payload(mut self, payload: PayloadOut) -> Self {
        self.payload = payload;
        self
    }

    /// Called with [`COMMIT_RUN`] after `deliver` + `finish(commit = true)`: the payload and
    /// manifest must be where the sink puts final output.
    #[must_use]
    pub fn committed(mut self, inspect: impl Fn(&str) -> Result<(), String> + 'static) -> Self {
        self.committed = Some(Box::new(inspect));
        self
    }

    /// Called with [`DISCARD_RUN`] after `deliver` + `finish(commit = false)`: nothing of that
    /// run may be left.
    #[must_use]
    pub fn discarded(mut self, inspect: impl Fn(&str) -> Result<(), String> + 'static) -> Self {
        self.discarded = Some(Box::new(inspect));
        self
    }

    /// Runs every check and prints the checklist (shown with `cargo test -- --nocapture`).
    ///
    /// # Panics
    /// With the report, if any check failed.
    #[track_caller]
    pub fn run(self) -> Report {
        let report = self.evaluate();
        report.assert_passed();
        print!("{report}");
        report
    }

    /// Runs every check and returns the report without panicking or printing.
    pub fn evaluate(self) -> Report {
        let mut report = Report::new(&self.library);
        let Some((host, info)) = load(&self.library, PluginKind::Sink, &mut report) else {
            return report;
        };
        let name = info.name.as_str();

        for (i, bad) in self.bad.iter().enumerate() {
            let refusal = match host.open_sink(name, &bad.config) {
                Err(err) => Err(err),
                Ok(sink) => sink.check().map(drop).map_err(HostError::Plugin),
            };
            check_refusal(&mut report, i, bad, refusal.err());
        }
        if self.bad.is_empty() {
            report.skip("bad config", "none given (SinkKit::bad_config)");
        }

        let Some(good) = &self.good else {
            report.skip("runs", "no good config given (SinkKit::good_config)");
            return report;
        };
        report.record(
            "good config: has the schema's required keys",
            fits_schema(&info.config_schema_json, good),
        );
        let runs = [
            (COMMIT_RUN, true, &self.committed),
            (DISCARD_RUN, false, &self.discarded),
        ];
        for (run_id, commit, inspect) in runs {
            let label = format!("run `{run_id}` (commit = {commit})");
            let result = host
                .open_sink(name, good)
                .map_err(|e| e.to_string())
                .and_then(|mut sink| self.one_run(&mut sink, run_id, commit));
            if !report.record(format!("{label}: check, deliver, finish"), result) {
                continue;
            }
            match inspect {
                Some(inspect) => {
                    report.record(format!("{label}: output inspected"), inspect(run_id));
                }
                None => report.skip(
                    format!("{label}: output inspected"),
                    if commit {
                        "no SinkKit::committed closure"
                    } else {
                        "no SinkKit::discarded closure"
                    },
                ),
            }
        }
        report
    }

    fn one_run(&self, sink: &mut HostSink, run_id: &str, commit: bool) -> Result<(), String> {
        let health = sink.check().map_err(|e| e.to_string())?;
        if health.trim().is_empty() {
            return Err("check returned an empty health text".to_owned());
        }
        let payload = PayloadOut {
            run_id: run_id.to_owned(),
            ..self.payload.clone()
        };
        let receipt = sink.deliver(payload).map_err(|e| e.to_string())?;
        if receipt.id.is_empty() {
            return Err("deliver returned a receipt with an empty id".to_owned());
        }
        let manifest = serde_json::json!({"run_id": run_id, "files": [receipt.id]}).to_string();
        sink.finish(run_id, commit, &manifest)
            .map_err(|e| e.to_string())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use serde_json::json;

    use super::*;

    fn failed(report: &Report) -> Vec<String> {
        report.failures().map(|c| c.name.clone()).collect()
    }

    #[test]
    fn semver() {
        for ok in [
            "0.1.0",
            "1.20.3",
            "1.0.0-alpha.1",
            "1.0.0+build.5",
            "1.0.0-rc-1+x",
        ] {
            assert!(is_semver(ok), "{ok}");
        }
        for bad in [
            "",
            "1",
            "1.0",
            "01.0.0",
            "1.0.0-",
            "1.0.0+",
            "1.0.x",
            "v1.0.0",
            "1.0.0-a..b",
        ] {
            assert!(!is_semver(bad), "{bad}");
        }
    }

    #[test]
    fn schema_fit_is_structural() {
        let schema = r#"{"type": "object", "required": ["path"], "additionalProperties": false,
                         "properties": {"path": {}, "skip": {}}}"#;
        assert!(fits_schema(schema, &json!({"path": "a", "skip": true})).is_ok());
        assert!(
            fits_schema(schema, &json!({}))
                .unwrap_err()
                .contains("\"path\"")
        );
        assert!(
            fits_schema(schema, &json!({"path": "a", "x": 1}))
                .unwrap_err()
                .contains("\"x\"")
        );
        assert!(fits_schema(r#"{"type": "string"}"#, &json!({})).is_err());
        assert!(fits_schema("{", &json!({})).is_err());
    }

    #[test]
    fn echo_conforms() {
        let config = json!({"columns": ["x", "y"], "rows": [["a", "b"], ["c", "d"], ["e", "f"]]});
        let report = SourceKit::new(built_cdylib("pmhlink-source-echo"))
            .good_config(config.clone())
            .bad_config(json!({"columns": ["x"], "rows": "not-rows"}), "`rows`")
            .bad_config(
                json!({"columns": ["x", "y"], "rows": [["lonely"]]}),
                "columns",
            )
            .fixture(config, ["x", "y"], [["a", "b"], ["c", "d"], ["e", "f"]])
            .run();
        assert_eq!(report.plugin.as_deref(), Some("echo"));
        assert!(report.to_string().contains("checks passed"), "{report}");
    }

    #[test]
    fn wrong_expectations_are_reported_not_hidden() {
        let config = json!({"columns": ["x"], "rows": [["a"], ["b"]], "error_rows": [1]});
        let report = SourceKit::new(built_cdylib("pmhlink-source-echo"))
            .good_config(json!({"columns": ["x"]}))
            .bad_config(json!({"columns": ["x"], "rows": []}), "anything")
            .fixture(config, ["y"], [["a"], ["c"]])
            .evaluate();
        let failed = failed(&report);
        assert!(failed.contains(&"good config #1: has the schema's required keys".into()));
        assert!(failed.contains(&"good config #1: opens and passes check".into()));
        assert!(failed.contains(&"bad config #1: refused".into()));
        assert!(failed.contains(&"fixture #1: columns".into()));
        assert!(failed.contains(&"fixture #1: read with max_rows = 2: rows".into()));
        assert!(failed.contains(&"fixture #1: read with max_rows = 1000: no row errors".into()));
        let text = report.to_string();
        assert!(text.contains("row 2 differs"), "{text}");
        let panic = std::panic::catch_unwind(|| report.assert_passed()).unwrap_err();
        let message = panic.downcast_ref::<String>().unwrap();
        assert!(message.contains("checks FAILED"), "{message}");
    }

    #[test]
    fn row_errors_are_checked_by_line_and_for_quoted_cells() {
        let config = json!({"columns": ["x"], "rows": [["ﾃｽﾄ ﾀﾛｳ"], ["サンプル"], ["c"]],
                            "error_rows": [1]});
        let rows = [["ﾃｽﾄ ﾀﾛｳ"], ["サンプル"], ["c"]];
        let kit = || SourceKit::new(built_cdylib("pmhlink-source-echo"));
        // echo puts row i on line i + 2 and flags row 1: "line 3, column 1: fixture row error".
        kit()
            .fixture_with_errors(config.clone(), ["x"], rows, [(3, "line 3")])
            .run();
        let report = kit()
            .fixture_with_errors(config.clone(), ["x"], rows, [(4, "line 4")])
            .fixture(config, ["x"], [["ﾃｽﾄ ﾀﾛｳ"], ["サンプノレ"], ["c"]])
            .evaluate();
        let text = report.to_string();
        assert!(text.contains("no row error on line 4"), "{text}");
        assert!(
            text.contains("FAIL  fixture #2: read with max_rows = 1: no row errors: 1 row error(s), the first on line 3"),
            "{text}"
        );
        // Kana as written in the diff, and the cell that differs.
        assert!(
            text.contains(r#"row 2 differs (cell 1): expected ["サンプノレ"], got ["サンプル"]"#),
            "{text}"
        );
    }

    #[test]
    fn a_row_error_quoting_a_cell_fails() {
        let read = Read {
            rows: vec![vec!["9990001".into()], vec!["ﾃｽﾄﾀﾛｳ".into()]],
            lines: vec![1, 2],
            row_errors: vec![(2, "line 2: bad cell ﾃｽﾄﾀﾛｳ".into())],
        };
        let fixture = Fixture {
            config: json!({}),
            columns: vec!["x".into()],
            rows: read.rows.clone(),
            errors: vec![(2, "line 2".into())],
        };
        assert_eq!(expected_errors(&fixture.errors, &read.row_errors), Ok(()));
        assert_eq!(
            quotes_no_cell(&fixture, &read),
            Err("the row error on line 2 quotes a cell".to_owned())
        );
    }

    #[test]
    fn rule_breaking_sources_fail_the_kit() {
        let kit = || SourceKit::new(built_cdylib("pmhlink-fixture-rogue"));
        let report = kit()
            .bad_config(
                json!({"mode": "leak-config", "secret": "hunter22"}),
                "`secret`",
            )
            .fixture(
                json!({"mode": "unordered-lines"}),
                ["x"],
                [["1"], ["2"], ["3"]],
            )
            .good_config(json!({"mode": "unstable-discover"}))
            .evaluate();
        let failed = failed(&report);
        assert_eq!(
            failed,
            [
                "good config #1: discover is stable",
                "bad config #1: error quotes no config value",
                "fixture #1: read with max_rows = 1: line numbers strictly increase",
                "fixture #1: read with max_rows = 2: line numbers strictly increase",
                "fixture #1: read with max_rows = 1000: line numbers strictly increase",
            ],
            "{report}"
        );
        let report = kit()
            .fixture(json!({"mode": "malformed-batch"}), ["x"], [["1"]])
            .evaluate();
        assert!(report.to_string().contains("protocol error"), "{report}");
    }

    #[test]
    fn wrong_kind_and_non_plugins_fail_at_load() {
        let report = SinkKit::new(built_cdylib("pmhlink-source-echo")).evaluate();
        assert_eq!(failed(&report), ["spec: kind is sink"]);
        let report = SourceKit::new("/nonexistent/libnothing.so").evaluate();
        assert_eq!(failed(&report), ["loads like pmhlink loads it"]);
    }

    #[test]
    fn dir_sink_conforms() {
        let out = tempfile::tempdir().unwrap();
        let root = out.path().to_owned();
        let (committed, discarded) = (root.clone(), root.clone());
        let report = SinkKit::new(built_cdylib("pmhlink-fixture-sink"))
            .good_config(json!({"dir": out.path()}))
            .bad_config(json!({"dir": ""}), "`dir`")
            .bad_config(json!({"dir": 12345}), "`dir`")
            .committed(move |run| {
                let manifest = fs::read_to_string(committed.join(run).join("manifest.json"))
                    .map_err(|e| e.to_string())?;
                let payload = fs::read(committed.join(run).join("E06-001.json"))
                    .map_err(|e| e.to_string())?;
                (manifest.contains(run) && !payload.is_empty())
                    .then_some(())
                    .ok_or_else(|| "manifest or payload missing".to_owned())
            })
            .discarded(move |run| {
                let left: Vec<_> = fs::read_dir(&discarded)
                    .map_err(|e| e.to_string())?
                    .filter_map(|e| e.ok())
                    .filter(|e| e.file_name().to_string_lossy().contains(run))
                    .collect();
                left.is_empty()
                    .then_some(())
                    .ok_or_else(|| format!("{} entries left", left.len()))
            })
            .run();
        assert_eq!(report.plugin.as_deref(), Some("dir-sink"));
        assert!(
            !report
                .checks
                .iter()
                .any(|c| matches!(c.outcome, Outcome::Skipped(_)))
        );
    }
}
