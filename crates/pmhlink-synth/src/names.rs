//! Name tables: (kanji, full-width katakana reading). Readings avoid ヮ ヰ ヱ ヵ ヶ, which
//! half-width kana cannot write.

use crate::rng::SplitMix64;

pub type NameEntry = (&'static str, &'static str);

const FAMILY: &[NameEntry] = &[
    ("佐藤", "サトウ"),
    ("鈴木", "スズキ"),
    ("高橋", "タカハシ"),
    ("田中", "タナカ"),
    ("伊藤", "イトウ"),
    ("渡辺", "ワタナベ"),
    ("山本", "ヤマモト"),
    ("中村", "ナカムラ"),
    ("小林", "コバヤシ"),
    ("加藤", "カトウ"),
    ("吉田", "ヨシダ"),
    ("山田", "ヤマダ"),
    ("佐々木", "ササキ"),
    ("山口", "ヤマグチ"),
    ("松本", "マツモト"),
    ("井上", "イノウエ"),
    ("木村", "キムラ"),
    ("林", "ハヤシ"),
    ("斎藤", "サイトウ"),
    ("清水", "シミズ"),
    ("服部", "ハットリ"),
    ("長谷川", "ハセガワ"),
    ("堀田", "ホッタ"),
    ("五十嵐", "イガラシ"),
    ("渋谷", "シブヤ"),
    ("長尾", "ナガオ"),
    ("東海林", "ショウジ"),
    ("百瀬", "モモセ"),
    ("石川", "イシカワ"),
    ("前田", "マエダ"),
];

/// Spellings with CP932-only characters (IBM extensions 髙 U+9AD9, 﨑 U+FA11): encodable in
/// CP932, outside JIS X 0208, so they draw a warning downstream.
const FAMILY_EXTENDED: &[NameEntry] = &[
    ("髙橋", "タカハシ"),
    ("山﨑", "ヤマサキ"),
    ("髙木", "タカギ"),
    ("宮﨑", "ミヤザキ"),
];

/// Spellings CP932 cannot write at all (𠮷 U+20BB7): the vendor system stores them with a 外字.
pub const FAMILY_GAIJI: &[NameEntry] = &[
    ("𠮷田", "ヨシダ"),
    ("𠮷川", "ヨシカワ"),
    ("𠮷村", "ヨシムラ"),
];

const GIVEN_MALE: &[NameEntry] = &[
    ("太郎", "タロウ"),
    ("翔太", "ショウタ"),
    ("大輝", "ダイキ"),
    ("健一", "ケンイチ"),
    ("亮", "リョウ"),
    ("拓海", "タクミ"),
    ("蓮", "レン"),
    ("悠真", "ユウマ"),
    ("一郎", "イチロウ"),
    ("博", "ヒロシ"),
    ("湊", "ミナト"),
    ("隼人", "ハヤト"),
    ("徹", "トオル"),
    ("学", "マナブ"),
    ("修", "オサム"),
    ("淳一", "ジュンイチ"),
    ("駿", "シュン"),
    ("豪", "ゴウ"),
];

const GIVEN_FEMALE: &[NameEntry] = &[
    ("花子", "ハナコ"),
    ("陽菜", "ヒナ"),
    ("結衣", "ユイ"),
    ("美咲", "ミサキ"),
    ("恵子", "ケイコ"),
    ("由美", "ユミ"),
    ("さくら", "サクラ"),
    ("杏", "アン"),
    ("千尋", "チヒロ"),
    ("京子", "キョウコ"),
    ("葵", "アオイ"),
    ("芽依", "メイ"),
    ("和子", "カズコ"),
    ("智子", "トモコ"),
    ("優花", "ユウカ"),
    ("菜々", "ナナ"),
    ("舞", "マイ"),
    ("綾乃", "アヤノ"),
];

/// Foreign residents registered in katakana: the name is its own reading.
const FOREIGN_FAMILY: &[&str] = &["グエン", "スミス", "キム", "ガルシア", "シャルマ"];
const FOREIGN_GIVEN: &[&str] = &[
    "ヴィクトル",
    "ジャック",
    "エマ",
    "ヴァン",
    "チャン",
    "ソフィア",
];

/// Per-mille shares of the rarer kinds of name.
const EXTENDED_PER_MILLE: u64 = 20;
const FOREIGN_PER_MILLE: u64 = 10;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonName {
    pub family: NameEntry,
    /// Given name and reading.
    pub given: NameEntry,
}

/// One U+3000 between family and given name: the sent form's one separator.
pub const NAME_SEPARATOR: char = '\u{3000}';

impl PersonName {
    pub fn draw(rng: &mut SplitMix64, female: bool) -> Self {
        let roll = rng.below(1000);
        if roll < FOREIGN_PER_MILLE {
            let family = *rng.pick(FOREIGN_FAMILY);
            let given = *rng.pick(FOREIGN_GIVEN);
            return PersonName {
                family: (family, family),
                given: (given, given),
            };
        }
        let family_table = if roll < FOREIGN_PER_MILLE + EXTENDED_PER_MILLE {
            FAMILY_EXTENDED
        } else {
            FAMILY
        };
        let family = *rng.pick(family_table);
        let given = *rng.pick(if female { GIVEN_FEMALE } else { GIVEN_MALE });
        PersonName { family, given }
    }

    pub fn kanji(&self) -> String {
        format!("{}{NAME_SEPARATOR}{}", self.family.0, self.given.0)
    }

    pub fn kana(&self) -> String {
        format!("{}{NAME_SEPARATOR}{}", self.family.1, self.given.1)
    }

    pub fn has_extended_kanji(&self) -> bool {
        FAMILY_EXTENDED.contains(&self.family)
    }
}

#[cfg(test)]
pub(crate) fn all_entries() -> impl Iterator<Item = NameEntry> {
    let foreign = FOREIGN_FAMILY.iter().chain(FOREIGN_GIVEN).map(|&n| (n, n));
    FAMILY
        .iter()
        .chain(FAMILY_EXTENDED)
        .chain(FAMILY_GAIJI)
        .chain(GIVEN_MALE)
        .chain(GIVEN_FEMALE)
        .copied()
        .chain(foreign)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pmhlink_rules::text::{encode_cp932, has_outside_jis_x0208};

    #[test]
    fn repertoires_are_as_labelled() {
        for (kanji, _) in FAMILY.iter().chain(GIVEN_MALE).chain(GIVEN_FEMALE) {
            assert!(!has_outside_jis_x0208(kanji), "{kanji}");
        }
        for (kanji, _) in FAMILY_EXTENDED {
            assert!(
                encode_cp932(kanji).is_ok() && has_outside_jis_x0208(kanji),
                "{kanji}"
            );
        }
        for (kanji, _) in FAMILY_GAIJI {
            assert!(encode_cp932(kanji).is_err(), "{kanji}");
        }
    }

    #[test]
    fn readings_are_katakana_that_half_width_can_write() {
        for (_, kana) in all_entries() {
            assert!(
                kana.chars()
                    .all(|c| matches!(c, 'ァ'..='ヴ' | 'ー') && !"ヮヰヱ".contains(c)),
                "{kana}"
            );
        }
    }
}
