//! The opt-in, aggregatable latency histogram (`<namespace>_request_duration_seconds`).
//!
//! Summaries cannot be summed across replicas; histogram buckets can, with
//! `histogram_quantile(0.99, sum by (le) (rate(..._bucket[5m])))`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::primitives::atomic_float::AtomicF64;

/// Prometheus' conventional latency buckets, in seconds.
pub(crate) const DEFAULT_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Request body sizes in bytes, by factors of 4 from 64 B to 16 MiB.
pub(crate) const SIZE_BUCKETS: [f64; 10] = [
    64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0, 16777216.0,
];

/// Cumulative counts of observations at or below each upper bound.
#[derive(Debug)]
pub(crate) struct Histogram {
    bounds: Arc<[f64]>,
    /// One count per bound plus one for `+Inf`; made cumulative only when read.
    counts: Box<[AtomicU64]>,
    sum: AtomicF64,
}

/// A consistent-enough reading of a histogram for one scrape.
pub(crate) struct HistogramSnapshot<'a> {
    pub(crate) bounds: &'a [f64],
    /// Cumulative counts, one per bound, then the `+Inf` count (= total).
    pub(crate) cumulative: Vec<u64>,
    pub(crate) sum: f64,
}

impl Histogram {
    pub(crate) fn new(bounds: Arc<[f64]>) -> Histogram {
        let counts = (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect();
        Histogram {
            bounds,
            counts,
            sum: AtomicF64::default(),
        }
    }

    pub(crate) fn observe(&self, value: f64) {
        if let Some(count) = self.counts.get(self.bucket_of(value)) {
            count.fetch_add(1, Ordering::Relaxed);
        }
        self.sum.add(value);
    }

    /// The bucket `value` is counted in: the first bound that is `>= value`, else (`NaN`
    /// included) `+Inf`, the last one.
    pub(crate) fn bucket_of(&self, value: f64) -> usize {
        self.bounds.partition_point(|bound| *bound < value)
    }

    /// The upper bounds, without `+Inf`.
    #[cfg(feature = "exemplars")]
    pub(crate) fn bounds(&self) -> &[f64] {
        &self.bounds
    }

    #[cfg(any(test, feature = "bench"))]
    pub(crate) fn heap_bytes(&self) -> usize {
        std::mem::size_of::<Histogram>() + self.counts.len() * std::mem::size_of::<AtomicU64>()
    }

    pub(crate) fn snapshot(&self) -> HistogramSnapshot<'_> {
        let mut running = 0;
        let cumulative = self
            .counts
            .iter()
            .map(|count| {
                running += count.load(Ordering::Relaxed);
                running
            })
            .collect();
        HistogramSnapshot {
            bounds: &self.bounds,
            cumulative,
            sum: self.sum.get(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_inclusive_and_counts_cumulative() {
        let histogram = Histogram::new(Arc::from([0.1, 1.0]));
        for value in [0.05, 0.1, 0.5, 1.0, 7.0] {
            histogram.observe(value);
        }
        let snapshot = histogram.snapshot();
        assert_eq!(snapshot.cumulative, vec![2, 4, 5]);
        assert!((snapshot.sum - 8.65).abs() < 1e-9);
    }
}
