//! Era and Gregorian date parsing, both modes: a date that parses prints as ISO, and the ISO
//! text and the compact era form of that day parse back to the same day.

use pmhlink_rules::CivilDate;
use pmhlink_rules::era::{DateMode, EraTable, format_era_compact, is_open_end, parse_date};

pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let table = EraTable::default();
    let _ = is_open_end(text, &table);
    let _ = CivilDate::parse_iso(text);
    for mode in [DateMode::Strict, DateMode::Lenient] {
        let Ok(parsed) = parse_date(text, &table, mode) else {
            continue;
        };
        let iso = parsed.date.to_string();
        assert_eq!(
            CivilDate::parse_iso(&iso),
            Ok(parsed.date),
            "ISO text reads back"
        );
        let again = parse_date(&iso, &table, DateMode::Strict).expect("ISO text parses");
        assert_eq!(again.date, parsed.date);
        if let Some(compact) = format_era_compact(parsed.date) {
            let back = parse_date(&compact, &table, DateMode::Strict)
                .expect("the compact era form of a day parses");
            assert_eq!(
                back.date, parsed.date,
                "the compact era form names the same day"
            );
        }
    }
}
