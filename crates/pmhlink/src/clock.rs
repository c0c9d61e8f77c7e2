//! The one place the binary reads the clock: rules take "today" as a parameter.

use std::time::{SystemTime, UNIX_EPOCH};

use pmhlink_rules::CivilDate;

const JST_OFFSET_SECS: i64 = 9 * 3600;

/// Today's date in Japan, where every municipality is.
pub fn today_in_japan() -> CivilDate {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    CivilDate::from_unix_days((secs + JST_OFFSET_SECS).div_euclid(86_400))
}
