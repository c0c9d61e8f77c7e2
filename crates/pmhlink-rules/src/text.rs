//! Text rules: what a character set allows, and (in cleaning) how legacy text becomes the
//! sent form.

/// A character from the private-use area: CP932's user-defined area (F040–F9FC) decodes to
/// U+E000–U+E757, and other systems put their 外字 elsewhere in the BMP's private-use area.
pub fn is_gaiji(c: char) -> bool {
    ('\u{E000}'..='\u{F8FF}').contains(&c)
}

/// Whether a character lies outside JIS X 0208 (and ASCII), the repertoire receipt computers
/// can be trusted to display. CP932's extensions (NEC row 13 at lead byte 0x87, NEC-selected
/// IBM extensions at 0xED–0xEE, IBM extensions at 0xFA–0xFC) and JIS X 0201 half-width kana
/// count as outside, as does anything CP932 cannot encode at all.
pub fn is_outside_jis_x0208(c: char) -> bool {
    if c.is_ascii() {
        return false;
    }
    let mut encoder = encoding_rs::SHIFT_JIS.new_encoder();
    let mut buf = [0u8; 8];
    let mut utf8 = [0u8; 4];
    let (result, _, written) =
        encoder.encode_from_utf8_without_replacement(c.encode_utf8(&mut utf8), &mut buf, true);
    if !matches!(result, encoding_rs::EncoderResult::InputEmpty) || written != 2 {
        return true;
    }
    matches!(buf[0], 0x85..=0x87 | 0xEB..=0xFF)
}

pub fn has_outside_jis_x0208(s: &str) -> bool {
    !s.is_ascii() && s.chars().any(is_outside_jis_x0208)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jis_x0208_repertoire() {
        for inside in ['愛', '知', 'ア', 'ー', '－', '～', '≒', '∵', '￢', '\u{3000}', 'A'] {
            assert!(!is_outside_jis_x0208(inside), "{inside}");
        }
        // ① ㈱ ∟: NEC row 13; 髙 﨑: IBM extensions; ｱ: JIS X 0201; 𠮷 and é: not in CP932.
        for outside in ['①', '㈱', '∟', '髙', '﨑', 'ｱ', '𠮷', 'é', '\u{E000}'] {
            assert!(is_outside_jis_x0208(outside), "{outside}");
        }
    }

    #[test]
    fn gaiji_is_private_use() {
        assert!(is_gaiji('\u{E000}'));
        assert!(is_gaiji('\u{E757}'));
        assert!(!is_gaiji('愛'));
    }
}
