//! What can go wrong, worded for the operator.
//!
//! Plugin messages are passed on but never trusted to be short or single-line: they are cut
//! and control characters are replaced, so a misbehaving plugin cannot flood or forge log
//! lines. Nothing here ever holds record content (the ABI forbids it in plugin errors, and the
//! host adds only paths, names and levels).

use std::{
    fmt,
    path::{Path, PathBuf},
};

use pmhlink_plugin_api::{RErrorKind, RPluginError, abi_stable::std_types::ROption};

use crate::PluginKind;

/// The verb a failure happened in, named as the operator sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    Open,
    Check,
    Discover,
    Read,
    Deliver,
    Poll,
    Import,
    Finish,
}

impl Verb {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Check => "check",
            Self::Discover => "discover",
            Self::Read => "read",
            Self::Deliver => "deliver",
            Self::Poll => "poll",
            Self::Import => "import",
            Self::Finish => "finish",
        }
    }
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Category of a [`PluginFailure`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureKind {
    Config,
    Io,
    Data,
    Unsupported,
    /// The plugin panicked (caught at the boundary by the pdk); it is unusable afterwards.
    Panic,
    /// The plugin broke the protocol (a malformed batch, an unknown outcome state…). Found by
    /// the host, never sent by a plugin; the plugin is unusable afterwards.
    Protocol,
    /// Includes error kinds from a newer API level that this host does not know.
    Other,
}

impl FailureKind {
    fn label(self) -> &'static str {
        match self {
            Self::Config => "config error",
            Self::Io => "I/O error",
            Self::Data => "data error",
            Self::Unsupported => "unsupported",
            Self::Panic => "panic",
            Self::Protocol => "protocol error",
            Self::Other => "error",
        }
    }
}

impl From<RErrorKind> for FailureKind {
    fn from(kind: RErrorKind) -> Self {
        match kind {
            RErrorKind::Config => Self::Config,
            RErrorKind::Io => Self::Io,
            RErrorKind::Data => Self::Data,
            RErrorKind::Unsupported => Self::Unsupported,
            RErrorKind::Panic => Self::Panic,
            // Other, and any kind a newer API adds.
            _ => Self::Other,
        }
    }
}

/// A plugin call that failed: the plugin's error, a caught panic, or a protocol violation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginFailure {
    /// The plugin's spec name.
    pub plugin: String,
    pub verb: Verb,
    pub kind: FailureKind,
    pub message: String,
    /// e.g. `subsidy.csv:12`, a config key path, or a panic's source location.
    pub location: Option<String>,
}

/// Longest plugin message or location kept, in bytes.
const MAX_TEXT: usize = 500;

/// Cuts `text` to [`MAX_TEXT`] on a character boundary and replaces control characters, so a
/// plugin's text stays one bounded line in the host's logs.
fn tidy(text: &str) -> String {
    let mut end = text.len().min(MAX_TEXT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut out: String = text[..end]
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if end < text.len() {
        out.push('…');
    }
    out
}

impl PluginFailure {
    pub(crate) fn new(
        plugin: &str,
        verb: Verb,
        kind: FailureKind,
        message: impl AsRef<str>,
    ) -> Self {
        Self {
            plugin: plugin.to_owned(),
            verb,
            kind,
            message: tidy(message.as_ref()),
            location: None,
        }
    }

    pub(crate) fn from_plugin(plugin: &str, verb: Verb, err: RPluginError) -> Self {
        let mut failure = Self::new(plugin, verb, err.kind.into(), err.message.as_str());
        if let ROption::RSome(location) = &err.location {
            failure.location = Some(tidy(location));
        }
        failure
    }

    /// A configuration failure located in the pipeline file: `key` is where the plugin's
    /// `config` table is (`sources.welfare.config`, `sinks[0].config`), and the plugin's own
    /// key path (`path`, `rows[1]`) goes under it: `sources.welfare.config.path`. Other
    /// failures are returned unchanged.
    #[must_use]
    pub fn in_config(mut self, key: &str) -> Self {
        if self.kind == FailureKind::Config {
            self.location = Some(match self.location.take() {
                None => key.to_owned(),
                Some(inner) if inner.starts_with('[') => format!("{key}{inner}"),
                Some(inner) => format!("{key}.{inner}"),
            });
        }
        self
    }

    /// A panic or a protocol violation: the plugin instance must not be called again.
    pub fn is_fatal(&self) -> bool {
        matches!(self.kind, FailureKind::Panic | FailureKind::Protocol)
    }
}

impl fmt::Display for PluginFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            plugin,
            verb,
            kind,
            message,
            location,
        } = self;
        if *kind == FailureKind::Panic {
            // The pdk withholds the panic message (it may quote record content); its own
            // text only repeats the plugin and verb, so the host words it once.
            write!(f, "plugin `{plugin}` panicked in {verb}")?;
            if let Some(at) = location {
                write!(f, " at {at}")?;
            }
            return f.write_str("; the run stops");
        }
        write!(f, "plugin `{plugin}` ({verb}): {}", kind.label())?;
        if let Some(at) = location {
            write!(f, " at {at}")?;
        }
        write!(f, ": {message}")
    }
}

impl std::error::Error for PluginFailure {}

/// A library on the plugin path that was not loaded, or a plugin that was loaded but hidden.
/// [`crate::Host::discover`] collects these as warnings; they become errors only when the
/// pipeline asks for a plugin that is not there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadProblem {
    #[error("cannot read plugin directory {}: {message}", dir.display())]
    Dir { dir: PathBuf, message: String },
    #[error("{} could not be opened: {message}", path.display())]
    Open { path: PathBuf, message: String },
    #[error(
        "{} is not a pmhlink plugin (no {} symbol)",
        path.display(),
        pmhlink_plugin_api::API_LEVEL_SYMBOL
    )]
    NotAPlugin { path: PathBuf },
    #[error(
        "{} is built for pmhlink plugin API level {plugin_level}, but this pmhlink supports \
         level {host_level} only; its author must rebuild it against pmhlink-pdk for plugin \
         API level {host_level}",
        path.display()
    )]
    IncompatibleLevel {
        path: PathBuf,
        plugin_level: u32,
        host_level: u32,
    },
    /// The level matched but abi_stable refused the module (a layout or version mismatch,
    /// usually a plugin built against a pre-release of this level).
    #[error("{} is a pmhlink plugin but its module could not be loaded: {message}", path.display())]
    Module { path: PathBuf, message: String },
    #[error("{}: {problem}", path.display())]
    BadSpec { path: PathBuf, problem: String },
    #[error(
        "plugin `{name}` in {} is shadowed by the one in {}, earlier on the plugin path",
        path.display(),
        by.display()
    )]
    Shadowed {
        name: String,
        path: PathBuf,
        by: PathBuf,
    },
}

impl LoadProblem {
    /// The library (or directory) concerned.
    pub fn path(&self) -> &Path {
        match self {
            Self::Dir { dir: path, .. }
            | Self::Open { path, .. }
            | Self::NotAPlugin { path }
            | Self::IncompatibleLevel { path, .. }
            | Self::Module { path, .. }
            | Self::BadSpec { path, .. }
            | Self::Shadowed { path, .. } => path,
        }
    }

    /// True when a library was refused (as opposed to loaded but shadowed).
    pub fn is_refusal(&self) -> bool {
        !matches!(self, Self::Shadowed { .. })
    }
}

/// Errors of [`crate::Host`]'s own operations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    /// A directory named by the pipeline file cannot be read: a typo there should stop the run,
    /// not surface later as a missing plugin.
    #[error("cannot read plugin directory {} (named in the pipeline file): {message}", dir.display())]
    PluginDir { dir: PathBuf, message: String },
    #[error("{}", no_plugin_message(name, searched, available, refused))]
    NoPlugin {
        name: String,
        searched: Vec<PathBuf>,
        available: Vec<String>,
        /// Libraries on the path that were refused: the wanted plugin may be one of them.
        refused: Vec<LoadProblem>,
    },
    #[error("plugin `{name}` is a {is} plugin; it cannot be used as a {wanted}")]
    WrongKind {
        name: String,
        is: PluginKind,
        wanted: PluginKind,
    },
    #[error(transparent)]
    Plugin(#[from] PluginFailure),
}

impl HostError {
    /// [`PluginFailure::in_config`] for a plugin's failure; other errors are unchanged.
    #[must_use]
    pub fn in_config(self, key: &str) -> Self {
        match self {
            HostError::Plugin(failure) => HostError::Plugin(failure.in_config(key)),
            other => other,
        }
    }
}

fn no_plugin_message(
    name: &str,
    searched: &[PathBuf],
    available: &[String],
    refused: &[LoadProblem],
) -> String {
    let list = |items: Vec<String>| {
        if items.is_empty() {
            "none".to_owned()
        } else {
            items.join(", ")
        }
    };
    let searched = list(searched.iter().map(|d| d.display().to_string()).collect());
    let available = list(available.iter().map(|n| format!("`{n}`")).collect());
    let mut text =
        format!("no plugin named `{name}` (searched: {searched}; available: {available})");
    // A refused library is the usual reason a plugin "is missing": say so right here.
    const SHOWN: usize = 3;
    if !refused.is_empty() {
        let shown: Vec<String> = refused
            .iter()
            .take(SHOWN)
            .map(ToString::to_string)
            .collect();
        text.push_str(&format!(
            "; {} librar{} on the plugin path could not be loaded: {}",
            refused.len(),
            if refused.len() == 1 { "y" } else { "ies" },
            shown.join("; ")
        ));
        if refused.len() > SHOWN {
            text.push_str("; … (see `pmhlink plugins`)");
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(kind: FailureKind, location: Option<&str>) -> PluginFailure {
        PluginFailure {
            location: location.map(str::to_owned),
            ..PluginFailure::new("csv", Verb::Read, kind, "unterminated quote")
        }
    }

    #[test]
    fn failures_name_plugin_verb_kind_and_place() {
        assert_eq!(
            failure(FailureKind::Data, Some("subsidy.csv:12")).to_string(),
            "plugin `csv` (read): data error at subsidy.csv:12: unterminated quote"
        );
        assert_eq!(
            failure(FailureKind::Config, None).to_string(),
            "plugin `csv` (read): config error: unterminated quote"
        );
        assert_eq!(
            failure(FailureKind::Panic, Some("src/lib.rs:10:5")).to_string(),
            "plugin `csv` panicked in read at src/lib.rs:10:5; the run stops"
        );
    }

    #[test]
    fn config_failures_are_located_in_the_pipeline_file() {
        let cases = [
            (
                FailureKind::Config,
                Some("path"),
                Some("sources.welfare.config.path"),
            ),
            (
                FailureKind::Config,
                Some("rows[1]"),
                Some("sources.welfare.config.rows[1]"),
            ),
            (FailureKind::Config, None, Some("sources.welfare.config")),
            (
                FailureKind::Data,
                Some("subsidy.csv:12"),
                Some("subsidy.csv:12"),
            ),
        ];
        for (kind, inner, expected) in cases {
            let located = failure(kind, inner).in_config("sources.welfare.config");
            assert_eq!(located.location.as_deref(), expected, "{kind:?} {inner:?}");
        }
        let host = HostError::Plugin(failure(FailureKind::Config, Some("dir")));
        assert_eq!(
            host.in_config("sinks[0].config").to_string(),
            "plugin `csv` (read): config error at sinks[0].config.dir: unterminated quote"
        );
    }

    #[test]
    fn unknown_error_kinds_are_other() {
        assert_eq!(FailureKind::from(RErrorKind(200)), FailureKind::Other);
        assert_eq!(FailureKind::from(RErrorKind::Io), FailureKind::Io);
    }

    #[test]
    fn plugin_text_is_cut_and_kept_on_one_line() {
        let long = format!("a\nb{}", "é".repeat(400));
        let f = PluginFailure::new("x", Verb::Check, FailureKind::Other, long);
        assert!(!f.message.contains('\n'));
        assert!(f.message.len() <= MAX_TEXT + '…'.len_utf8());
        assert!(f.message.ends_with('…'));
    }

    #[test]
    fn missing_plugin_lists_dirs_names_and_refusals() {
        let err = HostError::NoPlugin {
            name: "csv".into(),
            searched: vec!["/etc/pmhlink/plugins".into(), "/opt/p".into()],
            available: vec!["echo".into(), "file-sink".into()],
            refused: vec![LoadProblem::IncompatibleLevel {
                path: "/opt/p/libcsv.so".into(),
                plugin_level: 2,
                host_level: 1,
            }],
        };
        let text = err.to_string();
        assert!(
            text.starts_with(
                "no plugin named `csv` (searched: /etc/pmhlink/plugins, /opt/p; \
                 available: `echo`, `file-sink`); 1 library on the plugin path could not be \
                 loaded: /opt/p/libcsv.so is built for pmhlink plugin API level 2"
            ),
            "{text}"
        );
    }
}
