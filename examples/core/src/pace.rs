//! The pause between the frames of `GET /accounts/export`, asked for with `?pace_ms=N`.

use std::time::Duration;

/// The longest pause between frames a client may ask for: a slow export is a demonstration, not a way to hold a
/// connection open for free.
pub const MAX_PACE: Duration = Duration::from_secs(1);

/// The pause asked for by `?pace_ms=N` in `query` (the raw query string): none without it, `Err` with a message
/// for a value that is not a whole number of milliseconds up to [`MAX_PACE`].
///
/// # Errors
/// The message to answer with a 400, from [`from_millis`].
pub fn pace(query: Option<&str>) -> Result<Duration, String> {
    let value = query
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find_map(|(name, value)| (name == "pace_ms").then_some(value));
    from_millis(value)
}

/// The pause of a `pace_ms` value already taken out of the query: none when absent.
///
/// # Errors
/// The message to answer with a 400 when `value` is not a whole number of milliseconds up to [`MAX_PACE`].
pub fn from_millis(value: Option<&str>) -> Result<Duration, String> {
    let Some(value) = value else {
        return Ok(Duration::ZERO);
    };
    let limit = MAX_PACE.as_millis();
    match value.parse::<u64>() {
        Ok(millis) if u128::from(millis) <= limit => Ok(Duration::from_millis(millis)),
        _ => Err(invalid()),
    }
}

/// The message for a `pace_ms` that is not a whole number of milliseconds up to [`MAX_PACE`].
pub fn invalid() -> String {
    format!(
        "pace_ms must be a whole number of milliseconds from 0 to {}",
        MAX_PACE.as_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pace_is_read_from_the_query() {
        assert_eq!(pace(None), Ok(Duration::ZERO));
        assert_eq!(pace(Some("x=1")), Ok(Duration::ZERO));
        assert_eq!(pace(Some("a=b&pace_ms=25")), Ok(Duration::from_millis(25)));
        assert!(pace(Some("pace_ms=-1")).is_err());
        assert!(pace(Some("pace_ms=1001")).is_err());
        assert!(pace(Some("pace_ms=")).is_err());
        assert_eq!(from_millis(Some("1000")), Ok(MAX_PACE));
        assert_eq!(from_millis(Some("x")), Err(invalid()));
    }
}
