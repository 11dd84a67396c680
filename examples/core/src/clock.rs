//! UTC timestamps for account events, without a date-time dependency.
//!
//! The tutorial wrote event times as `2006-01-02T15:04:05` (Go's layout, UTC, no zone suffix). Formatting that needs
//! only the conversion from days since 1970 to a civil date, which is a few lines of integer arithmetic.

use std::time::{SystemTime, UNIX_EPOCH};

/// The current time, formatted as [`format_unix`] does.
pub(crate) fn now() -> String {
    // A clock set before 1970 is a misconfigured host; the epoch is a harmless stand-in.
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    format_unix(seconds)
}

/// Seconds since 1970-01-01T00:00:00Z as `YYYY-MM-DDTHH:MM:SS` (UTC).
pub(crate) fn format_unix(seconds: u64) -> String {
    let days = seconds / 86_400;
    let of_day = seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        of_day / 3_600,
        of_day % 3_600 / 60,
        of_day % 60
    )
}

/// Converts days since 1970-01-01 into (year, month, day) of the proleptic Gregorian calendar.
///
/// The calendar repeats every 400 years (146 097 days); counting from 0000-03-01 puts the leap day at the end of
/// each year, so month lengths follow the regular 153-days-per-5-months pattern.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let shifted = days + 719_468;
    let era = shifted / 146_097;
    let day_of_era = shifted % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_unix(0), "1970-01-01T00:00:00");
        assert_eq!(format_unix(951_782_400), "2000-02-29T00:00:00");
        assert_eq!(format_unix(1_514_764_800 + 3_661), "2018-01-01T01:01:01");
        assert_eq!(format_unix(4_107_542_399), "2100-02-28T23:59:59");
    }

    #[test]
    fn now_has_the_layout() {
        let now = now();
        assert_eq!(now.len(), 19);
        assert_eq!(&now[10..11], "T");
    }
}
