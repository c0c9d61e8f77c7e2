//! The fictional municipality and its programmes (制度): what its 制度マスタ would say.

use std::ops::RangeInclusive;

use pmhlink_model::MaxCopayment;
use pmhlink_rules::SiteTables;
use pmhlink_rules::check_digit::with_luhn_check_digit;
use pmhlink_rules::codes::{LocalProgram, prefecture_name};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgrammeKind {
    /// A national 公費: 7-digit 受給者番号 with a check digit, an error when it fails.
    National,
    /// A local (地単) programme: numbering is the municipality's own.
    Local,
}

/// How a programme numbers its recipients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecipientNumbering {
    /// 6 body digits + the Luhn-style check digit.
    CheckDigit7,
    /// 7 digits of which the given per-mille follow the check rule (older ranges predate it).
    Mixed7 { per_mille_following: u32 },
    /// 8 digits: never the 7-digit rule.
    Plain8,
}

/// A copayment cap as the 制度マスタ defines it; every value a string of digits.
/// `kind`: 1 monthly cap, 2 per-visit amount. `burden_definition`: 1 = of the insured copay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CopayCap {
    pub kind: &'static str,
    pub burden_definition: &'static str,
    pub rate_per_month: Option<&'static str>,
    pub amount_per_month: Option<&'static str>,
    pub amount_per_visit: Option<&'static str>,
}

impl CopayCap {
    pub fn to_model(self) -> MaxCopayment {
        let s = |v: Option<&str>| v.map(str::to_owned);
        MaxCopayment {
            kind: Some(self.kind.to_owned()),
            burden_definition: Some(self.burden_definition.to_owned()),
            rate_per_month: s(self.rate_per_month),
            amount_per_month: s(self.amount_per_month),
            amount_per_visit: s(self.amount_per_visit),
            ..MaxCopayment::default()
        }
    }
}

/// 所得区分: a code of the 制度マスタ and the cap it implies (`None`: no copayment).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IncomeSegment {
    pub code: &'static str,
    pub copay: Option<CopayCap>,
}

#[derive(Clone, Debug)]
pub struct Programme {
    /// 機関別受給者証種別ID as registered in PMH (ASCII alphanumerics).
    pub type_id: &'static str,
    /// The subsidy system's own 制度コード, as its export writes it.
    pub vendor_code: &'static str,
    /// 受給者証名.
    pub certification_name: &'static str,
    pub houbetsu: &'static str,
    /// 公費負担者番号 (8 digits, check digit valid).
    pub insurer_number: String,
    pub kind: ProgrammeKind,
    /// 育成医療 does not manage sex: PMH gets `0`.
    pub manages_sex: bool,
    /// 指定難病 prints the 疾病名 on the certificate.
    pub prints_disease: bool,
    /// Whether one person may hold several certificates under one 受給者番号, told apart by
    /// サブキー.
    pub allows_sub_keys: bool,
    pub ages: RangeInclusive<u16>,
    /// Month in which certificates are renewed (periods run from its 1st for a year).
    pub renewal_month: u8,
    pub numbering: RecipientNumbering,
    pub income_segments: &'static [IncomeSegment],
    /// Relative share of certificates.
    pub weight: u32,
}

const fn monthly(rate: &'static str, amount: &'static str) -> Option<CopayCap> {
    Some(CopayCap {
        kind: "1",
        burden_definition: "1",
        rate_per_month: Some(rate),
        amount_per_month: Some(amount),
        amount_per_visit: None,
    })
}

const KODOMO_SEGMENTS: &[IncomeSegment] = &[
    IncomeSegment {
        code: "01",
        copay: None,
    },
    IncomeSegment {
        code: "02",
        copay: Some(CopayCap {
            kind: "2",
            burden_definition: "1",
            rate_per_month: None,
            amount_per_month: None,
            amount_per_visit: Some("200"),
        }),
    },
];

const HITORIOYA_SEGMENTS: &[IncomeSegment] = &[
    IncomeSegment {
        code: "01",
        copay: None,
    },
    IncomeSegment {
        code: "02",
        copay: monthly("10", "18000"),
    },
];

const IKUSEI_SEGMENTS: &[IncomeSegment] = &[
    IncomeSegment {
        code: "01",
        copay: monthly("10", "0"),
    },
    IncomeSegment {
        code: "02",
        copay: monthly("10", "2500"),
    },
    IncomeSegment {
        code: "03",
        copay: monthly("10", "5000"),
    },
    IncomeSegment {
        code: "04",
        copay: monthly("10", "5000"),
    },
    IncomeSegment {
        code: "05",
        copay: monthly("10", "10000"),
    },
    IncomeSegment {
        code: "06",
        copay: monthly("10", "20000"),
    },
];

const NANBYO_SEGMENTS: &[IncomeSegment] = &[
    IncomeSegment {
        code: "01",
        copay: monthly("20", "0"),
    },
    IncomeSegment {
        code: "02",
        copay: monthly("20", "2500"),
    },
    IncomeSegment {
        code: "03",
        copay: monthly("20", "5000"),
    },
    IncomeSegment {
        code: "04",
        copay: monthly("20", "10000"),
    },
    IncomeSegment {
        code: "05",
        copay: monthly("20", "20000"),
    },
    IncomeSegment {
        code: "06",
        copay: monthly("20", "30000"),
    },
];

#[derive(Clone, Debug)]
pub struct Municipality {
    /// 団体コード (5 digits + check digit).
    pub code: &'static str,
    pub prefecture_code: &'static str,
    /// The municipality's name without the prefecture.
    pub name: &'static str,
    pub programmes: Vec<Programme>,
}

impl Municipality {
    /// さくら野市, Tokyo: fictional (団体コード 13999 is unassigned; 8 is its check digit).
    pub fn sakurano() -> Self {
        let insurer =
            |houbetsu: &str, agency: &str| with_luhn_check_digit(&format!("{houbetsu}13{agency}"));
        let programme =
            |type_id, vendor_code, certification_name, houbetsu, agency, kind| Programme {
                type_id,
                vendor_code,
                certification_name,
                houbetsu,
                insurer_number: insurer(houbetsu, agency),
                kind,
                manages_sex: true,
                prints_disease: false,
                allows_sub_keys: false,
                ages: 0..=100,
                renewal_month: 4,
                numbering: RecipientNumbering::CheckDigit7,
                income_segments: KODOMO_SEGMENTS,
                weight: 1,
            };
        let programmes = vec![
            Programme {
                ages: 0..=17,
                renewal_month: 10,
                numbering: RecipientNumbering::Mixed7 {
                    per_mille_following: 850,
                },
                weight: 40,
                ..programme(
                    "M13KODOMO",
                    "010",
                    "子ども医療費助成受給者証",
                    "88",
                    "998",
                    ProgrammeKind::Local,
                )
            },
            Programme {
                ages: 0..=64,
                renewal_month: 11,
                numbering: RecipientNumbering::Plain8,
                income_segments: HITORIOYA_SEGMENTS,
                weight: 20,
                ..programme(
                    "M13HITORIOYA",
                    "020",
                    "ひとり親家庭等医療費助成受給者証",
                    "81",
                    "998",
                    ProgrammeKind::Local,
                )
            },
            Programme {
                manages_sex: false,
                allows_sub_keys: true,
                ages: 0..=17,
                income_segments: IKUSEI_SEGMENTS,
                weight: 10,
                ..programme(
                    "IKUSEI16",
                    "160",
                    "自立支援医療受給者証(育成医療)",
                    "16",
                    "998",
                    ProgrammeKind::National,
                )
            },
            Programme {
                prints_disease: true,
                allows_sub_keys: true,
                renewal_month: 7,
                income_segments: NANBYO_SEGMENTS,
                weight: 30,
                ..programme(
                    "NANBYO54",
                    "540",
                    "特定医療費(指定難病)受給者証",
                    "54",
                    "001",
                    ProgrammeKind::National,
                )
            },
        ];
        Municipality {
            code: "139998",
            prefecture_code: "13",
            name: "さくら野市",
            programmes,
        }
    }

    pub fn prefecture_name(&self) -> &'static str {
        prefecture_name(self.prefecture_code).expect("a JIS X 0401 code")
    }

    /// The site tables a pipeline needs to accept this municipality's local programmes.
    pub fn site_tables(&self) -> SiteTables {
        let local_programs = self
            .programmes
            .iter()
            .filter(|p| p.kind == ProgrammeKind::Local)
            .map(|p| LocalProgram {
                prefecture: self.prefecture_code.to_owned(),
                houbetsu: p.houbetsu.to_owned(),
                agency: Some(p.insurer_number[4..7].to_owned()),
                valid_from: None,
                name: Some(p.certification_name.to_owned()),
            })
            .collect();
        SiteTables {
            local_programs,
            ..SiteTables::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pmhlink_rules::check_digit::check_insurer_number;

    #[test]
    fn programmes_are_well_formed() {
        let m = Municipality::sakurano();
        assert!(m.programmes.len() >= 4);
        for p in &m.programmes {
            assert_eq!(
                check_insurer_number(&p.insurer_number),
                Ok(()),
                "{}",
                p.type_id
            );
            assert_eq!(&p.insurer_number[..2], p.houbetsu);
            assert_eq!(&p.insurer_number[2..4], m.prefecture_code);
            assert!(p.type_id.bytes().all(|b| b.is_ascii_alphanumeric()));
            assert!(!p.income_segments.is_empty());
        }
        assert_eq!(&m.code[..2], m.prefecture_code);
        assert_eq!(m.prefecture_name(), "東京都");
    }
}
