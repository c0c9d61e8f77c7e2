//! Code tables: prefectures (JIS X 0401), national 法別番号, insurers' 法別番号, and the
//! per-site table of local (地単) programmes, which is data a site supplies, never code.

use serde::{Deserialize, Serialize};

const PREFECTURES: [&str; 47] = [
    "北海道",
    "青森県",
    "岩手県",
    "宮城県",
    "秋田県",
    "山形県",
    "福島県",
    "茨城県",
    "栃木県",
    "群馬県",
    "埼玉県",
    "千葉県",
    "東京都",
    "神奈川県",
    "新潟県",
    "富山県",
    "石川県",
    "福井県",
    "山梨県",
    "長野県",
    "岐阜県",
    "静岡県",
    "愛知県",
    "三重県",
    "滋賀県",
    "京都府",
    "大阪府",
    "兵庫県",
    "奈良県",
    "和歌山県",
    "鳥取県",
    "島根県",
    "岡山県",
    "広島県",
    "山口県",
    "徳島県",
    "香川県",
    "愛媛県",
    "高知県",
    "福岡県",
    "佐賀県",
    "長崎県",
    "熊本県",
    "大分県",
    "宮崎県",
    "鹿児島県",
    "沖縄県",
];

/// The prefecture named by a two-digit 都道府県番号 (`"13"` → 東京都).
pub fn prefecture_name(code: &str) -> Option<&'static str> {
    let n: usize = (code.len() == 2 && code.bytes().all(|b| b.is_ascii_digit()))
        .then(|| code.parse().ok())
        .flatten()?;
    PREFECTURES.get(n.checked_sub(1)?).copied()
}

/// National 公費 法別番号, with the names `domain-rules.md` gives.
pub const NATIONAL_HOUBETSU: &[(&str, Option<&str>)] = &[
    ("10", None),
    ("11", None),
    ("12", None),
    ("13", None),
    ("14", None),
    ("15", Some("更生医療")),
    ("16", Some("育成医療")),
    ("17", None),
    ("18", None),
    ("19", None),
    ("20", None),
    ("21", Some("精神通院")),
    ("22", None),
    ("23", Some("養育医療")),
    ("24", None),
    ("25", None),
    ("28", None),
    ("29", None),
    ("30", None),
    ("38", None),
    ("51", None),
    ("52", Some("小児慢性")),
    ("53", None),
    ("54", Some("指定難病")),
    ("62", None),
    ("66", None),
    ("79", None),
    ("86", None),
];

/// 法別番号 of health insurers: in a 公費 field they are a typing error.
pub const INSURER_HOUBETSU: &[&str] = &[
    "01", "02", "03", "04", "05", "06", "07", "08", "09", "31", "32", "33", "34", "39", "63", "67",
    "72", "73", "74", "75",
];

/// One local (地単) programme a site registers: prefecture + 法別 (+ optional 実施機関 pattern).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalProgram {
    /// 都道府県番号, two digits.
    pub prefecture: String,
    /// 法別番号, two digits (local programmes mostly use 80–99, assigned per prefecture).
    pub houbetsu: String,
    /// 実施機関番号 pattern, three characters where `?` matches any digit; absent = any.
    #[serde(default)]
    pub agency: Option<String>,
    /// First day the assignment holds (`YYYY-MM-DD`); absent = always.
    #[serde(default)]
    pub valid_from: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

/// What a site tells the rules about itself.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteTables {
    #[serde(default)]
    pub local_programs: Vec<LocalProgram>,
    /// 外字 mapping: a private-use character (as a one-character string) → its replacement.
    #[serde(default)]
    pub gaiji: std::collections::BTreeMap<String, String>,
}

/// What a 公費負担者番号's 法別番号 says about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HoubetsuClass {
    National,
    /// A local programme the site registered.
    Local,
    /// A health insurer's 法別番号: a typing error in a 公費 field.
    Insurer,
    /// Neither national, nor an insurer, nor registered by the site.
    Unknown,
}

fn agency_matches(pattern: &str, agency: &str) -> bool {
    pattern.len() == agency.len()
        && pattern
            .bytes()
            .zip(agency.bytes())
            .all(|(p, a)| p == b'?' || p == a)
}

impl SiteTables {
    /// Classifies an 8-digit 公費負担者番号 on the day `on` (`YYYY-MM-DD`, compared as text,
    /// which orders ISO dates correctly).
    pub fn classify_insurer(&self, insurer_number: &str, on: &str) -> HoubetsuClass {
        let (houbetsu, prefecture, agency) = (
            &insurer_number[0..2],
            &insurer_number[2..4],
            &insurer_number[4..7],
        );
        if NATIONAL_HOUBETSU.iter().any(|(h, _)| *h == houbetsu) {
            return HoubetsuClass::National;
        }
        if INSURER_HOUBETSU.contains(&houbetsu) {
            return HoubetsuClass::Insurer;
        }
        let registered = self.local_programs.iter().any(|p| {
            p.houbetsu == houbetsu
                && p.prefecture == prefecture
                && p.agency
                    .as_deref()
                    .is_none_or(|pat| agency_matches(pat, agency))
                && p.valid_from.as_deref().is_none_or(|from| from <= on)
        });
        if registered {
            HoubetsuClass::Local
        } else {
            HoubetsuClass::Unknown
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefectures() {
        assert_eq!(prefecture_name("01"), Some("北海道"));
        assert_eq!(prefecture_name("13"), Some("東京都"));
        assert_eq!(prefecture_name("23"), Some("愛知県"));
        assert_eq!(prefecture_name("47"), Some("沖縄県"));
        for bad in ["00", "48", "99", "1", "１３", ""] {
            assert_eq!(prefecture_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn classification() {
        let site = SiteTables {
            local_programs: vec![LocalProgram {
                prefecture: "13".into(),
                houbetsu: "88".into(),
                agency: Some("82?".into()),
                valid_from: Some("2020-04-01".into()),
                name: Some("マル乳".into()),
            }],
            ..Default::default()
        };
        for (number, on, class) in [
            ("54016027", "2025-04-01", HoubetsuClass::National),
            ("06130488", "2025-04-01", HoubetsuClass::Insurer),
            ("88138243", "2025-04-01", HoubetsuClass::Local),
            ("88138243", "2019-04-01", HoubetsuClass::Unknown),
            ("88238243", "2025-04-01", HoubetsuClass::Unknown),
            ("81136244", "2025-04-01", HoubetsuClass::Unknown),
        ] {
            assert_eq!(site.classify_insurer(number, on), class, "{number} on {on}");
        }
    }
}
