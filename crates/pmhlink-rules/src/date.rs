//! A civil (proleptic Gregorian) date: all PMH needs, without a date-time dependency.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CivilDate {
    year: u16,
    month: u8,
    day: u8,
}

/// Why a `YYYY-MM-DD` string is not a date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IsoDateError {
    /// Not of the shape `YYYY-MM-DD` (ASCII digits, hyphens).
    Shape,
    /// The shape is right but the day does not exist (`2025-02-30`).
    Impossible,
}

pub fn is_leap(year: u16) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

pub fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

impl CivilDate {
    pub fn new(year: u16, month: u8, day: u8) -> Option<Self> {
        (year >= 1 && (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month))
            .then_some(CivilDate { year, month, day })
    }

    pub fn year(self) -> u16 {
        self.year
    }

    pub fn month(self) -> u8 {
        self.month
    }

    pub fn day(self) -> u8 {
        self.day
    }

    /// Parses the sent form `YYYY-MM-DD`, and nothing else.
    pub fn parse_iso(s: &str) -> Result<Self, IsoDateError> {
        let b = s.as_bytes();
        let shape_ok = b.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
        if !shape_ok {
            return Err(IsoDateError::Shape);
        }
        let num = |r: std::ops::Range<usize>| s[r].parse::<u16>().expect("digits");
        let month = u8::try_from(num(5..7)).expect("two digits");
        let day = u8::try_from(num(8..10)).expect("two digits");
        CivilDate::new(num(0..4), month, day).ok_or(IsoDateError::Impossible)
    }

    /// The date `days` after 1970-01-01 (days may be negative), by Howard Hinnant's
    /// civil-from-days algorithm. The caller supplies "today" so that rules stay clock-free.
    pub fn from_unix_days(days: i64) -> Self {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as u16;
        CivilDate { year, month, day }
    }
}

impl CivilDate {
    /// Days from 1970-01-01 to this date (negative before it): the inverse of
    /// [`CivilDate::from_unix_days`], by Hinnant's days-from-civil.
    pub fn to_unix_days(self) -> i64 {
        let (m, d) = (i64::from(self.month), i64::from(self.day));
        let y = i64::from(self.year) - i64::from(m <= 2);
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }
}

impl fmt::Display for CivilDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_days_round_trip() {
        for days in (-700_000..800_000)
            .step_by(97)
            .chain([0, 59, 60, 365, 10_956, 20_000])
        {
            assert_eq!(
                CivilDate::from_unix_days(days).to_unix_days(),
                days,
                "{days}"
            );
        }
    }

    #[test]
    fn iso_parsing() {
        assert_eq!(
            CivilDate::parse_iso("2025-04-01").unwrap().to_string(),
            "2025-04-01"
        );
        assert_eq!(CivilDate::parse_iso("2024-02-29").map(|d| d.day()), Ok(29));
        assert_eq!(
            CivilDate::parse_iso("2025-02-29"),
            Err(IsoDateError::Impossible)
        );
        assert_eq!(
            CivilDate::parse_iso("2025-13-01"),
            Err(IsoDateError::Impossible)
        );
        for bad in [
            "2025/04/01",
            "20250401",
            "２０２５-04-01",
            "2025-4-1",
            "R070401",
            "",
        ] {
            assert_eq!(CivilDate::parse_iso(bad), Err(IsoDateError::Shape), "{bad}");
        }
    }

    #[test]
    fn unix_days() {
        assert_eq!(CivilDate::from_unix_days(0).to_string(), "1970-01-01");
        assert_eq!(CivilDate::from_unix_days(20_454).to_string(), "2026-01-01");
        assert_eq!(CivilDate::from_unix_days(-1).to_string(), "1969-12-31");
    }
}
