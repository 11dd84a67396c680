//! The shape of a summary: its window and the quantiles it reports.

use std::sync::Arc;
use std::time::Duration;

use crate::Error;

/// Largest number of age buckets a window can have.
const MAX_AGE_BUCKETS: u32 = 60;
/// Shortest window.
const MIN_MAX_AGE: Duration = Duration::from_secs(1);

/// How a [`Summary`](crate::Summary) is shaped: the window and the quantiles it reports.
///
/// The default is the Prometheus Go client's classic choice: a 10-minute window in 5 age buckets
/// and the quantiles 0.5, 0.9 and 0.99. Every value is validated when it is set, so a
/// `SummaryOptions` is always usable.
///
/// ```
/// use std::time::Duration;
/// use routemeter::SummaryOptions;
///
/// let options = SummaryOptions::default()
///     .with_window(Duration::from_secs(60), 6)?
///     .with_quantiles(vec![0.99, 0.5])?;
/// assert_eq!(options.quantiles(), &[0.5, 0.99]);
/// # Ok::<(), routemeter::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryOptions {
    max_age: Duration,
    age_buckets: u32,
    /// Shared by every summary built from these options.
    quantiles: Arc<[f64]>,
}

impl Default for SummaryOptions {
    fn default() -> Self {
        SummaryOptions {
            max_age: Duration::from_secs(600),
            age_buckets: 5,
            quantiles: Arc::from([0.5, 0.9, 0.99]),
        }
    }
}

impl SummaryOptions {
    /// Sets the window: quantiles cover the observations of the last `max_age`, forgotten
    /// `max_age / age_buckets` at a time.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] unless `age_buckets` is in `1..=60`, `max_age` is at least one
    /// second and fits in `u64` nanoseconds, and `max_age` splits into `age_buckets` slots of a
    /// whole number of nanoseconds.
    pub fn with_window(mut self, max_age: Duration, age_buckets: u32) -> Result<Self, Error> {
        if !(1..=MAX_AGE_BUCKETS).contains(&age_buckets) {
            return Err(Error::InvalidConfig(format!(
                "summary age buckets must be between 1 and {MAX_AGE_BUCKETS}, not {age_buckets}"
            )));
        }
        if max_age < MIN_MAX_AGE {
            return Err(Error::InvalidConfig(format!(
                "summary max age must be at least one second, not {max_age:?}"
            )));
        }
        let nanos = u64::try_from(max_age.as_nanos()).map_err(|_| {
            Error::InvalidConfig(format!(
                "summary max age {max_age:?} is too long: at most {:?}",
                Duration::from_nanos(u64::MAX)
            ))
        })?;
        if nanos % u64::from(age_buckets) != 0 {
            return Err(Error::InvalidConfig(format!(
                "summary max age {max_age:?} does not split into {age_buckets} age buckets of \
                 a whole number of nanoseconds"
            )));
        }
        self.max_age = max_age;
        self.age_buckets = age_buckets;
        Ok(self)
    }

    /// Sets the quantiles to report, each in `[0, 1]` (0 is the minimum, 1 the maximum).
    ///
    /// They are sorted ascending, duplicates are dropped and `-0.0` becomes `0.0`; snapshots report
    /// them in that order. An empty list is allowed: the summary then reports only `_sum` and
    /// `_count`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when a quantile is `NaN` or outside `[0, 1]`.
    pub fn with_quantiles(mut self, quantiles: impl Into<Vec<f64>>) -> Result<Self, Error> {
        let mut quantiles = quantiles.into();
        if let Some(bad) = quantiles.iter().find(|q| !(0.0..=1.0).contains(*q)) {
            return Err(Error::InvalidConfig(format!(
                "summary quantile {bad} is not a number between 0 and 1"
            )));
        }
        for q in &mut quantiles {
            // `-0.0` would be rendered as the label `quantile="-0"`.
            *q += 0.0;
        }
        quantiles.sort_by(f64::total_cmp);
        quantiles.dedup();
        self.quantiles = Arc::from(quantiles);
        Ok(self)
    }

    /// The window length.
    pub fn max_age(&self) -> Duration {
        self.max_age
    }

    /// Into how many slots the window is split.
    pub fn age_buckets(&self) -> u32 {
        self.age_buckets
    }

    /// The quantiles reported, ascending.
    pub fn quantiles(&self) -> &[f64] {
        &self.quantiles
    }
}
