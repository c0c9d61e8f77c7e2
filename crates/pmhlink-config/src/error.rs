//! Errors: each problem names where it came from (the file or an environment variable) and the
//! key path, never a value that could be a secret.

use std::fmt;
use std::path::PathBuf;

/// One step of a key path.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// Where a value sits in the pipeline file: `sources.db.config.password`, `joins[1].left`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyPath(Vec<Segment>);

impl KeyPath {
    pub fn root() -> KeyPath {
        KeyPath(Vec::new())
    }

    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    #[must_use]
    pub fn key(&self, k: impl Into<String>) -> KeyPath {
        let mut p = self.clone();
        p.0.push(Segment::Key(k.into()));
        p
    }

    #[must_use]
    pub fn index(&self, i: usize) -> KeyPath {
        let mut p = self.clone();
        p.0.push(Segment::Index(i));
        p
    }

    pub fn parent(&self) -> KeyPath {
        KeyPath(self.0[..self.0.len().saturating_sub(1)].to_vec())
    }

    pub fn last(&self) -> Option<&Segment> {
        self.0.last()
    }

    pub fn starts_with(&self, prefix: &KeyPath) -> bool {
        self.0.starts_with(&prefix.0)
    }

    /// `sources.db` → "`sources.db`"; the root → "top level", for messages.
    pub fn describe(&self) -> String {
        if self.is_root() {
            "top level".to_owned()
        } else {
            format!("`{self}`")
        }
    }
}

impl FromIterator<Segment> for KeyPath {
    fn from_iter<I: IntoIterator<Item = Segment>>(iter: I) -> Self {
        KeyPath(iter.into_iter().collect())
    }
}

/// A key that reads unambiguously after a dot; others are quoted as TOML would.
fn is_bare_key(k: &str) -> bool {
    !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Segment::Index(n) => write!(f, "[{n}]")?,
                Segment::Key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    if is_bare_key(k) {
                        f.write_str(k)?;
                    } else {
                        write!(f, "{k:?}")?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// One thing wrong with a pipeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The file (`pipeline.toml`) or the environment variable (`PMHLINK_MUNICIPALITY__CODE`)
    /// the offending value came from.
    pub origin: String,
    /// The key path the problem is about (the root for the file as a whole).
    pub path: KeyPath,
    /// The explanation, naming the key path; never a value that could be a secret.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.origin, self.message)
    }
}

/// Why a pipeline could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{}: a pipeline file must end in .toml, .yaml or .yml",
        path.display()
    )]
    Extension { path: PathBuf },
    /// Everything found wrong, in file order as far as it could be read.
    #[error("{}", Problems(.0))]
    Invalid(Vec<Problem>),
    /// A site-tables file (`rules.site`) that could not be read.
    #[error("{}: {message}", path.display())]
    Site { path: PathBuf, message: String },
}

impl ConfigError {
    /// The problems of an [`ConfigError::Invalid`]; empty for the other kinds.
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Invalid(p) => p,
            _ => &[],
        }
    }
}

struct Problems<'a>(&'a [Problem]);

impl fmt::Display for Problems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

/// "`a`, `b`, `c`": the message around it says "one of" or "found".
pub(crate) fn list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    items
        .into_iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_paths_read_like_the_file() {
        let p = KeyPath::root()
            .key("sources")
            .key("db")
            .key("config")
            .key("pass word")
            .index(2);
        assert_eq!(p.to_string(), r#"sources.db.config."pass word"[2]"#);
        assert_eq!(p.parent().to_string(), r#"sources.db.config."pass word""#);
        assert_eq!(KeyPath::root().describe(), "top level");
        assert_eq!(
            KeyPath::root().key("joins").index(0).describe(),
            "`joins[0]`"
        );
        assert!(p.starts_with(&KeyPath::root().key("sources")));
    }

    #[test]
    fn problems_print_one_per_line() {
        let p = |m: &str| Problem {
            origin: "p.toml".into(),
            path: KeyPath::root(),
            message: m.into(),
        };
        let e = ConfigError::Invalid(vec![p("a"), p("b")]);
        assert_eq!(e.to_string(), "p.toml: a\np.toml: b");
        assert_eq!(e.problems().len(), 2);
    }
}
