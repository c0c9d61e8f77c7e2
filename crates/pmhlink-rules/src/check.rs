//! The domain rules over one record in its sent form. Shape rules (presence, lengths,
//! character classes) belong to the interface profile; these are the rules that hold whatever
//! the layout: check digits, code tables, dates, repertoire.

use pmhlink_model::{FieldId, Record};

use crate::check_digit::{self, CheckError};
use crate::codes::{HoubetsuClass, SiteTables, prefecture_name};
use crate::date::CivilDate;
use crate::text::{is_gaiji, outside_jis_x0208};
use crate::{Code, Finding, Severity};

/// Severities a site may change. Defaults follow `domain-rules.md`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// A national programme's 受給者番号 failing the 7-digit rule.
    pub national_recipient: Severity,
    /// A local programme's 受給者番号 failing the 7-digit rule; `None` turns the check off.
    pub local_recipient: Option<Severity>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            national_recipient: Severity::Error,
            local_recipient: Some(Severity::Warning),
        }
    }
}

/// What the rules need besides the record.
#[derive(Clone, Debug)]
pub struct RuleContext<'a> {
    /// Today in Japan; the caller reads the clock so that rules stay pure.
    pub today: CivilDate,
    pub site: &'a SiteTables,
    /// 団体コード of the sending municipality, for the prefecture cross-check.
    pub municipality_code: Option<&'a str>,
    pub policy: Policy,
}

fn is_digits(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit())
}

fn present(r: &Record, f: FieldId) -> Option<&str> {
    r.text(f).filter(|s| !s.is_empty())
}

/// Text fields a person reads off a receipt computer: checked for 外字 and repertoire. The kana
/// name is left out: its character class (all inside JIS X 0208) already rejects the rest.
const DISPLAYED_TEXT: [FieldId; 3] = [FieldId::Name, FieldId::Address, FieldId::CertificationName];

/// Appends every domain finding about `r` to `out`. Values of the wrong shape are left to the
/// profile's checks and skipped here, so one mistake yields one finding.
pub fn check_record(r: &Record, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
    check_my_number(r, out);
    let class = check_insurer(r, ctx, out);
    check_recipient(r, class, ctx, out);
    check_dates(r, ctx, out);
    check_text(r, out);
    check_additional_conditions(r, out);
}

fn check_my_number(r: &Record, out: &mut Vec<Finding>) {
    let Some(mn) = present(r, FieldId::MyNumber).filter(|s| is_digits(s, 12)) else {
        return;
    };
    match check_digit::check_my_number(mn) {
        Ok(()) => {}
        Err(CheckError::AllZero) => {
            out.push(Finding::new(Code::MyNumberAllZero, FieldId::MyNumber))
        }
        Err(_) => out.push(Finding::new(Code::MyNumberCheckDigit, FieldId::MyNumber)),
    }
}

fn check_insurer(
    r: &Record,
    ctx: &RuleContext<'_>,
    out: &mut Vec<Finding>,
) -> Option<HoubetsuClass> {
    let f = FieldId::InsurerNumber;
    let num = present(r, f).filter(|s| is_digits(s, 8))?;
    if check_digit::check_insurer_number(num).is_err() {
        out.push(Finding::new(Code::InsurerCheckDigit, f));
    }
    let prefecture = &num[2..4];
    if prefecture_name(prefecture).is_none() {
        out.push(Finding::new(Code::InsurerPrefecture, f));
    } else if let Some(code) = ctx.municipality_code
        && code.len() >= 2
        && &code[..2] != prefecture
    {
        out.push(Finding::new(Code::InsurerPrefectureMismatch, f));
    }
    let on = present(r, FieldId::ValidFrom).unwrap_or("");
    let class = ctx.site.classify_insurer(num, on);
    match class {
        HoubetsuClass::Insurer => out.push(Finding::new(Code::InsurerHoubetsuIsInsurer, f)),
        HoubetsuClass::Unknown => out.push(Finding::new(Code::InsurerHoubetsuUnknown, f)),
        HoubetsuClass::National | HoubetsuClass::Local => {}
    }
    Some(class)
}

fn check_recipient(
    r: &Record,
    class: Option<HoubetsuClass>,
    ctx: &RuleContext<'_>,
    out: &mut Vec<Finding>,
) {
    let f = FieldId::RecipientNumber;
    let Some(num) = present(r, f) else { return };
    if check_digit::check_recipient_number(num).is_ok() {
        return;
    }
    if class == Some(HoubetsuClass::National) {
        out.push(
            Finding::new(Code::RecipientCheckDigit, f).with_severity(ctx.policy.national_recipient),
        );
    } else if let Some(severity) = ctx.policy.local_recipient {
        out.push(Finding::new(Code::RecipientLocalRule, f).with_severity(severity));
    }
}

/// A code of the 制度マスタ as `additionalConditions` carries it: ASCII letters and digits (the
/// confirmed form is `項目コード-条件コード`; the codes' alphabet is assumed).
fn is_condition_code(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// `追加条件`: one or more `項目コード-条件コード` pairs joined by `;` (`01-1;02-3`), no empty
/// pair, no trailing `;`. A value with control characters is left to the profile's class.
pub fn additional_conditions_well_formed(s: &str) -> bool {
    s.split(';').all(|pair| {
        pair.split_once('-').is_some_and(|(item, condition)| {
            is_condition_code(item) && is_condition_code(condition)
        })
    })
}

fn check_additional_conditions(r: &Record, out: &mut Vec<Finding>) {
    let f = FieldId::AdditionalConditions;
    if let Some(value) = present(r, f).filter(|s| !crate::charset::has_control(s))
        && !additional_conditions_well_formed(value)
    {
        out.push(Finding::new(Code::AdditionalConditionsFormat, f));
    }
}

fn date(r: &Record, f: FieldId) -> Option<CivilDate> {
    present(r, f).and_then(|s| CivilDate::parse_iso(s).ok())
}

fn check_dates(r: &Record, ctx: &RuleContext<'_>, out: &mut Vec<Finding>) {
    if let (Some(from), Some(to)) = (date(r, FieldId::ValidFrom), date(r, FieldId::ValidTo))
        && from > to
    {
        out.push(Finding::new(Code::ValidPeriodInverted, FieldId::ValidFrom));
    }
    if date(r, FieldId::DateOfBirth).is_some_and(|birth| birth > ctx.today) {
        out.push(Finding::new(Code::BirthInFuture, FieldId::DateOfBirth));
    }
}

/// The worst repertoire problem of a string: an unmapped 外字 (an error) over a character
/// outside JIS X 0208 (a warning). One pass: 外字 are outside JIS X 0208 too.
fn repertoire(s: &str) -> Option<Code> {
    let mut found = None;
    for c in outside_jis_x0208(s) {
        if is_gaiji(c) {
            return Some(Code::GaijiUnmapped);
        }
        found = Some(Code::OutsideJisX0208);
    }
    found
}

fn check_text(r: &Record, out: &mut Vec<Finding>) {
    for f in DISPLAYED_TEXT {
        if let Some(code) = present(r, f).and_then(repertoire) {
            out.push(Finding::new(code, f));
        }
    }
    let items = r
        .face
        .details
        .iter()
        .flat_map(|d| [d.name.as_str(), d.value.expose().as_str()]);
    let worst = items
        .filter_map(repertoire)
        .min_by_key(|&c| c != Code::GaijiUnmapped);
    if let Some(code) = worst {
        out.push(Finding::new(code, FieldId::CertificationDetail));
    }
}

#[cfg(test)]
mod tests {
    use super::additional_conditions_well_formed as ok;

    #[test]
    fn additional_conditions_are_code_pairs_joined_by_semicolons() {
        for good in ["01-1", "01-1;02-3", "A1-B2;C3-D4;E-F"] {
            assert!(ok(good), "{good}");
        }
        for bad in [
            "011",
            "01-",
            "-1",
            "01-1;",
            ";01-1",
            "01-1;;02-3",
            "01-1-2",
            "01-1,02-3",
            "01 -1",
            "０１-１",
            "01－1",
            "01-1; 02-3",
        ] {
            assert!(!ok(bad), "{bad}");
        }
    }
}
