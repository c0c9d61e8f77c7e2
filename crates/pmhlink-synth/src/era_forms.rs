//! The era-date spellings the exports use, all derived from the rules' compact form
//! (`R070401`) so that era boundaries live in one place.

use pmhlink_rules::CivilDate;
use pmhlink_rules::era::{Era, EraTable, format_era_compact};

/// `R070401`.
pub fn compact(date: CivilDate) -> String {
    format_era_compact(date).expect("generated dates lie within 明治–令和 and era year 99")
}

fn split(date: CivilDate) -> (Era, u16) {
    let c = compact(date);
    let era = EraTable::default()
        .letter(c.chars().next().expect("a letter"))
        .expect("a default letter");
    (era, c[1..3].parse().expect("two digits"))
}

/// `5070401`: the era as its digit in the default table (M1 T2 S3 H4 R5).
pub fn digits(date: CivilDate) -> String {
    let table = EraTable::default();
    let (era, _) = split(date);
    let digit = ('0'..='9')
        .find(|&d| table.digit(d) == Some(era))
        .expect("every era has a digit");
    format!("{digit}{}", &compact(date)[1..])
}

/// `令和7年4月1日`, with the first year as 元年 as printed certificates write it.
pub fn kanji(date: CivilDate) -> String {
    let (era, year) = split(date);
    let year = if year == 1 {
        "元".to_owned()
    } else {
        year.to_string()
    };
    format!(
        "{}{year}年{}月{}日",
        era.name_ja(),
        date.month(),
        date.day()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use pmhlink_rules::era::{DateMode, parse_date};

    fn d(y: u16, m: u8, day: u8) -> CivilDate {
        CivilDate::new(y, m, day).unwrap()
    }

    #[test]
    fn forms() {
        assert_eq!(compact(d(2025, 4, 1)), "R070401");
        assert_eq!(digits(d(2025, 4, 1)), "5070401");
        assert_eq!(digits(d(1960, 12, 31)), "3351231");
        assert_eq!(kanji(d(2025, 4, 1)), "令和7年4月1日");
        assert_eq!(kanji(d(2019, 5, 1)), "令和元年5月1日");
    }

    #[test]
    fn the_rules_read_every_form_back() {
        let table = EraTable::default();
        for date in [
            d(1925, 1, 1),
            d(1926, 12, 25),
            d(1989, 1, 8),
            d(2019, 4, 30),
            d(2026, 3, 31),
        ] {
            for form in [compact(date), digits(date), kanji(date)] {
                assert_eq!(
                    parse_date(&form, &table, DateMode::Strict).map(|p| p.date),
                    Ok(date),
                    "{form}"
                );
            }
        }
    }
}
