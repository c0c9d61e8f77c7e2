//! The `file_name` pattern: literal text and `{placeholder}`s, parsed once when the sink opens
//! and filled for every payload.

use std::fmt;

/// One placeholder of the pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Suggested,
    RunId,
    Municipality,
    Api,
    Seq,
    Date,
    Ext,
}

const SLOTS: [(&str, Slot); 7] = [
    ("suggested", Slot::Suggested),
    ("run_id", Slot::RunId),
    ("municipality", Slot::Municipality),
    ("api", Slot::Api),
    ("seq", Slot::Seq),
    ("date", Slot::Date),
    ("ext", Slot::Ext),
];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Slot(Slot),
}

/// Why a pattern is refused. Positions count characters from 1; the pattern itself is never
/// quoted (it is a configuration value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatternError {
    Unknown {
        at: usize,
    },
    Unclosed {
        at: usize,
    },
    StrayBrace {
        at: usize,
    },
    /// No `{suggested}` or `{seq}`: two files of one run would get the same name.
    Collides,
    /// Separators, a leading dot or characters Windows forbids.
    NotAFileName,
}

fn known() -> String {
    SLOTS
        .iter()
        .map(|(name, _)| format!("{{{name}}}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PatternError::Unknown { at } => write!(
                f,
                "the placeholder at character {at} is unknown (known: {})",
                known()
            ),
            PatternError::Unclosed { at } => {
                write!(f, "the `{{` at character {at} is not closed by `}}`")
            }
            PatternError::StrayBrace { at } => {
                write!(f, "the `}}` at character {at} closes no placeholder")
            }
            PatternError::Collides => f.write_str(
                "contains neither {suggested} nor {seq}, so the files of one run would all get the same name",
            ),
            PatternError::NotAFileName => f.write_str(
                "must make one plain file name: no / \\ : * ? \" < > |, no control characters, no leading dot, no trailing dot or space",
            ),
        }
    }
}

impl std::error::Error for PatternError {}

/// What a payload's name is made from.
pub struct Values<'a> {
    pub suggested: &'a str,
    pub run_id: &'a str,
    pub municipality: &'a str,
    pub api: &'a str,
    /// From 1.
    pub seq: u32,
    /// `YYYYMMDD`, when the run id carries it.
    pub date: Option<&'a str>,
    pub ext: &'a str,
}

/// A parsed `file_name` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    parts: Vec<Part>,
}

impl Pattern {
    pub fn parse(text: &str) -> Result<Self, PatternError> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let chars: Vec<char> = text.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '{' => {
                    let len = chars[i + 1..]
                        .iter()
                        .position(|&c| c == '}')
                        .ok_or(PatternError::Unclosed { at: i + 1 })?;
                    let name: String = chars[i + 1..i + 1 + len].iter().collect();
                    let slot = SLOTS
                        .iter()
                        .find(|(known, _)| *known == name)
                        .map(|&(_, slot)| slot)
                        .ok_or(PatternError::Unknown { at: i + 1 })?;
                    if !literal.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Slot(slot));
                    i += len + 2;
                }
                '}' => return Err(PatternError::StrayBrace { at: i + 1 }),
                c => {
                    literal.push(c);
                    i += 1;
                }
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        let unique = parts
            .iter()
            .any(|p| matches!(p, Part::Slot(Slot::Suggested | Slot::Seq)));
        if !unique {
            return Err(PatternError::Collides);
        }
        Ok(Self { parts })
    }

    /// Whether the pattern needs the business date.
    pub fn needs_date(&self) -> bool {
        self.parts.contains(&Part::Slot(Slot::Date))
    }

    /// The name for `values`; `{date}` without a date gives `None`.
    pub fn fill(&self, values: &Values<'_>) -> Option<String> {
        let mut name = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => name.push_str(text),
                Part::Slot(Slot::Suggested) => name.push_str(values.suggested),
                Part::Slot(Slot::RunId) => name.push_str(values.run_id),
                Part::Slot(Slot::Municipality) => name.push_str(values.municipality),
                Part::Slot(Slot::Api) => name.push_str(values.api),
                Part::Slot(Slot::Seq) => name.push_str(&format!("{:04}", values.seq)),
                Part::Slot(Slot::Date) => name.push_str(values.date?),
                Part::Slot(Slot::Ext) => name.push_str(values.ext),
            }
        }
        Some(name)
    }

    /// The name of a typical payload, for checking the pattern's own characters when the sink
    /// opens (every value here is itself a plain name).
    pub fn sample(&self) -> String {
        self.fill(&Values {
            suggested: "E06-0000.json",
            run_id: "131016-20250401-pipeline",
            municipality: "131016",
            api: "E06",
            seq: 1,
            date: Some("20250401"),
            ext: "json",
        })
        .expect("the sample has a date")
    }
}

/// The business date of a run id `<municipality>-<YYYYMMDD>-<pipeline>[-reset]` (the host's
/// run ids); `None` for a run id of another form.
pub fn business_date<'a>(run_id: &'a str, municipality: &str) -> Option<&'a str> {
    let rest = run_id.strip_prefix(municipality)?.strip_prefix('-')?;
    let date = rest.get(..8)?;
    let ends = rest.len() == 8 || rest[8..].starts_with('-');
    (ends && date.bytes().all(|b| b.is_ascii_digit())).then_some(date)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(seq: u32) -> Values<'static> {
        Values {
            suggested: "E05-0002.csv",
            run_id: "139998-20250601-sakurano",
            municipality: "139998",
            api: "E05",
            seq,
            date: Some("20250601"),
            ext: "csv",
        }
    }

    #[test]
    fn patterns_fill_their_placeholders() {
        let cases = [
            ("{suggested}", "E05-0002.csv"),
            (
                "{municipality}_{api}_{date}_{seq}.{ext}",
                "139998_E05_20250601_0003.csv",
            ),
            (
                "{run_id}-{suggested}",
                "139998-20250601-sakurano-E05-0002.csv",
            ),
            ("PMH{seq}", "PMH0003"),
        ];
        for (pattern, name) in cases {
            let pattern = Pattern::parse(pattern).unwrap();
            assert_eq!(pattern.fill(&values(3)).as_deref(), Some(name));
        }
    }

    #[test]
    fn bad_patterns_are_refused_by_position_without_quoting_them() {
        let cases = [
            ("{api}-{sequence}.{ext}", PatternError::Unknown { at: 7 }),
            ("{api}-{seq", PatternError::Unclosed { at: 7 }),
            ("{seq}}", PatternError::StrayBrace { at: 6 }),
            ("{api}-{date}.{ext}", PatternError::Collides),
            ("fixed.csv", PatternError::Collides),
        ];
        for (pattern, expected) in cases {
            let err = Pattern::parse(pattern).unwrap_err();
            assert_eq!(err, expected, "{pattern}");
            assert!(!err.to_string().contains("sequence"), "{err}");
        }
    }

    #[test]
    fn the_business_date_comes_from_the_host_s_run_id() {
        let cases = [
            ("139998-20250601-sakurano", Some("20250601")),
            ("139998-20250601-sakura-no-reset", Some("20250601")),
            ("139998-20250601", Some("20250601")),
            ("139998-2025060-x", None),
            ("139998-2025-06-01-x", None),
            ("conformance-commit", None),
            ("139999-20250601-sakurano", None),
        ];
        for (run_id, date) in cases {
            assert_eq!(business_date(run_id, "139998"), date, "{run_id}");
        }
    }
}
