//! Addresses as resident systems hold them. Each spelling (ASCII or full-width digits, a
//! circled number for a building) is the address itself, sent as written: folding ① or
//! full-width digits in an address is not a certain-meaning normalisation.

use crate::kana::to_fullwidth_digits;
use crate::rng::SplitMix64;

const TOWNS: &[&str] = &[
    "若葉町",
    "桜台",
    "緑が丘",
    "本町",
    "東原",
    "西原",
    "中央",
    "旭町",
    "栄町",
    "泉町",
];
const BUILDINGS: &[&str] = &["さくらハイツ", "コーポ若葉", "メゾン旭", "グリーンヒルズ"];
const CIRCLED: &[&str] = &["①", "②", "③", "④", "⑤"];

/// Per-mille shares of the spellings.
const FULLWIDTH_PER_MILLE: u64 = 150;
const CIRCLED_PER_MILLE: u64 = 20;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Address {
    pub text: String,
    /// Holds an NEC special character (①), outside JIS X 0208.
    pub has_circled: bool,
}

impl Address {
    pub fn draw(rng: &mut SplitMix64, prefecture: &str, city: &str) -> Self {
        let town = rng.pick(TOWNS);
        let (chome, ban, go) = (rng.between(1, 5), rng.between(1, 30), rng.between(1, 20));
        let roll = rng.below(1000);
        let building = rng.chance(0.3).then(|| {
            format!(
                "{}{}",
                rng.pick(BUILDINGS),
                rng.between(1, 5) * 100 + rng.between(1, 9)
            )
        });
        let mut has_circled = false;
        let place = if roll < CIRCLED_PER_MILLE {
            has_circled = true;
            format!(
                "{chome}丁目{ban}-{go}{town}団地{}号棟{}号室",
                rng.pick(CIRCLED),
                rng.between(1, 4) * 100 + rng.between(1, 9)
            )
        } else if roll < CIRCLED_PER_MILLE + FULLWIDTH_PER_MILLE {
            to_fullwidth_digits(&format!(
                "{chome}丁目{ban}番{go}号{}",
                building.unwrap_or_default()
            ))
        } else {
            format!("{chome}-{ban}-{go}{}", building.unwrap_or_default())
        };
        Address {
            text: format!("{prefecture}{city}{town}{place}"),
            has_circled,
        }
    }
}
