//! Character classes a profile can put on a field. The profile names the class; the predicate
//! lives here, once.

use serde::{Deserialize, Serialize};

use crate::Code;
use crate::date::CivilDate;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Charset {
    /// Any text without control characters.
    Text,
    /// ASCII digits only.
    Digits,
    /// ASCII letters and digits only.
    AsciiAlnum,
    /// `YYYY-MM-DD`.
    IsoDate,
    /// Full-width katakana U+30A1–U+30F6, ー, ・ and the full-width space as the one separator.
    Katakana,
}

pub fn is_name_kana_char(c: char) -> bool {
    matches!(c, '\u{30A1}'..='\u{30F6}' | 'ー' | '・' | '\u{3000}')
}

impl Charset {
    /// The finding code when `value` is outside the class, or `None` when it fits.
    pub fn violation(self, value: &str) -> Option<Code> {
        let ok = match self {
            Charset::Text => {
                return value
                    .chars()
                    .any(char::is_control)
                    .then_some(Code::ControlCharacter);
            }
            Charset::Digits => value.bytes().all(|b| b.is_ascii_digit()),
            Charset::AsciiAlnum => value.bytes().all(|b| b.is_ascii_alphanumeric()),
            Charset::IsoDate => {
                return match CivilDate::parse_iso(value) {
                    Ok(_) => None,
                    Err(crate::date::IsoDateError::Shape) => Some(Code::NotIsoDate),
                    Err(crate::date::IsoDateError::Impossible) => Some(Code::DateInvalid),
                };
            }
            Charset::Katakana => value.chars().all(is_name_kana_char),
        };
        if ok {
            None
        } else {
            Some(match self {
                Charset::Digits => Code::NotDigits,
                Charset::AsciiAlnum => Code::NotAsciiAlnum,
                _ => Code::NotKatakana,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert_eq!(Charset::Digits.violation("0000002"), None);
        assert_eq!(Charset::Digits.violation("１２"), Some(Code::NotDigits));
        assert_eq!(Charset::AsciiAlnum.violation("XXXXX01"), None);
        assert_eq!(
            Charset::AsciiAlnum.violation("XX-1"),
            Some(Code::NotAsciiAlnum)
        );
        assert_eq!(
            Charset::IsoDate.violation("2025/04/01"),
            Some(Code::NotIsoDate)
        );
        assert_eq!(
            Charset::IsoDate.violation("2025-02-30"),
            Some(Code::DateInvalid)
        );
        assert_eq!(Charset::Katakana.violation("アイチハナコ"), None);
        assert_eq!(Charset::Katakana.violation("ヤマダ\u{3000}タロウ"), None);
        assert_eq!(Charset::Katakana.violation("ﾔﾏﾀﾞ"), Some(Code::NotKatakana));
        assert_eq!(
            Charset::Katakana.violation("やまだ"),
            Some(Code::NotKatakana)
        );
        assert_eq!(
            Charset::Text.violation("愛知\n花子"),
            Some(Code::ControlCharacter)
        );
    }
}
