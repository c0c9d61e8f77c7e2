//! The reverse of cleaning: how legacy systems write what the sent form holds. Only a
//! generator needs these directions; cleaning lives in `pmhlink_rules::clean`.

const BASE_FULL: &str = "ァアィイゥウェエォオカキクケコサシスセソタチッツテトナニヌネノハヒフヘホマミムメモャヤュユョヨラリルレロワヲンー・";
const BASE_HALF: &str = "ｧｱｨｲｩｳｪｴｫｵｶｷｸｹｺｻｼｽｾｿﾀﾁｯﾂﾃﾄﾅﾆﾇﾈﾉﾊﾋﾌﾍﾎﾏﾐﾑﾒﾓｬﾔｭﾕｮﾖﾗﾘﾙﾚﾛﾜｦﾝｰ･";
const VOICED: &str = "ガギグゲゴザジズゼゾダヂヅデドバビブベボヴ";
const VOICED_BASE: &str = "カキクケコサシスセソタチツテトハヒフヘホウ";
const SEMI_VOICED: &str = "パピプペポ";
const SEMI_VOICED_BASE: &str = "ハヒフヘホ";

fn nth_of(table: &str, c: char) -> Option<usize> {
    table.chars().position(|t| t == c)
}

fn half_base(c: char) -> Option<char> {
    nth_of(BASE_FULL, c).and_then(|i| BASE_HALF.chars().nth(i))
}

/// Full-width katakana → half-width (JIS X 0201), dakuten and handakuten as separate ﾞ ﾟ,
/// U+3000 as an ASCII space. `None` for a character half-width kana cannot write (ヮ, ヶ, …).
pub fn to_halfwidth_kana(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '\u{3000}' {
            out.push(' ');
        } else if let Some(h) = half_base(c) {
            out.push(h);
        } else if let Some(i) = nth_of(VOICED, c) {
            out.push(half_base(VOICED_BASE.chars().nth(i)?)?);
            out.push('ﾞ');
        } else if let Some(i) = nth_of(SEMI_VOICED, c) {
            out.push(half_base(SEMI_VOICED_BASE.chars().nth(i)?)?);
            out.push('ﾟ');
        } else {
            return None;
        }
    }
    Some(out)
}

/// Katakana → hiragana (ァ–ン sit 0x60 above ぁ–ん); other characters unchanged. ヴ stays:
/// its hiragana ゔ is not in CP932.
pub fn to_hiragana(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'ァ'..='ン' => char::from_u32(u32::from(c) - 0x60).expect("the hiragana block"),
            _ => c,
        })
        .collect()
}

/// 0–9 → ０–９.
pub fn to_fullwidth_digits(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '0'..='9' => {
                char::from_u32(u32::from(c) - u32::from('0') + u32::from('０')).expect("a digit")
            }
            _ => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_normalization::UnicodeNormalization;

    #[test]
    fn halfwidth_examples() {
        assert_eq!(
            to_halfwidth_kana("ヤマダ\u{3000}タロウ").as_deref(),
            Some("ﾔﾏﾀﾞ ﾀﾛｳ")
        );
        assert_eq!(to_halfwidth_kana("ヴィクトル").as_deref(), Some("ｳﾞｨｸﾄﾙ"));
        assert_eq!(
            to_halfwidth_kana("ハットリ\u{3000}キョウコ").as_deref(),
            Some("ﾊｯﾄﾘ ｷｮｳｺ")
        );
        assert_eq!(to_halfwidth_kana("ポー").as_deref(), Some("ﾎﾟｰ"));
        assert_eq!(to_halfwidth_kana("ヶ"), None);
        assert_eq!(to_halfwidth_kana("山"), None);
    }

    #[test]
    fn nfkc_undoes_halfwidth_for_every_name() {
        for (_, kana) in crate::names::all_entries() {
            let half = to_halfwidth_kana(kana).expect(kana);
            assert!(
                half.chars().all(|c| ('\u{FF61}'..='\u{FF9F}').contains(&c)),
                "{kana}"
            );
            assert_eq!(half.nfkc().collect::<String>(), kana);
        }
    }

    #[test]
    fn tables_line_up() {
        assert_eq!(BASE_FULL.chars().count(), BASE_HALF.chars().count());
        assert_eq!(VOICED.chars().count(), VOICED_BASE.chars().count());
        assert_eq!(
            SEMI_VOICED.chars().count(),
            SEMI_VOICED_BASE.chars().count()
        );
        for (full, half) in BASE_FULL.chars().zip(BASE_HALF.chars()) {
            assert_eq!(
                half.to_string().nfkc().collect::<String>(),
                full.to_string()
            );
        }
    }

    #[test]
    fn other_forms() {
        assert_eq!(
            to_hiragana("ヤマダ\u{3000}ヴィクトル"),
            "やまだ\u{3000}ヴぃくとる"
        );
        for (_, kana) in crate::names::all_entries() {
            assert!(
                pmhlink_rules::text::encode_cp932(&to_hiragana(kana)).is_ok(),
                "{kana}"
            );
        }
        assert_eq!(to_fullwidth_digits("3-12"), "３-１２");
    }
}
