//! Certificates and their periods (history rows), drawn for one person.

use pmhlink_rules::CivilDate;
use pmhlink_rules::check_digit::with_luhn_check_digit;
use pmhlink_rules::date::days_in_month;

use crate::defect::{Defect, off_by_one_check_digit};
use crate::municipality::{IncomeSegment, Programme, ProgrammeKind, RecipientNumbering};
use crate::rng::SplitMix64;
use crate::scramble::IdScramble;

const DISEASES: &[&str] = &[
    "パーキンソン病",
    "潰瘍性大腸炎",
    "クローン病",
    "全身性エリテマトーデス",
    "重症筋無力症",
    "多発性硬化症",
    "特発性拡張型心筋症",
    "サルコイドーシス",
    "網膜色素変性症",
    "もやもや病",
];

/// How the subsidy system happened to write one row: variety a loader must absorb, not
/// defects.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RowStyle {
    /// 受給者番号 typed in full-width digits.
    pub fullwidth_recipient: bool,
    /// Dates as `令和7年4月1日` rather than `R070401`.
    pub kanji_dates: bool,
}

/// One validity period of a certificate: a history row, keyed by the vendor's 履歴番号.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SynthPeriod {
    pub history_number: String,
    pub valid_from: CivilDate,
    pub valid_to: CivilDate,
    pub income: IncomeSegment,
    pub style: RowStyle,
    /// A defect of [`crate::DefectScope::Period`].
    pub defect: Option<Defect>,
}

#[derive(Clone, Debug)]
pub struct SynthCertificate<'m> {
    pub programme: &'m Programme,
    pub recipient_number: String,
    /// Whether the 受給者番号 passes the 7-digit rule (always, for national programmes).
    pub recipient_follows_rule: bool,
    pub sub_key: Option<&'static str>,
    /// 疾病名, for programmes that print it.
    pub disease: Option<&'static str>,
    pub always_reimbursement: bool,
    pub periods: Vec<SynthPeriod>,
    /// A defect of [`crate::DefectScope::Certificate`].
    pub defect: Option<Defect>,
}

/// The recipient number a programme gives person `index` (the same for each certificate the
/// person holds under it: sub keys tell those apart).
pub(crate) fn recipient_number(
    programme: &Programme,
    scramble: &IdScramble,
    index: u64,
    rng: &mut SplitMix64,
) -> (String, bool) {
    match programme.numbering {
        RecipientNumbering::CheckDigit7 => {
            (with_luhn_check_digit(&scramble.digits(index, 6)), true)
        }
        RecipientNumbering::Mixed7 {
            per_mille_following,
        } => {
            let valid = with_luhn_check_digit(&scramble.digits(index, 6));
            if rng.below(1000) < u64::from(per_mille_following) {
                (valid, true)
            } else {
                (off_by_one_check_digit(&valid), false)
            }
        }
        RecipientNumbering::Plain8 => (scramble.digits(index, 8), false),
    }
}

/// The modulus a numbering's scramble needs so that its numbers have the right width.
pub(crate) fn recipient_modulus(numbering: RecipientNumbering) -> u64 {
    match numbering {
        RecipientNumbering::CheckDigit7 | RecipientNumbering::Mixed7 { .. } => 999_999,
        RecipientNumbering::Plain8 => 99_999_999,
    }
}

/// The last day before the first of `month` in `year`.
fn end_before(year: u16, month: u8) -> CivilDate {
    let (y, m) = if month == 1 {
        (year - 1, 12)
    } else {
        (year, month - 1)
    };
    CivilDate::new(y, m, days_in_month(y, m)).expect("a month's last day")
}

/// Yearly periods renewed on the 1st of the programme's month, the last one in force on
/// `as_of`; none starts before the holder was born.
fn periods(
    programme: &Programme,
    birth: CivilDate,
    as_of: CivilDate,
    history: HistorySlots<'_>,
    rng: &mut SplitMix64,
) -> Vec<SynthPeriod> {
    let m = programme.renewal_month;
    let latest_year = if as_of.month() >= m {
        as_of.year()
    } else {
        as_of.year() - 1
    };
    let count = 1 + rng.weighted(&[40, 35, 25]) as u16;
    let mut income = *rng.pick(programme.income_segments);
    let mut out = Vec::with_capacity(usize::from(count));
    for k in 0..count {
        let year = latest_year - (count - 1 - k);
        let from = CivilDate::new(year, m, 1).expect("the 1st of a month");
        let to = end_before(year + 1, m);
        if rng.chance(0.2) {
            income = *rng.pick(programme.income_segments);
        }
        let style = RowStyle {
            fullwidth_recipient: rng.chance(0.03),
            kanji_dates: rng.chance(0.1),
        };
        if to < birth {
            continue;
        }
        out.push(SynthPeriod {
            history_number: history.scramble.digits(history.first + u64::from(k), 10),
            valid_from: from.max(birth),
            valid_to: to,
            income,
            style,
            defect: None,
        });
    }
    out
}

/// What a person's certificates are drawn from.
pub(crate) struct CertificatePlan<'m> {
    pub programme: &'m Programme,
    pub recipient_number: String,
    pub recipient_follows_rule: bool,
    pub sub_key: Option<&'static str>,
}

/// Where a certificate's 履歴番号 come from: slots `first..first + 3` of the vendor's
/// numbering, scrambled so that they look issued rather than counted.
pub(crate) struct HistorySlots<'s> {
    pub scramble: &'s IdScramble,
    pub first: u64,
}

pub(crate) fn draw_certificate<'m>(
    plan: CertificatePlan<'m>,
    birth: CivilDate,
    as_of: CivilDate,
    history: HistorySlots<'_>,
    taken_disease: Option<&'static str>,
    rng: &mut SplitMix64,
) -> SynthCertificate<'m> {
    let programme = plan.programme;
    let disease = programme.prints_disease.then(|| {
        loop {
            let d = *rng.pick(DISEASES);
            if Some(d) != taken_disease {
                break d;
            }
        }
    });
    SynthCertificate {
        programme,
        recipient_number: plan.recipient_number,
        recipient_follows_rule: plan.recipient_follows_rule,
        sub_key: plan.sub_key,
        disease,
        always_reimbursement: rng.chance(0.02),
        periods: periods(programme, birth, as_of, history, rng),
        defect: None,
    }
}

impl SynthCertificate<'_> {
    pub fn is_national(&self) -> bool {
        self.programme.kind == ProgrammeKind::National
    }
}
