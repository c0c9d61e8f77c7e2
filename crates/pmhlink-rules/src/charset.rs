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

/// `char::is_control` over a whole string, on bytes: C0 controls and DEL are single bytes, and
/// C1 controls (U+0080–U+009F) are `C2 80`–`C2 9F` in UTF-8. Runs on every text field.
pub fn has_control(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter().enumerate().any(|(i, &c)| {
        c < 0x20
            || c == 0x7F
            || (c == 0xC2 && b.get(i + 1).is_some_and(|n| (0x80..=0x9F).contains(n)))
    })
}

pub fn is_name_kana_char(c: char) -> bool {
    matches!(c, '\u{30A1}'..='\u{30F6}' | 'ー' | '・' | '\u{3000}')
}

impl Charset {
    /// The finding code when `value` is outside the class, or `None` when it fits.
    pub fn violation(self, value: &str) -> Option<Code> {
        let ok = match self {
            Charset::Text => return has_control(value).then_some(Code::ControlCharacter),
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
    fn control_scan_agrees_with_char_is_control() {
        for cp in (0..0x3000u32).chain([0xFEFF, 0xFFFD]) {
            let Some(c) = char::from_u32(cp) else {
                continue;
            };
            let s = format!("a{c}愛");
            assert_eq!(has_control(&s), c.is_control(), "U+{cp:04X}");
        }
    }

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
