//! Cleaning: how decoded legacy text becomes the sent form. Every function that returns a
//! `Cow` borrows exactly when it changed nothing, so the caller counts normalisations for the
//! run report with `matches!(x, Cow::Owned(_))`.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::compose;

use crate::text::is_gaiji;

fn is_halfwidth_kana(c: char) -> bool {
    ('\u{FF61}'..='\u{FF9F}').contains(&c)
}

fn is_kana(c: char) -> bool {
    matches!(c, '\u{3041}'..='\u{3096}' | '\u{309D}'..='\u{309F}' | '\u{30A1}'..='\u{30FF}')
}

/// Characters NFC replaces even when alone: CJK compatibility ideographs (塚 U+FA10 → 塚
/// U+585A, from CP932's IBM extensions), Å U+212B (JIS X 0208 0x81F0) → U+00C5, which CP932
/// cannot encode. Replacing them changes how a name is written, so they are kept as they are.
fn nfc_replaces_alone(c: char) -> bool {
    // Latin, kana, CJK unified ideographs and the full-width forms hold no such character, and
    // names are made of them: skip the normalisation lookup there.
    if matches!(c, '\0'..='\u{02FF}' | '\u{3000}'..='\u{9FFF}' | '\u{FF00}'..='\u{FFEF}') {
        return false;
    }
    let mut buf = [0u8; 4];
    !c.is_ascii() && !unicode_normalization::is_nfc(c.encode_utf8(&mut buf))
}

/// NFC over the runs between characters NFC would replace on their own. Those are starters that
/// nothing composes with, so splitting there composes everything else as NFC would.
fn nfc_keeping_variants(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some((i, c)) = rest.char_indices().find(|&(_, c)| nfc_replaces_alone(c)) {
        out.extend(rest[..i].nfc());
        out.push(c);
        rest = &rest[i + c.len_utf8()..];
    }
    out.extend(rest.nfc());
    out
}

/// Half-width kana → full-width, with dakuten composed: NFKC on the runs of U+FF61–U+FF9F only
/// (blanket NFKC turns ① into 1 and ㈱ into (株)), spacing ゛/゜ after a kana made combining,
/// then NFC (`ｶﾞ` → `ガ`, `カ゛` → `ガ`).
///
/// A spacing mark becomes combining only where the pair composes: `ア゛` has no precomposed
/// form and stays, to be caught by the kana class rather than hidden in a combining sequence.
pub fn widen_halfwidth_kana(s: &str) -> Cow<'_, str> {
    let spacing_mark = |c| matches!(c, '\u{309B}' | '\u{309C}');
    if s.is_ascii()
        || (!s.chars().any(|c| is_halfwidth_kana(c) || spacing_mark(c))
            && unicode_normalization::is_nfc(s))
    {
        return Cow::Borrowed(s);
    }
    let mut widened = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find(is_halfwidth_kana) {
        widened.push_str(&rest[..start]);
        let run = &rest[start..];
        let end = run.find(|c| !is_halfwidth_kana(c)).unwrap_or(run.len());
        widened.extend(run[..end].nfkc());
        rest = &run[end..];
    }
    widened.push_str(rest);

    let mut marked = String::with_capacity(widened.len());
    for c in widened.chars() {
        let combining = match c {
            '\u{309B}' => '\u{3099}',
            '\u{309C}' => '\u{309A}',
            _ => {
                marked.push(c);
                continue;
            }
        };
        match marked
            .chars()
            .next_back()
            .filter(|&p| is_kana(p))
            .and_then(|p| compose(p, combining))
        {
            Some(composed) => {
                marked.pop();
                marked.push(composed);
            }
            None => marked.push(c),
        }
    }

    let out = nfc_keeping_variants(&marked);
    if out == s {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(out)
    }
}

fn is_fullwidth_digit(c: char) -> bool {
    ('０'..='９').contains(&c)
}

fn ascii_digit(c: char) -> char {
    if is_fullwidth_digit(c) {
        char::from_u32(u32::from(c) - u32::from('０') + u32::from('0')).expect("an ASCII digit")
    } else {
        c
    }
}

/// ０–９ → 0–9, nothing else.
pub fn fold_fullwidth_digits(s: &str) -> Cow<'_, str> {
    if s.is_ascii() || !s.chars().any(is_fullwidth_digit) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(s.chars().map(ascii_digit).collect())
}

/// Hyphens, minus signs, dashes and the prolonged sound mark: what people type between the
/// groups of a number, or what a JIS/CP932 round trip turns a hyphen into.
fn is_dash_like(c: char) -> bool {
    matches!(
        c,
        '-' | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FF0D}' | '\u{30FC}' | '\u{FF70}'
    )
}

/// An identifier as sent: full-width digits folded, and every space (ASCII, U+3000, any
/// whitespace) and dash-like character removed, wherever it stands. Only for identifiers: a
/// dash inside an identifier is a typing convention, never part of the number.
pub fn clean_identifier(s: &str) -> Cow<'_, str> {
    let drop = |c: char| c.is_whitespace() || is_dash_like(c);
    if !s.chars().any(|c| drop(c) || is_fullwidth_digit(c)) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(s.chars().filter(|&c| !drop(c)).map(ascii_digit).collect())
}

/// Name kana's one separator style: each run of ASCII or full-width spaces becomes one U+3000,
/// none at either end.
pub fn normalise_kana_separator(s: &str) -> String {
    s.split([' ', '\u{3000}'])
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("\u{3000}")
}

/// Small kana → large, for matching only (old resident systems often lack small kana, so
/// `キョウコ` was stored as `キヨウコ`). Never apply to what is sent.
pub fn fold_small_kana(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            // Small vowels, っ/ッ, ゃゅょ/ャュョ and ゎ/ヮ sit one code point below the large form.
            'ぁ' | 'ぃ' | 'ぅ' | 'ぇ' | 'ぉ' | 'っ' | 'ゃ' | 'ゅ' | 'ょ' | 'ゎ' | 'ァ' | 'ィ'
            | 'ゥ' | 'ェ' | 'ォ' | 'ッ' | 'ャ' | 'ュ' | 'ョ' | 'ヮ' => {
                char::from_u32(u32::from(c) + 1).expect("the large kana")
            }
            'ゕ' => 'か',
            'ゖ' => 'け',
            'ヵ' => 'カ',
            'ヶ' => 'ケ',
            _ => c,
        })
        .collect()
}

/// A dash-like character between two digits becomes the hyphen of the digits' width: `-`
/// between ASCII digits, `－` (U+FF0D) between full-width ones (`９−１０` → `９－１０`, `2ー5` →
/// `2-5`); between digits of different widths, the width of the digit before it (`１ー2` →
/// `１－2`). In house numbers its meaning is certain, and one address keeps one form. Nothing
/// else changes: a dash not between two digits, or two dashes in a row, stays; never apply to
/// names (`ー` is a kana there).
pub fn fold_house_number_dashes(s: &str) -> Cow<'_, str> {
    let chars: Vec<char> = s.chars().collect();
    let folded = |i: usize| -> Option<char> {
        let c = chars[i];
        if !is_dash_like(c) || i == 0 {
            return None;
        }
        let (before, after) = (chars[i - 1], *chars.get(i + 1)?);
        let is_digit = |d: char| d.is_ascii_digit() || is_fullwidth_digit(d);
        if !is_digit(before) || !is_digit(after) {
            return None;
        }
        let hyphen = if is_fullwidth_digit(before) {
            '\u{FF0D}'
        } else {
            '-'
        };
        (c != hyphen).then_some(hyphen)
    };
    if !(0..chars.len()).any(|i| folded(i).is_some()) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        (0..chars.len())
            .map(|i| folded(i).unwrap_or(chars[i]))
            .collect(),
    )
}

/// A 外字 the site's table does not map. Carries its position only: the character itself means
/// nothing outside the source system.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GaijiError {
    /// Index, in characters, of the first unmapped 外字.
    pub char_index: usize,
}

impl fmt::Display for GaijiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unmapped 外字 at character {}", self.char_index)
    }
}

impl std::error::Error for GaijiError {}

/// Replaces each private-use character through the site's table (`SiteTables::gaiji`).
pub fn map_gaiji<'a>(
    s: &'a str,
    table: &BTreeMap<String, String>,
) -> Result<Cow<'a, str>, GaijiError> {
    if s.is_ascii() || !s.chars().any(is_gaiji) {
        return Ok(Cow::Borrowed(s));
    }
    let mut out = String::with_capacity(s.len());
    for (char_index, c) in s.chars().enumerate() {
        if !is_gaiji(c) {
            out.push(c);
            continue;
        }
        let mut buf = [0u8; 4];
        let replacement = table
            .get(&*c.encode_utf8(&mut buf))
            .ok_or(GaijiError { char_index })?;
        out.push_str(replacement);
    }
    Ok(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_path_agrees_with_the_lookup() {
        for cp in (0..0x0300u32).chain(0x3000..0xA000).chain(0xFF00..0xFFF0) {
            let Some(c) = char::from_u32(cp) else {
                continue;
            };
            let mut buf = [0u8; 4];
            assert!(
                unicode_normalization::is_nfc(c.encode_utf8(&mut buf)),
                "U+{cp:04X}"
            );
        }
    }

    #[test]
    fn widening_composes_dakuten() {
        assert_eq!(widen_halfwidth_kana("ﾔﾏﾀﾞ ﾀﾛｳ"), "ヤマダ タロウ");
        assert_eq!(widen_halfwidth_kana("ｳﾞｨｸﾄﾙ"), "ヴィクトル");
        assert_eq!(widen_halfwidth_kana("ﾊﾟﾊﾟ"), "パパ");
        assert_eq!(widen_halfwidth_kana("カ゛"), "ガ");
        assert_eq!(widen_halfwidth_kana("ハ゜"), "パ");
        assert_eq!(widen_halfwidth_kana("ｶ゛"), "ガ");
        assert_eq!(widen_halfwidth_kana("カﾞ"), "ガ");
        // No precomposed form: the spacing mark stays for the kana class to flag.
        assert_eq!(widen_halfwidth_kana("ア゛"), "ア゛");
        assert_eq!(widen_halfwidth_kana("゛"), "゛");
    }

    #[test]
    fn widening_is_not_nfkc() {
        for kept in [
            "①",
            "㈱",
            "～",
            "ＡＢＣ",
            "１２３",
            "髙橋",
            "﨑",
            "\u{FA10}",
            "\u{212B}",
        ] {
            assert!(
                matches!(widen_halfwidth_kana(kept), Cow::Borrowed(_)),
                "{kept}"
            );
        }
        assert_eq!(widen_halfwidth_kana("①ﾃﾞﾝｷ㈱"), "①デンキ㈱");
        assert_eq!(widen_halfwidth_kana("\u{FA10}ｶﾞ"), "\u{FA10}ガ");
        // NFC still composes decomposed text from UTF-8 sources.
        assert_eq!(widen_halfwidth_kana("カ\u{3099}"), "ガ");
    }

    #[test]
    fn digits_and_identifiers() {
        assert_eq!(fold_fullwidth_digits("１２３４５６６"), "1234566");
        assert_eq!(fold_fullwidth_digits("Ａ１"), "Ａ1");
        assert!(matches!(fold_fullwidth_digits("1234566"), Cow::Borrowed(_)));
        assert_eq!(clean_identifier(" ８１１３－６２４４　"), "81136244");
        assert_eq!(clean_identifier("1234-5678-9018"), "123456789018");
        assert_eq!(clean_identifier("1234 5678\u{2212}9018"), "123456789018");
        assert!(matches!(clean_identifier("1234566"), Cow::Borrowed(_)));
    }

    #[test]
    fn kana_separator_and_small_kana() {
        assert_eq!(
            normalise_kana_separator(" ヤマダ  \u{3000}タロウ "),
            "ヤマダ\u{3000}タロウ"
        );
        assert_eq!(normalise_kana_separator("ヤマダ"), "ヤマダ");
        assert_eq!(normalise_kana_separator("  "), "");
        assert_eq!(fold_small_kana("キョウコ"), "キヨウコ");
        assert_eq!(
            fold_small_kana("ァィゥェォッャュョヮヵヶ"),
            "アイウエオツヤユヨワカケ"
        );
        assert_eq!(fold_small_kana("ぁっゃゎゕゖ"), "あつやわかけ");
    }

    #[test]
    fn house_number_dashes() {
        assert_eq!(fold_house_number_dashes("１丁目２−３"), "１丁目２－３");
        assert_eq!(fold_house_number_dashes("９-１０"), "９－１０");
        assert_eq!(fold_house_number_dashes("2ー5"), "2-5");
        assert_eq!(fold_house_number_dashes("1－2‐3"), "1-2-3");
        assert_eq!(fold_house_number_dashes("１ー2"), "１－2");
        assert_eq!(fold_house_number_dashes("1ー２"), "1-２");
        for kept in [
            "ミラー2",
            "2ー",
            "ー2",
            "1--2",
            "1ーー2",
            "コーポ",
            "1-2",
            "１－２",
        ] {
            assert!(
                matches!(fold_house_number_dashes(kept), Cow::Borrowed(_)),
                "{kept}"
            );
        }
    }

    #[test]
    fn gaiji_mapping() {
        let table: BTreeMap<String, String> = [("\u{E000}".to_owned(), "髙".to_owned())]
            .into_iter()
            .collect();
        assert_eq!(map_gaiji("\u{E000}橋", &table).unwrap(), "髙橋");
        assert!(matches!(map_gaiji("高橋", &table), Ok(Cow::Borrowed(_))));
        assert_eq!(
            map_gaiji("愛\u{E000}\u{E001}", &table),
            Err(GaijiError { char_index: 2 })
        );
    }
}
