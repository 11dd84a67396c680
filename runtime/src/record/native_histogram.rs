//! The opt-in native histogram of a handler's latency: Prometheus' exponential buckets, which
//! sum across replicas like classic ones and need no bounds chosen in advance.
//!
//! A native histogram of schema `s` has bucket boundaries at the powers of `2^(2^-s)`: bucket
//! `k` holds the values of `(2^((k-1)/2^s), 2^(k/2^s)]`, and `[-t, t]` is the zero bucket for a
//! zero threshold `t`. A value is counted at the finest schema, [`FINEST_SCHEMA`] (128 buckets per
//! power of two), found from its bit pattern as the summary finds its bucket: the exponent gives
//! the power of two, the top 8 bits of the mantissa one of 256 cells of it, which a table maps to
//! the bucket that starts the cell, and one comparison with that bucket's upper boundary settles
//! it (no cell holds more than one boundary). So every request costs one table lookup, one
//! comparison and two atomic additions (its bucket, and the sum).
//!
//! Durations run from one nanosecond up: values up to [`ZERO_THRESHOLD`] (`2^-30` s, below one
//! nanosecond, so in practice a duration of 0) count in the zero bucket, and the 65 powers of two
//! from `2^-30` to `2^35` seconds (more than any `u64` of nanoseconds) have pages of 128 counters
//! each, allocated the first time a value lands in them. Memory is so bounded whatever the
//! latencies, at 1 KiB per power of two in use (about 10 for a service's latencies), and 65 KiB at
//! the very most.
//!
//! A scrape reads the counts and, while more than the configured number of buckets hold
//! observations, halves the resolution (schema `s - 1` merges the buckets `2k - 1` and `2k` of
//! schema `s` into bucket `k`), as client_golang does when a histogram reaches its
//! `NativeHistogramMaxBucketNumber`. Since counts only grow, the schema a scrape carries never
//! increases over the life of the process. Reading does not change the counts, so nothing is
//! lost: `histogram_quantile` over a scrape of schema `s` errs by less than `2^(2^-s) - 1`
//! relative to the exact quantile (the exact value and the estimate share a bucket): 0.55% at
//! schema 7, 1.1% at 6, 2.2% at 5, 4.4% at 4, 9% at 3.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use crate::primitives::atomic_float::AtomicF64;
use crate::primitives::lazy_box::LazyBox;

/// The schema values are counted at: 128 buckets per power of two.
pub(crate) const FINEST_SCHEMA: i32 = 7;
/// The coarsest schema Prometheus reads: one bucket per 2^16.
pub(crate) const COARSEST_SCHEMA: i32 = -4;
/// Buckets a native histogram is written with at most, unless configured otherwise: the bound
/// client_golang's documentation suggests, which keeps schema 5 (2.2%) for latencies that
/// span up to five powers of two.
pub(crate) const DEFAULT_MAX_BUCKETS: u32 = 160;
/// The fewest buckets a configuration may ask for: enough for the coarsest schema to hold any
/// duration (the 65 powers of two with pages fall in 5 buckets of schema -4).
pub(crate) const MIN_MAX_BUCKETS: u32 = 8;
/// Buckets per power of two at [`FINEST_SCHEMA`].
const PER_POWER: usize = 1 << FINEST_SCHEMA;
/// The lowest power of two with a page, `2^-30`, below a nanosecond.
const LOWEST_POWER: i32 = -30;
/// Powers of two with pages: `2^-30` up to `2^35` (a `u64` of nanoseconds is below `2^35` s).
const POWERS: usize = 65;
/// Values at or below this many seconds count in the zero bucket.
pub(crate) const ZERO_THRESHOLD: f64 = 1.0 / (1u64 << 30) as f64;
/// The bucket of the values just above [`ZERO_THRESHOLD`], the first of the lowest page.
const LOWEST_KEY: i32 = LOWEST_POWER * PER_POWER as i32 + 1;
/// The bucket every value of `2^35` or more is counted in.
const HIGHEST_KEY: i32 = (LOWEST_POWER + POWERS as i32) * PER_POWER as i32;
/// Mantissa bits of an `f64`.
const MANTISSA_BITS: u32 = 52;
/// Mantissa bits that select a cell of a power of two.
const CELL_BITS: u32 = 8;
/// Bit pattern of `1.0`: a mantissa with it is the value's position in its power of two.
const ONE_BITS: u64 = 0x3FF0_0000_0000_0000;

/// One power of two's buckets.
type Page = [AtomicU64; PER_POWER];

/// A handler's native histogram of durations, in seconds.
pub(crate) struct NativeHistogram {
    table: &'static Table,
    /// Schema [`FINEST_SCHEMA`] buckets, one page per power of two, from `2^-30` up.
    pages: [LazyBox<Page>; POWERS],
    zero: AtomicU64,
    sum: AtomicF64,
    /// The most buckets a scrape carries.
    max_buckets: usize,
}

/// A native histogram as one scrape reads it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct NativeSnapshot {
    pub(crate) schema: i32,
    pub(crate) zero_threshold: f64,
    pub(crate) zero_count: u64,
    /// Observations: the zero bucket's and every bucket's.
    pub(crate) count: u64,
    pub(crate) sum: f64,
    /// The buckets that hold observations, as `(key, count)` by increasing key: bucket `key`
    /// holds the values of `(2^((key-1)/2^schema), 2^(key/2^schema)]`.
    pub(crate) buckets: Vec<(i32, u64)>,
}

impl std::fmt::Debug for NativeHistogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NativeHistogram")
            .field("max_buckets", &self.max_buckets)
            .finish_non_exhaustive()
    }
}

impl NativeHistogram {
    /// An empty histogram written with at most `max_buckets` buckets.
    pub(crate) fn new(max_buckets: u32) -> NativeHistogram {
        NativeHistogram {
            table: Table::get(),
            pages: std::array::from_fn(|_| LazyBox::default()),
            zero: AtomicU64::new(0),
            sum: AtomicF64::default(),
            max_buckets: usize::try_from(max_buckets).unwrap_or(usize::MAX),
        }
    }

    /// Counts a duration of `seconds` (not negative; `NaN` counts in the zero bucket).
    #[inline]
    pub(crate) fn observe(&self, seconds: f64) {
        match self.table.key(seconds) {
            None => {
                self.zero.fetch_add(1, Ordering::Relaxed);
            }
            Some(key) => {
                let index = (key - LOWEST_KEY) as usize;
                if let Some(page) = self.pages.get(index / PER_POWER) {
                    let page = page.get_or_init(|| [const { AtomicU64::new(0) }; PER_POWER]);
                    if let Some(count) = page.get(index % PER_POWER) {
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
        self.sum.add(seconds);
    }

    /// The counts, at the finest schema that needs no more than the configured buckets.
    pub(crate) fn snapshot(&self) -> NativeSnapshot {
        let mut buckets = Vec::new();
        for (page_index, page) in self.pages.iter().enumerate() {
            let Some(page) = page.get() else {
                continue;
            };
            let first = LOWEST_KEY + (page_index * PER_POWER) as i32;
            for (offset, count) in page.iter().enumerate() {
                let count = count.load(Ordering::Relaxed);
                if count > 0 {
                    buckets.push((first + offset as i32, count));
                }
            }
        }
        let schema = reduce(&mut buckets, self.max_buckets);
        let zero_count = self.zero.load(Ordering::Relaxed);
        let count = buckets
            .iter()
            .fold(zero_count, |total, (_, count)| total.wrapping_add(*count));
        NativeSnapshot {
            schema,
            zero_threshold: ZERO_THRESHOLD,
            zero_count,
            count,
            sum: self.sum.get(),
            buckets,
        }
    }

    /// Bytes this histogram occupies, its pages included.
    #[cfg(any(test, feature = "bench"))]
    pub(crate) fn heap_bytes(&self) -> usize {
        std::mem::size_of::<NativeHistogram>()
            + self.pages.iter().filter_map(LazyBox::get).count() * std::mem::size_of::<Page>()
    }
}

/// Halves the resolution of `buckets` (keys at [`FINEST_SCHEMA`], increasing) until at most
/// `max_buckets` remain or the schema is the coarsest; returns the schema reached.
fn reduce(buckets: &mut Vec<(i32, u64)>, max_buckets: usize) -> i32 {
    let mut schema = FINEST_SCHEMA;
    while buckets.len() > max_buckets && schema > COARSEST_SCHEMA {
        // Bucket k of the coarser schema is buckets 2k - 1 and 2k of this one: k = ceil(key / 2).
        for (key, _) in buckets.iter_mut() {
            *key = (*key + 1) >> 1;
        }
        buckets.dedup_by(|next, kept| {
            let same = next.0 == kept.0;
            if same {
                kept.1 = kept.1.wrapping_add(next.1);
            }
            same
        });
        schema -= 1;
    }
    schema
}

/// Where a value goes at [`FINEST_SCHEMA`]: for each cell of a power of two, the bucket that
/// holds its start, and each bucket's upper boundary within the power of two.
struct Table {
    /// `first[c]`: the bucket (`j` of `2^(j/128)`) holding `1 + c/256`.
    first: [u8; 1 << CELL_BITS],
    /// `upper[j] = 2^(j/128)`, `1.0` to `2.0`.
    upper: [f64; PER_POWER + 1],
}

impl Table {
    /// The table, computed once per process.
    fn get() -> &'static Table {
        static TABLE: OnceLock<Table> = OnceLock::new();
        TABLE.get_or_init(|| {
            let upper: [f64; PER_POWER + 1] =
                std::array::from_fn(|j| (j as f64 / PER_POWER as f64).exp2());
            let first = std::array::from_fn(|cell| {
                let start = 1.0 + cell as f64 / (1u32 << CELL_BITS) as f64;
                upper
                    .iter()
                    .position(|bound| *bound >= start)
                    .unwrap_or(PER_POWER) as u8
            });
            Table { first, upper }
        })
    }

    /// The bucket of `value` at [`FINEST_SCHEMA`]; `None` for the zero bucket (`NaN` included).
    #[inline]
    fn key(&self, value: f64) -> Option<i32> {
        // NaN compares as no greater, so it lands in the zero bucket too.
        if value.partial_cmp(&ZERO_THRESHOLD) != Some(std::cmp::Ordering::Greater) {
            return None;
        }
        let bits = value.to_bits();
        let power = (bits >> MANTISSA_BITS) as i32 - 1023;
        if power >= LOWEST_POWER + POWERS as i32 {
            return Some(HIGHEST_KEY);
        }
        let mantissa = bits & ((1 << MANTISSA_BITS) - 1);
        let cell = (mantissa >> (MANTISSA_BITS - CELL_BITS)) as usize;
        let mut bucket = self.first.get(cell).copied().unwrap_or_default() as usize;
        // The value's position in its power of two, in [1, 2): above the bucket's upper
        // boundary, it is in the next one.
        let position = f64::from_bits(mantissa | ONE_BITS);
        if self
            .upper
            .get(bucket)
            .is_some_and(|upper| position > *upper)
        {
            bucket += 1;
        }
        Some(power * PER_POWER as i32 + bucket as i32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bucket of `value` at `schema` as Prometheus defines it: `ceil(log2(value) * 2^schema)`.
    fn reference_key(value: f64, schema: i32) -> i32 {
        (value.log2() * 2f64.powi(schema)).ceil() as i32
    }

    #[test]
    fn values_land_in_the_buckets_prometheus_defines() {
        let table = Table::get();
        let mut value = ZERO_THRESHOLD * 1.0001;
        while value < 3e10 {
            let key = table.key(value);
            let expected = reference_key(value, FINEST_SCHEMA);
            // The logarithm may round across a boundary that the value is within an ulp of.
            let lower = 2f64.powf(f64::from(expected - 1) / PER_POWER as f64);
            let upper = 2f64.powf(f64::from(expected) / PER_POWER as f64);
            let near_boundary =
                (value / lower - 1.0).abs() < 1e-12 || (value / upper - 1.0).abs() < 1e-12;
            if !near_boundary {
                assert_eq!(key, Some(expected), "{value:e}");
            }
            value *= 1.000_731;
        }
    }

    #[test]
    fn boundaries_belong_to_the_bucket_below() {
        let table = Table::get();
        // Bucket k is (2^((k-1)/128), 2^(k/128)]: 1.0 closes bucket 0, 2.0 closes bucket 128.
        assert_eq!(table.key(1.0), Some(0));
        assert_eq!(table.key(f64::from_bits(1.0f64.to_bits() + 1)), Some(1));
        assert_eq!(table.key(2.0), Some(128));
        assert_eq!(table.key(0.5), Some(-128));
        assert_eq!(table.key(0.25), Some(-256));
    }

    #[test]
    fn zero_and_tiny_values_count_in_the_zero_bucket_and_huge_ones_at_the_top() {
        let table = Table::get();
        for zero in [0.0, -0.0, -1.0, ZERO_THRESHOLD, f64::NAN, 1e-300] {
            assert_eq!(table.key(zero), None, "{zero:e}");
        }
        assert_eq!(table.key(1e-9), Some(reference_key(1e-9, FINEST_SCHEMA)));
        assert!(table.key(1e-9).is_some_and(|key| key >= LOWEST_KEY));
        let longest = u64::MAX as f64 / 1e9;
        assert!(table.key(longest).is_some_and(|key| key <= HIGHEST_KEY));
        for huge in [2f64.powi(35), 1e300, f64::INFINITY] {
            assert_eq!(table.key(huge), Some(HIGHEST_KEY), "{huge:e}");
        }
    }

    #[test]
    fn a_histogram_within_its_bound_keeps_the_finest_schema() {
        let histogram = NativeHistogram::new(DEFAULT_MAX_BUCKETS);
        for value in [0.0, 0.001, 0.001, 0.002, 0.1] {
            histogram.observe(value);
        }
        let snapshot = histogram.snapshot();
        assert_eq!(snapshot.schema, FINEST_SCHEMA);
        assert_eq!(snapshot.zero_count, 1);
        assert_eq!(snapshot.count, 5);
        assert!((snapshot.sum - 0.104).abs() < 1e-12);
        let expected: Vec<(i32, u64)> = vec![
            (reference_key(0.001, 7), 2),
            (reference_key(0.002, 7), 1),
            (reference_key(0.1, 7), 1),
        ];
        assert_eq!(snapshot.buckets, expected);
    }

    #[test]
    fn past_the_bound_the_resolution_halves_and_nothing_is_lost() {
        let histogram = NativeHistogram::new(10);
        // 1 ms to 1 s: 10 powers of two; 1000 distinct buckets at schema 7, at most 10 allowed.
        let values: Vec<f64> = (0..1000).map(|i| 0.001 * 1.00693f64.powi(i)).collect();
        for value in &values {
            histogram.observe(*value);
        }
        let snapshot = histogram.snapshot();
        assert!(snapshot.buckets.len() <= 10, "{:?}", snapshot.buckets);
        assert_eq!(
            snapshot.schema, 0,
            "1 ms to 1 s needs 10 buckets of a power of two each"
        );
        assert_eq!(snapshot.count, 1000);
        // Every value is in the bucket Prometheus would put it in at that schema.
        for (key, count) in &snapshot.buckets {
            let expected = values
                .iter()
                .filter(|value| reference_key(**value, snapshot.schema) == *key)
                .count() as u64;
            assert_eq!(*count, expected, "bucket {key}");
        }
        // One more power of two in use does not bring the resolution back.
        histogram.observe(100.0);
        assert!(histogram.snapshot().schema <= snapshot.schema);
    }

    #[test]
    fn the_coarsest_schema_holds_any_duration_within_the_least_bound() {
        let histogram = NativeHistogram::new(MIN_MAX_BUCKETS);
        let mut value = 1e-9;
        while value < 1.8e10 {
            histogram.observe(value);
            value *= 1.5;
        }
        let snapshot = histogram.snapshot();
        assert!(snapshot.schema >= COARSEST_SCHEMA);
        assert!(
            snapshot.buckets.len() <= MIN_MAX_BUCKETS as usize,
            "{:?}",
            snapshot.buckets
        );
    }

    #[test]
    fn memory_is_bounded_whatever_the_durations() {
        let histogram = NativeHistogram::new(DEFAULT_MAX_BUCKETS);
        let empty = histogram.heap_bytes();
        histogram.observe(0.004);
        histogram.observe(0.005);
        assert_eq!(
            histogram.heap_bytes(),
            empty + 1024,
            "one page for one power of two"
        );
        // Every duration a u64 of nanoseconds can hold, and more.
        let mut value = 1e-12;
        while value < 1e12 {
            histogram.observe(value);
            value *= 1.01;
        }
        assert_eq!(histogram.heap_bytes(), empty + POWERS * 1024);
        assert!(histogram.heap_bytes() < 70 * 1024);
    }

    #[test]
    fn concurrent_observations_are_all_counted() {
        let histogram = NativeHistogram::new(DEFAULT_MAX_BUCKETS);
        std::thread::scope(|scope| {
            for thread in 0..4 {
                let histogram = &histogram;
                scope.spawn(move || {
                    for i in 0..10_000u32 {
                        histogram.observe(f64::from(thread * 10_000 + i) * 1e-6);
                    }
                });
            }
        });
        let snapshot = histogram.snapshot();
        assert_eq!(snapshot.count, 40_000);
        assert_eq!(snapshot.zero_count, 1);
    }
}
