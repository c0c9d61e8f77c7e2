//! Defects a share of certificates carry in the exports, and the finding that must quarantine
//! the affected periods. The expected record always holds the undamaged truth.

use pmhlink_rules::Code;
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Defect {
    /// The resident export's 個人番号 has a wrong check digit.
    BadMyNumberCheckDigit,
    /// The person has no resident record: nothing to join My Number and name from.
    MissingResident,
    /// The name holds a character CP932 cannot write; the vendor stored it as 外字 (F040,
    /// decoding to U+E000) and the site's table does not map it.
    UnmappedGaiji,
    /// The kana field holds hiragana, which widening leaves outside the katakana class.
    HiraganaKana,
    /// One period's 有効開始 and 有効終了 are swapped.
    InvertedPeriod,
    /// One period's 有効終了 is a day its month does not have.
    ImpossibleEndDate,
    /// One row's 公費負担者番号 is mistyped (check digit off by one).
    BadInsurerCheckDigit,
    /// A national certificate's 受給者番号 has a wrong check digit in every row.
    BadRecipientCheckDigit,
}

/// What a defect damages, and so which periods it quarantines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefectScope {
    /// Every period of every certificate of the person.
    Person,
    /// Every period of the certificate.
    Certificate,
    /// One period.
    Period,
}

impl Defect {
    pub const ALL: [Defect; 8] = [
        Defect::BadMyNumberCheckDigit,
        Defect::MissingResident,
        Defect::UnmappedGaiji,
        Defect::HiraganaKana,
        Defect::InvertedPeriod,
        Defect::ImpossibleEndDate,
        Defect::BadInsurerCheckDigit,
        Defect::BadRecipientCheckDigit,
    ];

    pub fn scope(self) -> DefectScope {
        match self {
            Defect::BadMyNumberCheckDigit
            | Defect::MissingResident
            | Defect::UnmappedGaiji
            | Defect::HiraganaKana => DefectScope::Person,
            Defect::BadRecipientCheckDigit => DefectScope::Certificate,
            Defect::InvertedPeriod | Defect::ImpossibleEndDate | Defect::BadInsurerCheckDigit => {
                DefectScope::Period
            }
        }
    }

    /// The error that must quarantine the affected periods.
    pub fn code(self) -> Code {
        match self {
            Defect::BadMyNumberCheckDigit => Code::MyNumberCheckDigit,
            Defect::MissingResident => Code::RequiredMissing,
            Defect::UnmappedGaiji => Code::GaijiUnmapped,
            Defect::HiraganaKana => Code::NotKatakana,
            Defect::InvertedPeriod => Code::ValidPeriodInverted,
            Defect::ImpossibleEndDate => Code::DateInvalid,
            Defect::BadInsurerCheckDigit => Code::InsurerCheckDigit,
            Defect::BadRecipientCheckDigit => Code::RecipientCheckDigit,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Defect::BadMyNumberCheckDigit => "bad-my-number-check-digit",
            Defect::MissingResident => "missing-resident",
            Defect::UnmappedGaiji => "unmapped-gaiji",
            Defect::HiraganaKana => "hiragana-kana",
            Defect::InvertedPeriod => "inverted-period",
            Defect::ImpossibleEndDate => "impossible-end-date",
            Defect::BadInsurerCheckDigit => "bad-insurer-check-digit",
            Defect::BadRecipientCheckDigit => "bad-recipient-check-digit",
        }
    }
}

/// Replaces the last digit of a string of ASCII digits by the next one (mod 10): a check digit
/// that is certainly wrong, in a number of the right shape.
pub fn off_by_one_check_digit(number: &str) -> String {
    let (body, last) = number.split_at(number.len() - 1);
    let d = last.as_bytes()[0] - b'0';
    format!("{body}{}", (d + 1) % 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_serde() {
        for d in Defect::ALL {
            assert_eq!(
                serde_json::to_string(&d).unwrap(),
                format!("\"{}\"", d.name())
            );
            assert_eq!(
                d.code().default_severity(),
                pmhlink_rules::Severity::Error,
                "{}",
                d.name()
            );
        }
    }

    #[test]
    fn off_by_one() {
        assert_eq!(off_by_one_check_digit("123456789018"), "123456789019");
        assert_eq!(off_by_one_check_digit("1234569"), "1234560");
    }
}
