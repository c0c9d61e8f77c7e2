//! Cleaning steps a pipeline's mapping names, applied in order to one source value. Each step
//! is a function of `pmhlink_rules`; this module only sequences them and counts what changed,
//! because the run report states every normalisation (domain-rules.md, "Severity").

use std::borrow::Cow;
use std::collections::BTreeMap;

use pmhlink_rules::Code;
use pmhlink_rules::clean::{
    clean_identifier, fold_fullwidth_digits, fold_house_number_dashes, map_gaiji,
    normalise_kana_separator, widen_halfwidth_kana,
};
use pmhlink_rules::era::{DateMode, EraTable, parse_date};

pub use pmhlink_config::CleanStep as Step;

/// What the steps need from the pipeline.
pub struct CleanContext<'a> {
    pub era: &'a EraTable,
    pub date_mode: DateMode,
    pub gaiji: &'a BTreeMap<String, String>,
}

/// How many values each step changed, and how many "no end" validity values were sent in the
/// open-ended form (`rules.open_end`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Normalisations {
    steps: [u64; 8],
    open_end: u64,
}

impl Normalisations {
    fn add(&mut self, step: Step) {
        self.steps[step as usize] += 1;
    }

    pub fn count(&self, step: Step) -> u64 {
        self.steps[step as usize]
    }

    /// A "no end" value sent as the open-ended form.
    pub fn add_open_end(&mut self) {
        self.open_end += 1;
    }

    pub fn open_end(&self) -> u64 {
        self.open_end
    }

    pub fn merge(&mut self, other: &Normalisations) {
        for (a, b) in self.steps.iter_mut().zip(other.steps) {
            *a += b;
        }
        self.open_end += other.open_end;
    }

    pub fn by_name(&self) -> BTreeMap<&'static str, u64> {
        Step::ALL
            .iter()
            .map(|s| (s.name(), self.count(*s)))
            .chain([("open_end", self.open_end)])
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}

/// A cleaned value, and a warning a step raised while still producing it.
#[derive(Debug, PartialEq, Eq)]
pub struct Cleaned {
    pub value: String,
    pub warning: Option<Code>,
}

pub fn trim(s: &str) -> &str {
    s.trim_matches(|c: char| c == '\u{3000}' || c.is_ascii_whitespace())
}

/// The new value of a step that returns `Cow::Borrowed` exactly when it changed nothing (the
/// contract of `pmhlink_rules::clean`).
fn changed(result: Cow<'_, str>) -> Option<String> {
    match result {
        Cow::Borrowed(_) => None,
        Cow::Owned(s) => Some(s),
    }
}

/// Applies `steps` in order; an error is the finding code that quarantines the record.
/// Runs for every mapped cell of every row: a value is copied only when a step changes it.
pub fn apply(
    value: &str,
    steps: &[Step],
    ctx: &CleanContext<'_>,
    counts: &mut Normalisations,
) -> Result<Cleaned, Code> {
    let mut current: Cow<'_, str> = Cow::Borrowed(value);
    let mut warning = None;
    for &step in steps {
        let new = match step {
            Step::Trim => {
                let trimmed = trim(&current);
                if trimmed.len() == current.len() {
                    None
                } else if let Cow::Borrowed(s) = current {
                    // A slice of the source cell: no copy.
                    counts.add(step);
                    current = Cow::Borrowed(trim(s));
                    continue;
                } else {
                    Some(trimmed.to_owned())
                }
            }
            Step::WidenKana => changed(widen_halfwidth_kana(&current)),
            Step::KanaSeparator => {
                Some(normalise_kana_separator(&current)).filter(|s| *s != *current)
            }
            Step::Identifier => changed(clean_identifier(&current)),
            Step::FoldDigits => changed(fold_fullwidth_digits(&current)),
            Step::HouseNumberDashes => changed(fold_house_number_dashes(&current)),
            Step::EraDate if trim(&current).is_empty() => (!current.is_empty()).then(String::new),
            Step::EraDate => {
                let parsed =
                    parse_date(trim(&current), ctx.era, ctx.date_mode).map_err(|e| e.code())?;
                if parsed.era_overflow {
                    warning = Some(Code::EraOverflow);
                }
                Some(parsed.date.to_string()).filter(|iso| *iso != *current)
            }
            Step::Gaiji => {
                changed(map_gaiji(&current, ctx.gaiji).map_err(|_| Code::GaijiUnmapped)?)
            }
        };
        if let Some(new) = new {
            counts.add(step);
            current = Cow::Owned(new);
        }
    }
    Ok(Cleaned {
        value: current.into_owned(),
        warning,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(value: &str, steps: &[Step]) -> (Result<Cleaned, Code>, Normalisations) {
        let era = EraTable::default();
        let gaiji = BTreeMap::from([("\u{E000}".to_owned(), "髙".to_owned())]);
        let ctx = CleanContext {
            era: &era,
            date_mode: DateMode::Lenient,
            gaiji: &gaiji,
        };
        let mut counts = Normalisations::default();
        (apply(value, steps, &ctx, &mut counts), counts)
    }

    #[test]
    fn steps_in_order_with_counts() {
        let (r, counts) = run(
            "ﾔﾏﾀﾞ ﾀﾛｳ\u{3000}\u{3000}",
            &[Step::Trim, Step::WidenKana, Step::KanaSeparator],
        );
        assert_eq!(r.unwrap().value, "ヤマダ\u{3000}タロウ");
        assert_eq!(counts.count(Step::Trim), 1);
        assert_eq!(counts.count(Step::WidenKana), 1);
        assert_eq!(counts.count(Step::KanaSeparator), 1);
        let (r, counts) = run("123456789018", &[Step::Trim, Step::Identifier]);
        assert_eq!(r.unwrap().value, "123456789018");
        assert_eq!(
            counts,
            Normalisations::default(),
            "nothing changed, nothing counted"
        );
    }

    #[test]
    fn era_dates_and_their_findings() {
        assert_eq!(
            run("R070401", &[Step::EraDate]).0.unwrap().value,
            "2025-04-01"
        );
        assert_eq!(run(" ", &[Step::EraDate]).0.unwrap().value, "");
        let overflow = run("H320331", &[Step::EraDate]).0.unwrap();
        assert_eq!(
            (overflow.value.as_str(), overflow.warning),
            ("2020-03-31", Some(Code::EraOverflow))
        );
        assert_eq!(run("R010430", &[Step::EraDate]).0, Err(Code::DateBeforeEra));
        assert_eq!(run("R070231", &[Step::EraDate]).0, Err(Code::DateInvalid));
    }

    #[test]
    fn gaiji_through_the_site_table() {
        assert_eq!(run("\u{E000}橋", &[Step::Gaiji]).0.unwrap().value, "髙橋");
        assert_eq!(
            run("\u{E001}橋", &[Step::Gaiji]).0,
            Err(Code::GaijiUnmapped)
        );
    }
}
