//! Japanese era (和暦) dates as legacy exports write them, and their conversion to the
//! Gregorian dates PMH takes.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Code;
use crate::date::CivilDate;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Era {
    #[serde(alias = "明治")]
    Meiji,
    #[serde(alias = "大正")]
    Taisho,
    #[serde(alias = "昭和")]
    Showa,
    #[serde(alias = "平成")]
    Heisei,
    #[serde(alias = "令和")]
    Reiwa,
}

impl Era {
    pub const ALL: [Era; 5] = [Era::Meiji, Era::Taisho, Era::Showa, Era::Heisei, Era::Reiwa];

    pub fn name_ja(self) -> &'static str {
        match self {
            Era::Meiji => "明治",
            Era::Taisho => "大正",
            Era::Showa => "昭和",
            Era::Heisei => "平成",
            Era::Reiwa => "令和",
        }
    }

    /// The customary letter code (M T S H R).
    pub fn letter(self) -> char {
        match self {
            Era::Meiji => 'M',
            Era::Taisho => 'T',
            Era::Showa => 'S',
            Era::Heisei => 'H',
            Era::Reiwa => 'R',
        }
    }

    /// The first day. 明治 counts from 1868-01-25, the day its first year was backdated to;
    /// dates before the 1873 calendar reform were lunisolar and are read as Gregorian here.
    pub fn start(self) -> CivilDate {
        let (y, m, d) = match self {
            Era::Meiji => (1868, 1, 25),
            Era::Taisho => (1912, 7, 30),
            Era::Showa => (1926, 12, 25),
            Era::Heisei => (1989, 1, 8),
            Era::Reiwa => (2019, 5, 1),
        };
        CivilDate::new(y, m, d).expect("a real date")
    }

    pub fn next(self) -> Option<Era> {
        Era::ALL
            .iter()
            .position(|&e| e == self)
            .and_then(|i| Era::ALL.get(i + 1))
            .copied()
    }

    /// The era in force on `date`; `None` before 明治.
    pub fn of(date: CivilDate) -> Option<Era> {
        Era::ALL.iter().rev().find(|e| e.start() <= date).copied()
    }
}

/// How one source writes era codes. A file may declare `letters`, `digits` or both; a map it
/// declares replaces the default one, so a source's own digit codes do not mix with 1–5.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawEraTable")]
pub struct EraTable {
    /// ASCII letter → era; looked up case-insensitively.
    letters: BTreeMap<char, Era>,
    /// ASCII digit → era, for the 7-digit form (`5070401`).
    digits: BTreeMap<char, Era>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEraTable {
    #[serde(default = "default_letters")]
    letters: BTreeMap<char, Era>,
    #[serde(default = "default_digits")]
    digits: BTreeMap<char, Era>,
}

fn default_letters() -> BTreeMap<char, Era> {
    Era::ALL.iter().map(|&e| (e.letter(), e)).collect()
}

fn default_digits() -> BTreeMap<char, Era> {
    ('1'..='5').zip(Era::ALL).collect()
}

impl Default for EraTable {
    fn default() -> Self {
        EraTable {
            letters: default_letters(),
            digits: default_digits(),
        }
    }
}

impl TryFrom<RawEraTable> for EraTable {
    type Error = String;

    fn try_from(raw: RawEraTable) -> Result<Self, String> {
        EraTable::new(raw.letters, raw.digits)
    }
}

impl EraTable {
    /// Fails when a letter code is not an ASCII letter (or is given in both cases) or a digit
    /// code is not an ASCII digit.
    pub fn new(letters: BTreeMap<char, Era>, digits: BTreeMap<char, Era>) -> Result<Self, String> {
        let mut upper = BTreeMap::new();
        for (c, era) in letters {
            if !c.is_ascii_alphabetic() {
                return Err(format!("era letter code {c:?} is not an ASCII letter"));
            }
            if upper.insert(c.to_ascii_uppercase(), era).is_some() {
                return Err(format!("era letter code {c:?} is given twice"));
            }
        }
        if let Some(c) = digits.keys().find(|c| !c.is_ascii_digit()) {
            return Err(format!("era digit code {c:?} is not an ASCII digit"));
        }
        Ok(EraTable {
            letters: upper,
            digits,
        })
    }

    pub fn letter(&self, c: char) -> Option<Era> {
        self.letters.get(&c.to_ascii_uppercase()).copied()
    }

    pub fn digit(&self, c: char) -> Option<Era> {
        self.digits.get(&c).copied()
    }
}

/// What a date written in an era that had already ended (`H320331`, printed before 令和 was
/// named) does: an error, or a date with a warning.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DateMode {
    #[default]
    Strict,
    Lenient,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParsedDate {
    pub date: CivilDate,
    /// The era it was written in; `None` for a Gregorian date.
    pub era: Option<Era>,
    /// Written in an era that had ended by then (only ever set in lenient mode).
    pub era_overflow: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateError {
    /// No form this parser knows.
    Shape,
    /// An era letter or digit the source's table does not define.
    UnknownEra,
    /// The day does not exist (month 13, 2月30日, era year 0).
    Impossible,
    /// Before the first day of its era (`R010430`).
    BeforeEra,
    /// After the end of its era, in strict mode.
    EraOverflow,
}

impl DateError {
    /// The finding code. [`Code::EraOverflow`] defaults to a warning; reported from here it is
    /// the strict-mode error, so the caller raises it with `Finding::with_severity`.
    pub fn code(self) -> Code {
        match self {
            DateError::Shape | DateError::UnknownEra => Code::NotIsoDate,
            DateError::Impossible => Code::DateInvalid,
            DateError::BeforeEra => Code::DateBeforeEra,
            DateError::EraOverflow => Code::EraOverflow,
        }
    }
}

impl fmt::Display for DateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DateError::Shape => "not a date form pmhlink reads",
            DateError::UnknownEra => "an era code the source's table does not define",
            DateError::Impossible => "the date does not exist",
            DateError::BeforeEra => "the date is before its era began",
            DateError::EraOverflow => "the date is written in an era that had already ended",
        })
    }
}

impl std::error::Error for DateError {}

/// Full-width ASCII (digits, letters, `．／－`) → ASCII; a date has nothing else to protect.
fn fold_fullwidth_ascii(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).expect("ASCII"),
            _ => c,
        })
        .collect()
}

fn is_space(c: char) -> bool {
    c == ' ' || c == '\u{3000}'
}

/// A number of `min..=max` ASCII digits, padding spaces allowed around it (`令和 7年 4月 1日`).
fn number(s: &str, min: usize, max: usize) -> Result<u16, DateError> {
    let s = s.trim_matches(is_space);
    if (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(s.parse().expect("at most four digits"))
    } else {
        Err(DateError::Shape)
    }
}

/// The year: in an era 1–2 digits or 元 (the first year), else 4 digits.
fn year(s: &str, in_era: bool) -> Result<u16, DateError> {
    match in_era {
        true if s.trim_matches(is_space) == "元" => Ok(1),
        true => number(s, 1, 2),
        false => number(s, 4, 4),
    }
}

/// Splits off the era: a kanji name, a letter, or the leading digit of the 7-digit form.
fn split_era<'a>(s: &'a str, table: &EraTable) -> Result<(Option<Era>, &'a str), DateError> {
    if let Some((era, rest)) = Era::ALL
        .iter()
        .find_map(|e| Some((*e, s.strip_prefix(e.name_ja())?)))
    {
        return Ok((Some(era), rest));
    }
    let first = s.chars().next().ok_or(DateError::Shape)?;
    if first.is_ascii_alphabetic() {
        let era = table.letter(first).ok_or(DateError::UnknownEra)?;
        return Ok((Some(era), &s[1..]));
    }
    if s.len() == 7 && s.bytes().all(|b| b.is_ascii_digit()) {
        let era = table.digit(first).ok_or(DateError::UnknownEra)?;
        return Ok((Some(era), &s[1..]));
    }
    Ok((None, s))
}

/// Year, month and day of the part after the era: `070401`, `20250401`, `7.4.1`, `2025/04/01`,
/// `7年4月1日`.
fn split_ymd(s: &str, in_era: bool) -> Result<(u16, u16, u16), DateError> {
    let compact_len = if in_era { 6 } else { 8 };
    if s.len() == compact_len && s.bytes().all(|b| b.is_ascii_digit()) {
        let y = compact_len - 4;
        return Ok((
            number(&s[..y], y, y)?,
            number(&s[y..y + 2], 2, 2)?,
            number(&s[y + 2..], 2, 2)?,
        ));
    }
    let (y, m, d) = if let Some(body) = s.strip_suffix('日') {
        let (y, rest) = body.split_once('年').ok_or(DateError::Shape)?;
        let (m, d) = rest.split_once('月').ok_or(DateError::Shape)?;
        (y, m, d)
    } else {
        let sep = s
            .chars()
            .find(|&c| matches!(c, '.' | '/' | '-'))
            .ok_or(DateError::Shape)?;
        let mut parts = s.split(sep);
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(y), Some(m), Some(d), None) => (y, m, d),
            _ => return Err(DateError::Shape),
        }
    };
    Ok((year(y, in_era)?, number(m, 1, 2)?, number(d, 1, 2)?))
}

/// Reads a date in any form seen in exports: era forms (`R070401`, `5070401`, `R07.04.01`,
/// `R7.4.1`, `令和7年4月1日`, `令和元年5月1日`) and Gregorian ones (`2025-04-01`, `2025/4/1`,
/// `20250401`, `2025年4月1日`), full-width digits and letters anywhere.
pub fn parse_date(s: &str, table: &EraTable, mode: DateMode) -> Result<ParsedDate, DateError> {
    let folded = fold_fullwidth_ascii(s);
    let s = folded.trim_matches(is_space);
    let (era, rest) = split_era(s, table)?;
    let (y, month, day) = split_ymd(rest, era.is_some())?;
    let month = u8::try_from(month).map_err(|_| DateError::Impossible)?;
    let day = u8::try_from(day).map_err(|_| DateError::Impossible)?;
    let Some(era) = era else {
        let date = CivilDate::new(y, month, day).ok_or(DateError::Impossible)?;
        return Ok(ParsedDate {
            date,
            era: None,
            era_overflow: false,
        });
    };
    if y == 0 {
        return Err(DateError::Impossible);
    }
    let date =
        CivilDate::new(era.start().year() + y - 1, month, day).ok_or(DateError::Impossible)?;
    if date < era.start() {
        return Err(DateError::BeforeEra);
    }
    let era_overflow = era.next().is_some_and(|next| date >= next.start());
    if era_overflow && mode == DateMode::Strict {
        return Err(DateError::EraOverflow);
    }
    Ok(ParsedDate {
        date,
        era: Some(era),
        era_overflow,
    })
}

/// Whether `s` is a way exports write "no end" for a validity period: era year 99, December 31
/// in any era and spelling (`H991231`, `R99.12.31`, `平成99年12月31日`, `4991231`), or
/// year 9999, December 31 (`99991231`, `9999-12-31`, `9999/12/31`). Read as a date, the era
/// form would be a real day decades away (平成99年 = 2087) with an era-overflow warning.
pub fn is_open_end(s: &str, table: &EraTable) -> bool {
    let folded = fold_fullwidth_ascii(s);
    let s = folded.trim_matches(is_space);
    let Ok((era, rest)) = split_era(s, table) else {
        return false;
    };
    match split_ymd(rest, era.is_some()) {
        Ok((99, 12, 31)) => era.is_some(),
        Ok((9999, 12, 31)) => era.is_none(),
        _ => false,
    }
}

/// The compact letter form (`R070401`) in the era in force on `date`; `None` before 明治 or
/// past era year 99. For test data and for showing an operator what a source would print.
pub fn format_era_compact(date: CivilDate) -> Option<String> {
    let era = Era::of(date)?;
    let yy = date.year() - era.start().year() + 1;
    (yy <= 99).then(|| {
        format!(
            "{}{yy:02}{:02}{:02}",
            era.letter(),
            date.month(),
            date.day()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(s: &str, mode: DateMode) -> Result<String, DateError> {
        parse_date(s, &EraTable::default(), mode).map(|p| p.date.to_string())
    }

    #[test]
    fn era_boundaries() {
        assert_eq!(
            Era::of(CivilDate::new(1989, 1, 7).unwrap()),
            Some(Era::Showa)
        );
        assert_eq!(
            Era::of(CivilDate::new(1989, 1, 8).unwrap()),
            Some(Era::Heisei)
        );
        assert_eq!(Era::of(CivilDate::new(1868, 1, 24).unwrap()), None);
        assert_eq!(Era::Reiwa.next(), None);
        assert_eq!(Era::Showa.next(), Some(Era::Heisei));
    }

    #[test]
    fn forms() {
        for s in [
            "R070401",
            "5070401",
            "R07.04.01",
            "R7.4.1",
            "令和7年4月1日",
            "r7/4/1",
            "Ｒ０７０４０１",
        ] {
            assert_eq!(iso(s, DateMode::Strict).as_deref(), Ok("2025-04-01"), "{s}");
        }
        assert_eq!(
            iso("令和 7年 4月 1日", DateMode::Strict).as_deref(),
            Ok("2025-04-01")
        );
        assert_eq!(
            iso("令和元年5月1日", DateMode::Strict).as_deref(),
            Ok("2019-05-01")
        );
        assert_eq!(iso("7年4月1日", DateMode::Strict), Err(DateError::Shape));
        assert_eq!(
            iso("令和7月4年1日", DateMode::Strict),
            Err(DateError::Shape)
        );
        assert_eq!(
            iso("令和7月4月1日", DateMode::Strict),
            Err(DateError::Shape)
        );
        assert_eq!(iso("2025-4-1-1", DateMode::Strict), Err(DateError::Shape));
        assert_eq!(iso("R7.4/1", DateMode::Strict), Err(DateError::Shape));
        assert_eq!(iso("X070401", DateMode::Strict), Err(DateError::UnknownEra));
        assert_eq!(iso("9070401", DateMode::Strict), Err(DateError::UnknownEra));
        assert_eq!(iso("R000401", DateMode::Strict), Err(DateError::Impossible));
    }

    #[test]
    fn open_ends() {
        let t = EraTable::default();
        for open in [
            "H991231",
            "R991231",
            "h99.12.31",
            "平成99年12月31日",
            "4991231",
            "99991231",
            "9999-12-31",
            "9999/12/31",
            "Ｈ９９１２３１",
            " 9999-12-31 ",
        ] {
            assert!(is_open_end(open, &t), "{open}");
        }
        for not in [
            "",
            "H991230",
            "H981231",
            "99981231",
            "2087-12-31",
            "991231",
            "X991231",
        ] {
            assert!(!is_open_end(not, &t), "{not}");
        }
    }

    #[test]
    fn compact_format() {
        let d = |y, m, dd| CivilDate::new(y, m, dd).unwrap();
        assert_eq!(
            format_era_compact(d(2025, 4, 1)).as_deref(),
            Some("R070401")
        );
        assert_eq!(
            format_era_compact(d(2019, 4, 30)).as_deref(),
            Some("H310430")
        );
        assert_eq!(format_era_compact(d(1868, 1, 24)), None);
        assert_eq!(
            format_era_compact(d(2117, 12, 31)).as_deref(),
            Some("R991231")
        );
        assert_eq!(format_era_compact(d(2118, 1, 1)), None);
    }

    #[test]
    fn table_validation() {
        let letters = BTreeMap::from([('r', Era::Reiwa), ('R', Era::Reiwa)]);
        assert!(EraTable::new(letters, default_digits()).is_err());
        assert!(EraTable::new(BTreeMap::from([('1', Era::Reiwa)]), default_digits()).is_err());
        assert!(EraTable::new(default_letters(), BTreeMap::from([('R', Era::Reiwa)])).is_err());
    }
}
