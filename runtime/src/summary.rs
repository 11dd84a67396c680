//! The windowed quantile summary behind every `service="duration"` and `service="size"` series.
//!
//! A [`Summary`] reports chosen quantiles (0.5, 0.9 and 0.99 by default) of the observations made
//! in a sliding time window, plus a `_sum` and a `_count` that cover the whole life of the process,
//! like a Prometheus client's summary with `MaxAge` and `AgeBuckets`. It records without locks and
//! allocates only when a value lands in a power of two it has not seen before.
//!
//! # Algorithm
//!
//! **Buckets.** A finite, non-zero `f64` is bucketed by its own bit pattern: the exponent selects a
//! power of two `[2^e, 2^(e+1))` (a *page*), and the top 8 mantissa bits select one of 256 equal
//! cells of it, which a 256-byte table maps to one of 40 sub-buckets. The sub-buckets group the
//! cells greedily so that for each sub-bucket `[a, b)`, `(b - a) / (a + b) <= 0.95%`: they are
//! 4 or 5 cells wide at the bottom of a power of two and 9 at the top, where a cell is smaller
//! relative to its value (64 equal sub-buckets would cost 60% more memory for no useful gain).
//! Zero (and `-0.0`) has an exact bucket of its own, `+Inf` and `-Inf` have one each, and a
//! negative value goes to the mirror image of the positive buckets. Powers of two from `2^-48`
//! up to (not including) `2^48` have pages; a non-zero magnitude below `2^-48` (about `3.6e-15`,
//! subnormals included) is counted in the lowest bucket and a finite magnitude of `2^48` (about
//! `2.8e14`) or more in the highest one, keeping its sign: far beyond any duration in seconds or
//! size in bytes. `NaN` is ignored: it is counted nowhere, not even in `_count` or `_sum`.
//!
//! **Quantiles.** A snapshot adds up the bucket counts of the live part of the window, computes
//! the nearest rank `k = max(1, ceil(q * n))` of each quantile `q` among the `n` observations
//! (`q * n` in `f64`), walks the buckets in value order once for all quantiles, and reports for
//! the bucket `[a, b)` that holds the `k`-th smallest observation the value `2ab / (a + b)`.
//! A first pass adds up the counters of each installed page of the live slots; the walk then
//! reads again only the sub-buckets of the pages where a quantile falls, up to that quantile.
//! No per-page total is kept when observing: it would be one more counter that every
//! observation in a page writes, and two threads observing one summary would fight over it.
//!
//! **Accuracy guarantee.** Every reported quantile lies within 1% relative error (at most 0.95%)
//! of the exact nearest-rank quantile `sorted[k - 1]` of the observations in the window: the
//! reported value and the exact one share a bucket, and `2ab / (a + b)` is within
//! `(b - a) / (a + b)` of any value of `[a, b)`. The quantile is exact when it falls on zero or
//! an infinity. The guarantee covers magnitudes in `[2^-48, 2^48)`; outside that range the
//! clamping above applies. It holds for a snapshot taken while no observation is landing;
//! observations that race with a snapshot may or may not be included.
//!
//! **Window.** `max_age` is split into `age_buckets` slots of `slot = max_age / age_buckets`
//! nanoseconds. An observation at `now` belongs to epoch `now / slot` and lands in slot
//! `epoch % age_buckets`, which is tagged with the epoch it holds. The first observation of a
//! new epoch in a slot that still holds an older one clears it first: one thread wins a
//! compare-and-swap on the tag and marks it as resetting; others for that epoch spin, then yield,
//! for the few microseconds this takes, once per slot period. A snapshot at `now` merges only
//! slots whose epoch is in `(now / slot - age_buckets, now / slot]` (or later, when an observer's
//! clock ran ahead of the snapshot's), so the window covers between `(age_buckets - 1) /
//! age_buckets * max_age` and `max_age` of the most recent history, as in the Go client, and a
//! long idle period needs no rotation work: stale slots are simply not merged. An observation
//! whose slot already holds a newer epoch is older than the window of any later snapshot: it
//! only counts in `_sum` and `_count`. Both divisions by constants are done with multiplications
//! (see `Divisor`).
//!
//! **Totals.** `_count` is an atomic counter and `_sum` an `f64` updated with a compare-and-swap
//! loop, so no observation is lost under concurrency; neither ever decays. They are split in
//! stripes, one per CPU the process may use (a power of two, at most 16), that threads are
//! assigned to in turn, so that threads observing one summary do not all write to one cache
//! line; a snapshot adds the stripes up.
//!
//! # Memory layout
//!
//! ```text
//! Summary                                    128 bytes, inline in its owner
//! ├─ totals: [(count, sum); CPUs]            one 128-byte line each
//! └─ slots: [Slot; age_buckets]              one 64-byte line each
//!    ├─ tag, bitmaps of installed pages
//!    └─ tables: [positive, negative]         each allocated on first use, 784 bytes
//!       ├─ zero (positive table only), ±Inf counters
//!       └─ pages: [page; 96]                 one per power of two
//!          └─ 40 × AtomicU64                  allocated on first use, 320 bytes
//! ```
//!
//! A page (or a table) is installed with a compare-and-swap on its pointer (the loser frees its
//! allocation) and lives as long as the summary; clearing a slot zeroes its pages in place, so a
//! summary's memory is bounded by the powers of two its observations span. Nothing is allocated
//! for a sign that is never observed. A latency distribution spread over 15 powers of two costs
//! about 6 KiB for each slot that holds it ([`Summary::heap_bytes`] reports the exact figure).

use std::fmt;
use std::marker::PhantomData;
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::Error;

/// Mantissa bits that select a cell: each power of two is cut into 256 equal cells.
const CELL_BITS: u32 = 8;
/// Cells per power of two.
const CELLS: usize = 1 << CELL_BITS;
/// Largest relative error allowed for any value of a sub-bucket, in units of 1/10000.
const ERROR_BOUND_PER_10K: usize = 95;
/// Sub-buckets per power of two (one page): what the greedy grouping of cells in [`bounds`]
/// yields for [`ERROR_BOUND_PER_10K`], checked at compile time.
const SUBS: usize = 40;
/// Sub-bucket `s` of every power of two covers cells `BOUNDS[s]..BOUNDS[s + 1]`.
static BOUNDS: [u16; SUBS + 1] = bounds();
/// The sub-bucket of each cell.
static SUB_OF_CELL: [u8; CELLS] = sub_of_cell();
/// Powers of two with a page of their own: `2^-48` up to `2^47`.
const PAGES: usize = 96;
/// Biased exponent of `2^-48`, the lowest power of two with a page.
const MIN_EXPONENT: u64 = 1023 - 48;
/// Mantissa bits of an `f64`.
const MANTISSA_BITS: u32 = 52;
/// Clears the sign bit of an `f64` bit pattern.
const MAGNITUDE: u64 = !(1 << 63);
/// Bit pattern of `+Inf`; every larger magnitude is a `NaN`.
const INFINITY_BITS: u64 = 0x7FF0_0000_0000_0000;
/// The two signs, as table indices.
const POSITIVE: usize = 0;
const NEGATIVE: usize = 1;
/// The bit of a table's page bitmap, past the pages, that tells its zero or infinity counter
/// has been used: a snapshot reads that counter's cache line only then.
const SPECIAL_BIT: usize = 127;
/// The page bits of a page bitmap.
const PAGE_BITS: u128 = (1 << PAGES) - 1;
/// Set in a slot tag while the slot is being cleared for the epoch in the other bits.
const RESETTING: u64 = 1 << 63;
/// Largest number of age buckets a window can have.
const MAX_AGE_BUCKETS: u32 = 60;
/// Shortest window.
const MIN_MAX_AGE: Duration = Duration::from_secs(1);
/// Spins before a thread waiting for a slot reset starts yielding its time slice.
const SPINS_BEFORE_YIELD: u32 = 64;

/// How a [`Summary`] is shaped: the window and the quantiles it reports.
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

/// What a [`Summary`] reports at one instant.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Snapshot {
    /// One value per quantile, in the order of [`SummaryOptions::quantiles`]; each is `NaN` when
    /// the window holds no observation.
    pub quantiles: Vec<f64>,
    /// Sum of every observation since the summary was created (the `_sum` sample).
    pub sum: f64,
    /// Number of observations since the summary was created (the `_count` sample).
    pub count: u64,
    /// Number of observations in the window, which the quantiles describe.
    pub window_count: u64,
}

/// What [`Summary::read_into`] returns besides the quantiles.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reading {
    pub(crate) sum: f64,
    pub(crate) count: u64,
    pub(crate) window_count: u64,
}

/// A windowed quantile summary: lock-free observations, quantiles of a sliding window within 1%
/// relative error, and cumulative `_sum` and `_count`.
///
/// - **Accuracy.** Each reported quantile `q` is within 1% (at most 0.95%) relative error of the
///   exact nearest-rank quantile of the observations in the window, `sorted[ceil(q * n) - 1]`
///   (`q = 0` is the minimum), and exact when that is zero or an infinity. Values are counted in
///   log-spaced buckets, so this holds whatever the distribution, for magnitudes from `2^-48`
///   (about `3.6e-15`) up to `2^48` (about `2.8e14`); smaller and larger magnitudes are clamped
///   into the extreme buckets.
/// - **Window.** The window is `max_age` long, forgotten one `max_age / age_buckets` slot at a
///   time, so it holds between `(age_buckets - 1) / age_buckets * max_age` and `max_age` of
///   history, like the Go client's `MaxAge`/`AgeBuckets`. Quantiles are `NaN` when it is empty.
/// - **Totals.** `_sum` and `_count` are exact under concurrency and never decay.
/// - **Special values.** `NaN` is ignored entirely; `±Inf` is counted in buckets of its own.
/// - **Time** is passed in by the caller, as nanoseconds since any fixed origin (the runtime uses
///   one process-wide `Instant`), so the summary never reads a clock and tests can drive it.
/// - **Cost.** An observation is a few atomic additions, with no lock and no allocation except
///   the first time a power of two is seen (about 15 of them for a typical latency
///   distribution). A snapshot reads the counters of those powers of two and allocates only the
///   returned vector. [`Summary::heap_bytes`] tells the memory used.
///
/// ```
/// use routemeter::{Summary, SummaryOptions};
///
/// let summary = Summary::new(&SummaryOptions::default());
/// for ms in 1..=100 {
///     summary.observe(f64::from(ms) / 1000.0, 0);
/// }
/// let snapshot = summary.snapshot(1_000_000_000);
/// assert_eq!(snapshot.count, 100);
/// let median = snapshot.quantiles[0];
/// assert!((median - 0.050).abs() <= 0.050 * 0.01);
/// ```
#[repr(align(64))] // read on every observation: no neighbour's writes on its cache lines
pub struct Summary {
    totals: Totals,
    slots: Box<[Slot]>,
    /// Divides a time by the slot length, giving its epoch.
    slot_length: Divisor,
    /// Divides an epoch by the number of slots, for its slot index.
    slot_count: Divisor,
    options: SummaryOptions,
}

impl Default for Summary {
    fn default() -> Self {
        Summary::new(&SummaryOptions::default())
    }
}

impl fmt::Debug for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Summary")
            .field("options", &self.options)
            .field("count", &self.totals.count())
            .field("sum", &self.totals.sum())
            .finish_non_exhaustive()
    }
}

impl Summary {
    /// An empty summary shaped by `options`.
    pub fn new(options: &SummaryOptions) -> Summary {
        let age_buckets = u64::from(options.age_buckets.max(1));
        // Options are validated, so the slot is at least 1 s / 60 long; `max(1)` keeps the
        // divisor valid even if that ever changed.
        let max_age = u64::try_from(options.max_age.as_nanos()).unwrap_or(u64::MAX);
        let slot = (max_age / age_buckets).max(1);
        Summary {
            totals: Totals::new(),
            slots: (0..age_buckets).map(|_| Slot::default()).collect(),
            slot_length: Divisor::new(slot),
            slot_count: Divisor::new(age_buckets),
            options: options.clone(),
        }
    }

    /// The options this summary was built with.
    pub fn options(&self) -> &SummaryOptions {
        &self.options
    }

    /// Records `value`, observed `now_nanos` nanoseconds after the caller's time origin.
    ///
    /// All callers must read one monotonic clock: an observation stamped far in the future takes
    /// its slot over until then, and one stamped more than `max_age` in the past only counts in
    /// `_sum` and `_count`.
    ///
    /// `NaN` is ignored. `±Inf` is counted in buckets of its own (and makes `_sum` infinite, as in
    /// every Prometheus client); magnitudes outside `[2^-48, 2^48)` are clamped into the extreme
    /// buckets. Never blocks, except for the few microseconds in which another thread clears the
    /// slot that a new epoch reuses, once per slot period.
    #[inline]
    pub fn observe(&self, value: f64, now_nanos: u64) {
        let bits = value.to_bits();
        let magnitude = bits & MAGNITUDE;
        if magnitude > INFINITY_BITS {
            return; // NaN
        }
        let stripe = stripe_of_this_thread();
        if let Some(slot) = self.slot_at(now_nanos) {
            let page = (magnitude >> MANTISSA_BITS).wrapping_sub(MIN_EXPONENT);
            if page < PAGES as u64 {
                let sign = (bits >> 63) as usize;
                let cell = (magnitude >> (MANTISSA_BITS - CELL_BITS)) as usize % CELLS;
                slot.count(sign, page as usize, usize::from(SUB_OF_CELL[cell]), stripe);
            } else {
                slot.record_special(bits, stripe);
            }
        }
        self.totals.add(value, stripe);
    }

    /// The quantiles of the window that ends at `now_nanos` (same origin as for
    /// [`observe`](Summary::observe)), with the cumulative sum and count.
    ///
    /// Reads the counters of the powers of two in use, then walks them once for all quantiles;
    /// allocates only the returned vector.
    pub fn snapshot(&self, now_nanos: u64) -> Snapshot {
        let mut values = vec![f64::NAN; self.options.quantiles().len()];
        let reading = self.read_into(now_nanos, &mut values);
        Snapshot {
            quantiles: values,
            sum: reading.sum,
            count: reading.count,
            window_count: reading.window_count,
        }
    }

    /// [`snapshot`](Summary::snapshot) without allocating: writes the quantiles into `values`
    /// (one per configured quantile, in order; `NaN` for an empty window; extra entries are left
    /// alone, missing ones are not written) and returns the rest.
    pub(crate) fn read_into(&self, now_nanos: u64, values: &mut [f64]) -> Reading {
        let count = self.totals.count();
        let sum = self.totals.sum();
        let quantiles = self.options.quantiles();
        let written = quantiles.len().min(values.len());
        values[..written].fill(f64::NAN);
        let window = Window::new(&self.slots, self.slot_length.div(now_nanos));
        let window_count = window.resolve(&quantiles[..written], &mut values[..written]);
        Reading {
            sum,
            count,
            window_count,
        }
    }

    /// For a caller about to read many summaries in turn (a scrape), whose counters are
    /// scattered on the heap behind a few levels of pointers: these three start loading, without
    /// waiting for it, what a read at `now_nanos` needs, one level at a time. Calling
    /// `prefetch_slots` three summaries ahead, `prefetch_tables` two ahead and `prefetch_pages`
    /// one ahead makes each level's lines ready by the time the next one reads them.
    ///
    /// The first level: the slots and the cumulative totals.
    #[inline]
    pub(crate) fn prefetch_slots(&self) {
        for slot in self.slots.iter() {
            prefetch(slot);
        }
        for stripe in self.totals.stripes.iter() {
            prefetch(stripe);
        }
    }

    /// The second level: the page totals of the live slots' tables.
    pub(crate) fn prefetch_tables(&self, now_nanos: u64) {
        Window::new(&self.slots, self.slot_length.div(now_nanos)).prefetch_tables();
    }

    /// The third level: the sub-buckets of the pages that hold a quantile.
    pub(crate) fn prefetch_pages(&self, now_nanos: u64) {
        let window = Window::new(&self.slots, self.slot_length.div(now_nanos));
        window.prefetch_pages(self.options.quantiles(), &window.totals());
    }

    /// Heap memory owned by this summary in bytes: slots, tables and pages, not counting
    /// `size_of::<Summary>()` itself nor the quantile list it shares with its options.
    pub fn heap_bytes(&self) -> usize {
        std::mem::size_of_val::<[Stripe]>(&self.totals.stripes)
            + std::mem::size_of_val::<[Slot]>(&self.slots)
            + self
                .slots
                .iter()
                .flat_map(|slot| slot.tables.iter())
                .filter_map(LazyBox::get)
                .map(Table::heap_bytes)
                .sum::<usize>()
    }

    /// The slot to count an observation at `now` in, cleared first if it holds an older epoch;
    /// `None` when it already holds a newer epoch, so `now` is out of every later window.
    #[inline]
    fn slot_at(&self, now: u64) -> Option<&Slot> {
        let epoch = self.slot_length.div(now);
        let slot = self.slots.get(self.slot_count.rem(epoch) as usize)?;
        let tag = epoch + 1; // 0 tags a slot that never held anything
        if slot.tag.load(Ordering::Acquire) == tag {
            Some(slot)
        } else {
            slot.claim(tag)
        }
    }
}

/// Most stripes a summary's totals are split in.
const MAX_STRIPES: usize = 16;

/// The cumulative totals, split in stripes: independent `_count`/`_sum` pairs on cache lines of
/// their own. Each thread adds to one stripe, so threads observing one summary do not all fight
/// over one cache line; a snapshot adds the stripes up.
struct Totals {
    stripes: Box<[Stripe]>,
    /// `stripes.len() - 1`; the length is a power of two.
    mask: usize,
}

#[derive(Default)]
#[repr(align(128))]
struct Stripe {
    count: AtomicU64,
    /// Bit pattern of an `f64`.
    sum: AtomicU64,
}

/// Stripes per summary: the parallelism of the machine (or of the container's CPU quota)
/// rounded up to a power of two, at most [`MAX_STRIPES`]. More stripes than threads that can run
/// at once would only make snapshots read more cache lines.
fn stripe_count() -> usize {
    static COUNT: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *COUNT.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(1, std::num::NonZeroUsize::get)
            .clamp(1, MAX_STRIPES)
            .next_power_of_two()
    })
}

/// Hands out stripes to threads in turn.
static NEXT_STRIPE: AtomicU64 = AtomicU64::new(0);

std::thread_local! {
    static STRIPE: std::cell::Cell<usize> = const { std::cell::Cell::new(usize::MAX) };
}

/// This thread's stripe number, before reduction to a summary's stripe count.
#[inline]
fn stripe_of_this_thread() -> usize {
    STRIPE
        .try_with(|stripe| {
            let mut index = stripe.get();
            if index == usize::MAX {
                index = (NEXT_STRIPE.fetch_add(1, Ordering::Relaxed) % MAX_STRIPES as u64) as usize;
                stripe.set(index);
            }
            index
        })
        .unwrap_or(0)
}

impl Totals {
    fn new() -> Totals {
        let count = stripe_count();
        Totals {
            stripes: (0..count).map(|_| Stripe::default()).collect(),
            mask: count - 1,
        }
    }

    /// Adds `value` to the stripe of the thread whose stripe number is `stripe`.
    #[inline]
    fn add(&self, value: f64, stripe: usize) {
        let stripe = &self.stripes[stripe & self.mask];
        stripe.count.fetch_add(1, Ordering::Relaxed);
        let mut current = stripe.sum.load(Ordering::Relaxed);
        loop {
            let next = (f64::from_bits(current) + value).to_bits();
            match stripe.sum.compare_exchange_weak(
                current,
                next,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(actual) => current = actual,
            }
        }
    }

    fn count(&self) -> u64 {
        self.stripes.iter().fold(0, |total, s| {
            total.wrapping_add(s.count.load(Ordering::Relaxed))
        })
    }

    fn sum(&self) -> f64 {
        self.stripes
            .iter()
            .map(|s| f64::from_bits(s.sum.load(Ordering::Relaxed)))
            .sum()
    }
}

/// One age bucket: the observations of one epoch.
///
/// Tag, tables and page bitmaps share one cache line, so that a snapshot learns from it alone
/// whether the slot is live and which pages to read.
#[derive(Default)]
#[repr(align(64))]
struct Slot {
    /// `epoch + 1` of the observations held (0: none yet), plus [`RESETTING`] while clearing.
    tag: AtomicU64,
    /// Buckets of positive values (and zero), then of negative values.
    tables: [LazyBox<Table>; 2],
    /// For each table, bit `i` is set once its page `i` is installed, and bit [`SPECIAL_BIT`]
    /// once its zero or infinity counter has counted something.
    installed: [[AtomicU64; 2]; 2],
}

impl Slot {
    /// Slow path of [`Summary::slot_at`]: waits for or performs the reset to epoch `tag - 1`.
    #[cold]
    fn claim(&self, tag: u64) -> Option<&Slot> {
        let mut spins = 0u32;
        loop {
            let current = self.tag.load(Ordering::Acquire);
            let held = current & !RESETTING;
            if held > tag {
                return None;
            }
            if current == tag {
                return Some(self);
            }
            if current & RESETTING != 0 {
                // Another thread is clearing the slot: never write into a half-cleared slot.
                spins += 1;
                if spins < SPINS_BEFORE_YIELD {
                    std::hint::spin_loop();
                } else {
                    std::thread::yield_now();
                }
                continue;
            }
            if self
                .tag
                .compare_exchange(
                    current,
                    tag | RESETTING,
                    Ordering::Acquire,
                    Ordering::Relaxed,
                )
                .is_ok()
            {
                for table in self.tables.iter().filter_map(LazyBox::get) {
                    table.clear();
                }
                // Release: whoever reads the new tag sees the cleared counters.
                self.tag.store(tag, Ordering::Release);
                return Some(self);
            }
        }
    }

    /// Counts an observation in sub-bucket `sub` of page `page` of the table of `sign`, and in
    /// that page's total number `total`, installing the table and the page on first use.
    #[inline]
    fn count(&self, sign: usize, page: usize, sub: usize, total: usize) {
        let Some(table) = self.tables.get(sign) else {
            return;
        };
        let table = table.get_or_init(Table::new);
        let lazy = &table.pages[page % PAGES];
        let counts = match lazy.get() {
            Some(counts) => counts,
            None => self.install(sign, lazy, page),
        };
        counts.count(sub);
        table.totals[total % PAGE_TOTALS].0[page % PAGES].fetch_add(1, Ordering::Relaxed);
    }

    #[cold]
    fn install<'p>(&self, sign: usize, lazy: &'p LazyBox<Page>, page: usize) -> &'p Page {
        let installed = lazy.get_or_init(Page::default);
        // After the pointer is published, so a reader that sees the bit finds the page.
        if let Some(bitmap) = self.installed.get(sign) {
            bitmap[page / 64 % 2].fetch_or(1 << (page % 64), Ordering::Release);
        }
        installed
    }

    /// The installed pages of the table of `sign`, as a bitmap, plus [`SPECIAL_BIT`].
    fn installed(&self, sign: usize) -> u128 {
        self.installed.get(sign).map_or(0, |bitmap| {
            let low = bitmap[0].load(Ordering::Acquire);
            let high = bitmap[1].load(Ordering::Acquire);
            u128::from(high) << 64 | u128::from(low)
        })
    }

    /// Sets [`SPECIAL_BIT`] for the table of `sign`, after its zero or infinity counter counted.
    fn mark_special(&self, sign: usize) {
        if let Some(bitmap) = self.installed.get(sign) {
            let bit = 1 << (SPECIAL_BIT - 64);
            // Read first: the bitmap shares the line every observation reads, write it once.
            if bitmap[1].load(Ordering::Relaxed) & bit == 0 {
                bitmap[1].fetch_or(bit, Ordering::Release);
            }
        }
    }

    /// Counts zero, an infinity, or a magnitude outside the paged range.
    #[cold]
    fn record_special(&self, bits: u64, total: usize) {
        let magnitude = bits & MAGNITUDE;
        let sign = (bits >> 63) as usize;
        if magnitude == 0 {
            if let Some(table) = self.tables.get(POSITIVE) {
                table
                    .get_or_init(Table::new)
                    .zero
                    .fetch_add(1, Ordering::Relaxed);
                self.mark_special(POSITIVE);
            }
            return;
        }
        if magnitude == INFINITY_BITS {
            if let Some(table) = self.tables.get(sign) {
                table
                    .get_or_init(Table::new)
                    .infinity
                    .fetch_add(1, Ordering::Relaxed);
                self.mark_special(sign);
            }
        } else if magnitude >> MANTISSA_BITS < MIN_EXPONENT {
            self.count(sign, 0, 0, total);
        } else {
            self.count(sign, PAGES - 1, SUBS - 1, total);
        }
    }
}

/// The buckets of one sign in one slot.
///
/// Besides its pages, a table keeps the total of each page: an observation adds one to its
/// sub-bucket and one to its page's total in the row of its thread's stripe, so that two
/// threads observing one summary do not write to one line. A snapshot then reads a few lines
/// of totals per table to locate each quantile, and the sub-buckets of only the pages that
/// hold one, instead of every counter of every page.
#[repr(C)]
struct Table {
    /// One page per power of two, allocated on first use.
    pages: [LazyBox<Page>; PAGES],
    /// Zero observations (used in the positive table only).
    zero: AtomicU64,
    /// Infinite observations of this sign.
    infinity: AtomicU64,
    /// Observations per page, threads of stripe `s` counting in row `s % PAGE_TOTALS`.
    totals: [PageTotals; PAGE_TOTALS],
}

impl Table {
    fn new() -> Table {
        Table {
            pages: std::array::from_fn(|_| LazyBox::default()),
            zero: AtomicU64::new(0),
            infinity: AtomicU64::new(0),
            totals: std::array::from_fn(|_| PageTotals([const { AtomicU64::new(0) }; PAGES])),
        }
    }

    fn clear(&self) {
        for page in self.pages.iter().filter_map(LazyBox::get) {
            page.clear();
        }
        for total in self.totals.iter().flat_map(|row| &row.0) {
            total.store(0, Ordering::Relaxed);
        }
        self.zero.store(0, Ordering::Relaxed);
        self.infinity.store(0, Ordering::Relaxed);
    }

    /// The observations in page `page`, as the rows of totals tell.
    #[inline]
    fn total(&self, page: usize) -> u64 {
        self.totals.iter().fold(0, |sum, row| {
            sum.wrapping_add(row.0[page % PAGES].load(Ordering::Relaxed))
        })
    }

    /// Starts loading the lines of this table that a snapshot reads, given its page bitmap: the
    /// pointers and the totals of the installed pages and, when used, the zero and infinity
    /// counters.
    #[inline]
    fn prefetch(&self, bitmap: u128) {
        let pages = bitmap & PAGE_BITS;
        if pages != 0 {
            let first = pages.trailing_zeros() as usize;
            let last = 127 - pages.leading_zeros() as usize;
            prefetch_range(&self.pages[first..=last]);
            for row in &self.totals {
                prefetch_range(&row.0[first..=last]);
            }
        }
        if bitmap & (1 << SPECIAL_BIT) != 0 {
            prefetch(&self.zero);
        }
    }

    fn heap_bytes(&self) -> usize {
        std::mem::size_of::<Table>()
            + self
                .pages
                .iter()
                .filter_map(LazyBox::get)
                .map(Page::heap_bytes)
                .sum::<usize>()
    }
}

/// The sub-bucket counters of one power of two, on three cache lines.
///
/// The counters are 32-bit, half the memory a snapshot reads (the sub-buckets of the pages that
/// hold a quantile are most of it), and more than a slot of a service ever counts in a
/// sub-bucket; should one count that many, the observation that brings a counter to
/// [`CARRY`] moves that much of it to a 64-bit carry (allocated then), so nothing is ever lost.
#[repr(C, align(64))]
struct Page {
    counts: [AtomicU32; SUBS],
    /// What was moved out of each counter.
    carries: LazyBox<[AtomicU64; SUBS]>,
}

/// How much of a page counter is moved to its carry at once, when it reaches that much.
const CARRY: u32 = 1 << 31;

impl Default for Page {
    fn default() -> Self {
        Page {
            counts: [const { AtomicU32::new(0) }; SUBS],
            carries: LazyBox::default(),
        }
    }
}

impl Page {
    #[inline]
    fn count(&self, sub: usize) {
        let counter = &self.counts[sub % SUBS];
        if counter.fetch_add(1, Ordering::Relaxed) == CARRY - 1 {
            self.carry(counter, sub);
        }
    }

    /// Moves [`CARRY`] from `counter` (sub-bucket `sub`) to its carry. Only the observation that
    /// brought the counter to `CARRY` gets here, so the counter never wraps: it would take
    /// another 2^31 observations between these two lines.
    #[cold]
    fn carry(&self, counter: &AtomicU32, sub: usize) {
        let carries = self
            .carries
            .get_or_init(|| [const { AtomicU64::new(0) }; SUBS]);
        // A snapshot reading the two in between sees the sub-bucket off by `CARRY`, and reads
        // it again.
        counter.fetch_sub(CARRY, Ordering::Relaxed);
        carries[sub % SUBS].fetch_add(u64::from(CARRY), Ordering::Relaxed);
    }

    /// Adds the sub-bucket counts to `row`.
    #[inline]
    fn add_to(&self, row: &mut [u64; SUBS]) {
        // The observations of one window cannot overflow a `u64`.
        for (count, counter) in row.iter_mut().zip(&self.counts) {
            *count = count.wrapping_add(u64::from(counter.load(Ordering::Relaxed)));
        }
        if let Some(carries) = self.carries.get() {
            for (count, carry) in row.iter_mut().zip(carries) {
                *count = count.wrapping_add(carry.load(Ordering::Relaxed));
            }
        }
    }

    #[cfg(test)]
    fn get(&self, sub: usize) -> u64 {
        let count = u64::from(self.counts[sub % SUBS].load(Ordering::Relaxed));
        match self.carries.get() {
            Some(carries) => count.wrapping_add(carries[sub % SUBS].load(Ordering::Relaxed)),
            None => count,
        }
    }

    fn clear(&self) {
        for counter in &self.counts {
            counter.store(0, Ordering::Relaxed);
        }
        for carry in self.carries.get().into_iter().flatten() {
            carry.store(0, Ordering::Relaxed);
        }
    }

    /// Starts loading every line of the page.
    #[inline]
    fn prefetch(&self) {
        prefetch_range(&self.counts);
    }

    fn heap_bytes(&self) -> usize {
        std::mem::size_of::<Page>()
            + self
                .carries
                .get()
                .map_or(0, std::mem::size_of_val::<[AtomicU64; SUBS]>)
    }
}

/// Observations per page of a table, as counted by the threads of half the [`Totals`] stripes.
#[repr(align(64))]
struct PageTotals([AtomicU64; PAGES]);

/// Rows of page totals per table.
const PAGE_TOTALS: usize = 2;

/// [`prefetch`]es every line that `values` spans.
#[inline]
fn prefetch_range<T>(values: &[T]) {
    for value in values
        .iter()
        .step_by((64 / std::mem::size_of::<T>()).max(1))
    {
        prefetch(value);
    }
    if let Some(last) = values.last() {
        prefetch(last);
    }
}

/// Asks the processor to start loading the cache line that holds `value` and carry on: loads
/// of scattered lines then overlap instead of each waiting for the previous one. Only a hint;
/// nothing happens on processors other than x86-64.
#[inline(always)]
fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch never faults and neither reads into a register nor writes memory; the
    // address is that of a live reference anyway. SSE is part of the x86-64 baseline.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(ptr::from_ref(value).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

/// The live slots of a summary at one instant, and the quantiles they hold.
struct Window<'a> {
    slots: &'a [Slot],
    /// Indices of the live slots (the first `live_len`).
    live: [u8; MAX_AGE_BUCKETS as usize],
    live_len: usize,
}

impl<'a> Window<'a> {
    fn new(slots: &'a [Slot], now_epoch: u64) -> Window<'a> {
        let mut window = Window {
            slots,
            live: [0; MAX_AGE_BUCKETS as usize],
            live_len: 0,
        };
        let age_buckets = slots.len() as u64;
        for (index, slot) in slots.iter().enumerate() {
            let tag = slot.tag.load(Ordering::Acquire);
            // Skips empty slots (tag 0) and slots being cleared; tag - 1 is the epoch.
            let live = tag != 0 && tag & RESETTING == 0 && tag - 1 + age_buckets > now_epoch;
            if live && window.live_len < window.live.len() {
                window.live[window.live_len] = index as u8;
                window.live_len += 1;
            }
        }
        window
    }

    /// The live slots' tables of `sign`, with their page bitmaps.
    fn tables(&self, sign: usize) -> impl Iterator<Item = (&'a Table, u128)> + '_ {
        self.live[..self.live_len]
            .iter()
            .filter_map(|&index| self.slots.get(usize::from(index)))
            .filter_map(move |slot| Some((slot.tables.get(sign)?.get()?, slot.installed(sign))))
    }

    /// Starts loading the lines of the live tables that [`Window::totals`] reads.
    fn prefetch_tables(&self) {
        for sign in [POSITIVE, NEGATIVE] {
            for (table, bitmap) in self.tables(sign) {
                table.prefetch(bitmap);
            }
        }
    }

    /// How the window's observations spread over the pages, as the tables' totals tell.
    fn totals(&self) -> WindowTotals {
        let mut totals = WindowTotals {
            pages: [[0; PAGES]; 2],
            installed: [0; 2],
            infinities: [0; 2],
            zero: 0,
            n: 0,
        };
        for sign in [POSITIVE, NEGATIVE] {
            for (table, bitmap) in self.tables(sign) {
                let pages = bitmap & PAGE_BITS;
                totals.installed[sign] |= pages;
                for index in Bits::ascending(pages) {
                    let count = table.total(index);
                    let total = &mut totals.pages[sign][index % PAGES];
                    *total = total.saturating_add(count);
                    totals.n = totals.n.saturating_add(count);
                }
                if bitmap & (1 << SPECIAL_BIT) != 0 {
                    let infinity = table.infinity.load(Ordering::Relaxed);
                    totals.infinities[sign] = totals.infinities[sign].saturating_add(infinity);
                    totals.n = totals.n.saturating_add(infinity);
                    if sign == POSITIVE {
                        let zero = table.zero.load(Ordering::Relaxed);
                        totals.zero = totals.zero.saturating_add(zero);
                        totals.n = totals.n.saturating_add(zero);
                    }
                }
            }
        }
        totals
    }

    /// Starts loading the sub-buckets that [`Window::resolve`] reads: those of the pages that
    /// hold a quantile, in every live slot.
    fn prefetch_pages(&self, quantiles: &[f64], totals: &WindowTotals) {
        totals.locate(quantiles, |sign, index| {
            for (table, _) in self.tables(sign) {
                if let Some(page) = table.pages[index % PAGES].get() {
                    page.prefetch();
                }
            }
        });
    }

    /// Writes the value of each quantile into `values` and returns how many observations the
    /// window holds; `values` is left alone when there are none.
    ///
    /// The totals locate the page of each quantile; the walk in value order then adds up the
    /// sub-buckets of those pages only.
    fn resolve(&self, quantiles: &[f64], values: &mut [f64]) -> u64 {
        if quantiles.is_empty() || self.live_len == 0 {
            return 0;
        }
        self.prefetch_tables();
        let totals = self.totals();
        if totals.n == 0 {
            return 0;
        }
        self.prefetch_pages(quantiles, &totals);

        // In value order: -Inf, negative pages from the largest magnitude, zero, positive
        // pages, +Inf.
        let mut ranks = Ranks::new(quantiles, totals.n, values);
        let mut row = [0u64; SUBS];
        ranks.bucket(totals.infinities[NEGATIVE], f64::NEG_INFINITY);
        for index in Bits::descending(totals.installed[NEGATIVE]) {
            let total = totals.pages[NEGATIVE][index % PAGES];
            if ranks.in_next(total) {
                self.merge(NEGATIVE, index, total, &mut row);
                ranks.page(
                    total,
                    (0..SUBS).rev(),
                    |sub| row[sub % SUBS],
                    |sub| -bucket_value(index, sub),
                );
            } else {
                ranks.skip(total);
            }
        }
        ranks.bucket(totals.zero, 0.0);
        for index in Bits::ascending(totals.installed[POSITIVE]) {
            let total = totals.pages[POSITIVE][index % PAGES];
            if ranks.in_next(total) {
                self.merge(POSITIVE, index, total, &mut row);
                ranks.page(
                    total,
                    0..SUBS,
                    |sub| row[sub % SUBS],
                    |sub| bucket_value(index, sub),
                );
            } else {
                ranks.skip(total);
            }
        }
        ranks.bucket(totals.infinities[POSITIVE], f64::INFINITY);
        ranks.finish();
        totals.n
    }

    /// Sets `row` to the sub-bucket counts of page `index` of `sign` over the live slots, which
    /// the totals say hold `total` observations.
    fn merge(&self, sign: usize, index: usize, total: u64, row: &mut [u64; SUBS]) {
        for _ in 0..MERGE_ATTEMPTS {
            *row = [0; SUBS];
            for (table, _) in self.tables(sign) {
                if let Some(page) = table.pages[index % PAGES].get() {
                    page.add_to(row);
                }
            }
            // Off by about `CARRY`: a counter was caught being carried (see `Page::carry`).
            let sum = row.iter().fold(0u64, |sum, count| sum.wrapping_add(*count));
            if total.abs_diff(sum) < u64::from(CARRY / 2) {
                return;
            }
        }
    }
}

/// Reads of a page's sub-buckets before taking them as they are, when their sum is far from the
/// page's total (a counter caught being carried; or, at every attempt, a slot being reset).
const MERGE_ATTEMPTS: usize = 3;

/// The observations of a window per page, as the tables' totals tell.
struct WindowTotals {
    /// Observations per page, by sign.
    pages: [[u64; PAGES]; 2],
    /// The pages installed in any live slot, by sign.
    installed: [u128; 2],
    infinities: [u64; 2],
    zero: u64,
    /// All of them.
    n: u64,
}

impl WindowTotals {
    /// Calls `found(sign, index)` for each page that the walk in value order will find one of
    /// `quantiles` in.
    fn locate(&self, quantiles: &[f64], mut found: impl FnMut(usize, usize)) {
        let n = self.n;
        let mut ranks = quantiles
            .iter()
            .map(|q| ((q * n as f64).ceil() as u64).clamp(1, n))
            .peekable();
        let mut below = self.infinities[NEGATIVE];
        let mut visit = |sign: usize, index: usize, below: &mut u64| {
            let end = below.saturating_add(self.pages[sign][index % PAGES]);
            let mut holds = false;
            while let Some(rank) = ranks.next_if(|rank| *rank <= end) {
                holds |= rank > *below;
            }
            if holds {
                found(sign, index);
            }
            *below = end;
        };
        for index in Bits::descending(self.installed[NEGATIVE]) {
            visit(NEGATIVE, index, &mut below);
        }
        below = below.saturating_add(self.zero);
        for index in Bits::ascending(self.installed[POSITIVE]) {
            visit(POSITIVE, index, &mut below);
        }
    }
}

/// Hands out the nearest-rank quantiles while buckets are visited in value order.
struct Ranks<'q> {
    quantiles: &'q [f64],
    values: &'q mut [f64],
    n: u64,
    /// Index of the next quantile to resolve.
    next: usize,
    /// Its 1-based rank (`u64::MAX` once every quantile is resolved); always above `below`.
    rank: u64,
    /// Observations in the buckets visited so far.
    below: u64,
    /// The value of the last non-empty bucket visited.
    last: Option<f64>,
}

impl<'q> Ranks<'q> {
    fn new(quantiles: &'q [f64], n: u64, values: &'q mut [f64]) -> Ranks<'q> {
        let mut ranks = Ranks {
            quantiles,
            values,
            n,
            next: 0,
            rank: 0,
            below: 0,
            last: None,
        };
        ranks.rank = ranks.rank_of(0);
        ranks
    }

    /// The nearest rank `max(1, ceil(q * n))` of quantile `index`.
    fn rank_of(&self, index: usize) -> u64 {
        match self.quantiles.get(index) {
            // The float-to-int conversion saturates; q = 0 asks for the minimum, rank 1.
            Some(q) => ((q * self.n as f64).ceil() as u64).clamp(1, self.n),
            None => u64::MAX,
        }
    }

    /// Whether the next quantile falls within the next `count` observations.
    #[inline]
    fn in_next(&self, count: u64) -> bool {
        self.rank.saturating_sub(self.below) <= count
    }

    fn skip(&mut self, count: u64) {
        self.below = self.below.saturating_add(count);
    }

    fn resolve_next(&mut self, value: f64) {
        if let Some(slot) = self.values.get_mut(self.next) {
            *slot = value;
        }
        self.next += 1;
        self.rank = self.rank_of(self.next);
    }

    /// Visits a bucket of `count` observations, all reported as `value`.
    fn bucket(&mut self, count: u64, value: f64) {
        if count == 0 {
            return;
        }
        while self.in_next(count) {
            self.resolve_next(value);
        }
        self.skip(count);
        self.last = Some(value);
    }

    /// Gives quantiles left over by counters that shrank between the two passes (a concurrent
    /// slot reset) the largest value seen, rather than `NaN` for a window that is not empty.
    fn finish(&mut self) {
        if let Some(value) = self.last {
            while self.rank != u64::MAX {
                self.resolve_next(value);
            }
        }
    }

    /// Visits a page of `total` observations (as counted by the first pass) through its
    /// sub-buckets in value `order`, reading their counts only until the page's last quantile.
    /// When the sub-buckets hold fewer observations than `total` (a concurrent reset), the
    /// remaining quantiles of the page get its last non-empty sub-bucket.
    fn page(
        &mut self,
        total: u64,
        order: impl Iterator<Item = usize>,
        count: impl Fn(usize) -> u64,
        value: impl Fn(usize) -> f64,
    ) {
        let end = self.below.saturating_add(total);
        let mut last = None;
        for sub in order {
            if self.rank > end {
                break;
            }
            let count = count(sub).min(end.saturating_sub(self.below));
            if count == 0 {
                continue;
            }
            last = Some(sub);
            while self.in_next(count) {
                self.resolve_next(value(sub));
            }
            self.skip(count);
        }
        if let Some(sub) = last {
            let value = value(sub);
            while self.rank <= end {
                self.resolve_next(value);
            }
            self.last = Some(value);
        }
        self.below = end;
    }
}

/// The value reported for sub-bucket `sub` of page `page`: for the bucket `[a, b)`, the point
/// `2ab / (a + b)`, whose relative distance to any value of the bucket is at most
/// `(b - a) / (a + b)`, below 0.95% by construction of [`BOUNDS`].
fn bucket_value(page: usize, sub: usize) -> f64 {
    let power = f64::from_bits(((page % PAGES) as u64 + MIN_EXPONENT) << MANTISSA_BITS);
    let sub = sub % SUBS;
    // The bounds in cells, counted from zero rather than from the power of two.
    let low = (CELLS + usize::from(BOUNDS[sub])) as f64;
    let high = (CELLS + usize::from(BOUNDS[sub + 1])) as f64;
    power / CELLS as f64 * (2.0 * low * high / (low + high))
}

/// Whether cells `first..end` may form one sub-bucket: with `a` and `b` its bounds, the
/// reported value `2ab / (a + b)` must be within the error bound of every value of `[a, b)`,
/// that is `(b - a) / (a + b) <= ERROR_BOUND_PER_10K / 10000`.
const fn fits(first: usize, end: usize) -> bool {
    (end - first) * 10_000 <= ERROR_BOUND_PER_10K * (2 * CELLS + first + end)
}

/// Groups the cells of a power of two greedily, from its start, into the widest sub-buckets
/// that [`fits`] allows. Relative to their lower bound the cells shrink along the power of two,
/// so sub-buckets hold 4 or 5 cells at its start and 9 at its end: 40 sub-buckets where 64
/// equal ones would need 60% more memory for an error smaller than needed.
const fn bounds() -> [u16; SUBS + 1] {
    let mut bounds = [CELLS as u16; SUBS + 1];
    let mut first = 0;
    let mut sub = 0;
    while first < CELLS {
        let mut end = first + 1;
        while end < CELLS && fits(first, end + 1) {
            end += 1;
        }
        assert!(sub < SUBS, "SUBS is too small for the error bound");
        bounds[sub] = first as u16;
        sub += 1;
        first = end;
    }
    assert!(sub == SUBS, "SUBS is too large for the error bound");
    bounds
}

const fn sub_of_cell() -> [u8; CELLS] {
    let bounds = bounds();
    let mut subs = [0u8; CELLS];
    let mut sub = 0;
    while sub < SUBS {
        let mut cell = bounds[sub] as usize;
        while cell < bounds[sub + 1] as usize {
            subs[cell] = sub as u8;
            cell += 1;
        }
        sub += 1;
    }
    subs
}

/// Iterates over the set bits of a page bitmap.
struct Bits {
    bits: u128,
    descending: bool,
}

impl Bits {
    fn ascending(bits: u128) -> Bits {
        Bits {
            bits,
            descending: false,
        }
    }

    fn descending(bits: u128) -> Bits {
        Bits {
            bits,
            descending: true,
        }
    }
}

impl Iterator for Bits {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        if self.bits == 0 {
            return None;
        }
        let index = if self.descending {
            127 - self.bits.leading_zeros()
        } else {
            self.bits.trailing_zeros()
        };
        self.bits &= !(1u128 << index);
        Some(index as usize)
    }
}

/// Exact division of `u64`s by a fixed divisor with two multiplications instead of a `div`
/// instruction: `n / d == floor(n * ceil(2^128 / d) / 2^128)` for every 64-bit `n` and `d > 1`
/// (Lemire, Kaser and Kurz, "Faster remainder by direct computation", 2019).
#[derive(Clone, Copy, Debug)]
struct Divisor {
    divisor: u64,
    /// `ceil(2^128 / divisor)`, split in halves; unused when the divisor is 1.
    magic_high: u64,
    magic_low: u64,
}

impl Divisor {
    /// A divisor of `divisor`, which must not be zero (zero is treated as one).
    fn new(divisor: u64) -> Divisor {
        let divisor = divisor.max(1);
        let magic = (u128::MAX / u128::from(divisor)).wrapping_add(1);
        Divisor {
            divisor,
            magic_high: (magic >> 64) as u64,
            magic_low: magic as u64,
        }
    }

    #[inline]
    fn div(self, n: u64) -> u64 {
        if self.divisor == 1 {
            return n;
        }
        let n = u128::from(n);
        let low = (u128::from(self.magic_low) * n) >> 64;
        // magic_high < 2^63 and n < 2^64, so this cannot overflow.
        ((u128::from(self.magic_high) * n + low) >> 64) as u64
    }

    #[inline]
    fn rem(self, n: u64) -> u64 {
        n - self.div(n) * self.divisor
    }
}

/// A heap value installed at most once, on first use, by whichever thread gets there first, and
/// freed with its owner. The one place in this module that handles raw pointers.
struct LazyBox<T> {
    pointer: AtomicPtr<T>,
    owns: PhantomData<Box<T>>,
}

impl<T> Default for LazyBox<T> {
    fn default() -> Self {
        LazyBox {
            pointer: AtomicPtr::new(ptr::null_mut()),
            owns: PhantomData,
        }
    }
}

impl<T> LazyBox<T> {
    #[inline]
    fn get(&self) -> Option<&T> {
        let pointer = self.pointer.load(Ordering::Acquire);
        // SAFETY: a non-null pointer came from `Box::into_raw` in `get_or_init`, was published
        // with release ordering (paired with the acquire load above) and is freed only in `drop`,
        // which cannot run while `&self` is borrowed.
        unsafe { pointer.as_ref() }
    }

    #[inline]
    fn get_or_init(&self, init: impl FnOnce() -> T) -> &T {
        match self.get() {
            Some(value) => value,
            None => self.install(Box::new(init())),
        }
    }

    #[cold]
    fn install(&self, fresh: Box<T>) -> &T {
        let fresh = Box::into_raw(fresh);
        match self.pointer.compare_exchange(
            ptr::null_mut(),
            fresh,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            // SAFETY: `fresh` is now owned by `self` and lives until `drop`, as in `get`.
            Ok(_) => unsafe { &*fresh },
            Err(winner) => {
                // SAFETY: the exchange failed, so `fresh` was never shared: free it here, once.
                drop(unsafe { Box::from_raw(fresh) });
                // SAFETY: `winner` is non-null (the exchange only fails on a non-null value) and
                // lives until `drop`, as in `get`.
                unsafe { &*winner }
            }
        }
    }
}

impl<T> Drop for LazyBox<T> {
    fn drop(&mut self) {
        let pointer = *self.pointer.get_mut();
        if !pointer.is_null() {
            // SAFETY: the pointer came from `Box::into_raw` and `&mut self` proves no reference
            // to the value remains; it is freed exactly once.
            drop(unsafe { Box::from_raw(pointer) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where `observe` would count `value`: `(sign, page, sub)`, or a special bucket name.
    fn locate(value: f64) -> Result<(usize, usize, usize), &'static str> {
        let summary = Summary::default();
        summary.observe(value, 0);
        let slot = &summary.slots[0];
        for sign in [POSITIVE, NEGATIVE] {
            let Some(table) = slot.tables[sign].get() else {
                continue;
            };
            if table.zero.load(Ordering::Relaxed) == 1 {
                return Err("zero");
            }
            if table.infinity.load(Ordering::Relaxed) == 1 {
                return Err(if sign == POSITIVE { "+inf" } else { "-inf" });
            }
            for (index, page) in table.pages.iter().enumerate() {
                if let Some(page) = page.get() {
                    for sub in 0..SUBS {
                        if page.get(sub) == 1 {
                            return Ok((sign, index, sub));
                        }
                    }
                }
            }
        }
        Err("nowhere")
    }

    #[test]
    fn zero_and_negative_zero_share_the_zero_bucket() {
        assert_eq!(locate(0.0), Err("zero"));
        assert_eq!(locate(-0.0), Err("zero"));
    }

    #[test]
    fn nan_is_counted_nowhere() {
        let summary = Summary::default();
        summary.observe(f64::NAN, 0);
        summary.observe(-f64::NAN, 0);
        summary.observe(f64::from_bits(0x7FF0_0000_0000_0001), 0);
        assert_eq!(summary.snapshot(0).count, 0);
        assert_eq!(summary.snapshot(0).window_count, 0);
        assert_eq!(summary.snapshot(0).sum, 0.0);
        assert_eq!(locate(f64::NAN), Err("nowhere"));
    }

    #[test]
    fn infinities_have_their_own_buckets() {
        assert_eq!(locate(f64::INFINITY), Err("+inf"));
        assert_eq!(locate(f64::NEG_INFINITY), Err("-inf"));
    }

    #[test]
    fn one_starts_page_48() {
        assert_eq!(locate(1.0), Ok((POSITIVE, 48, 0)));
        assert_eq!(locate(-1.0), Ok((NEGATIVE, 48, 0)));
        assert_eq!(locate(2.0 - f64::EPSILON), Ok((POSITIVE, 48, SUBS - 1)));
        assert_eq!(locate(2.0), Ok((POSITIVE, 49, 0)));
        assert_eq!(locate(0.5), Ok((POSITIVE, 47, 0)));
    }

    #[test]
    fn sub_buckets_partition_the_cells_within_the_bound() {
        assert_eq!(BOUNDS[0], 0);
        assert_eq!(usize::from(BOUNDS[SUBS]), CELLS);
        for sub in 0..SUBS {
            let (first, end) = (usize::from(BOUNDS[sub]), usize::from(BOUNDS[sub + 1]));
            assert!(first < end);
            assert!(fits(first, end));
            // Greedy: one more cell would break the bound.
            assert!(end == CELLS || !fits(first, end + 1));
            assert!(SUB_OF_CELL[first..end]
                .iter()
                .all(|&s| usize::from(s) == sub));
        }
        // The worst sub-bucket errs by 0.946%.
        let worst = (0..SUBS)
            .map(|sub| {
                let (first, end) = (f64::from(BOUNDS[sub]), f64::from(BOUNDS[sub + 1]));
                (end - first) / (2.0 * CELLS as f64 + first + end)
            })
            .fold(0.0, f64::max);
        assert!(worst > 0.0094 && worst <= 0.0095, "{worst}");
    }

    #[test]
    fn range_ends_are_exact() {
        let lowest = f64::from_bits(MIN_EXPONENT << MANTISSA_BITS);
        assert_eq!(lowest, 2f64.powi(-48));
        assert_eq!(locate(lowest), Ok((POSITIVE, 0, 0)));
        let below_top = 2f64.powi(48) * (1.0 - f64::EPSILON / 2.0);
        assert_eq!(locate(below_top), Ok((POSITIVE, PAGES - 1, SUBS - 1)));
    }

    #[test]
    fn tiny_and_subnormal_magnitudes_clamp_to_the_lowest_bucket() {
        for value in [
            f64::MIN_POSITIVE,
            1e-300,
            5e-324,
            f64::from_bits(1),
            2f64.powi(-49),
            1e-15,
        ] {
            assert_eq!(locate(value), Ok((POSITIVE, 0, 0)), "{value:e}");
            assert_eq!(locate(-value), Ok((NEGATIVE, 0, 0)), "{value:e}");
        }
    }

    #[test]
    fn huge_magnitudes_clamp_to_the_highest_bucket() {
        for value in [f64::MAX, 1e300, 2f64.powi(48), 1e15] {
            assert_eq!(
                locate(value),
                Ok((POSITIVE, PAGES - 1, SUBS - 1)),
                "{value:e}"
            );
            assert_eq!(
                locate(-value),
                Ok((NEGATIVE, PAGES - 1, SUBS - 1)),
                "{value:e}"
            );
        }
    }

    #[test]
    fn reported_values_are_within_the_bound_of_every_bucket_member() {
        let bound = 0.0095 + 1e-12;
        for page in [0, 1, 47, 48, 49, PAGES - 2, PAGES - 1] {
            let power = 2f64.powi(page as i32 - 48);
            for sub in 0..SUBS {
                let low = power * (1.0 + f64::from(BOUNDS[sub]) / CELLS as f64);
                let high = power * (1.0 + f64::from(BOUNDS[sub + 1]) / CELLS as f64);
                let value = bucket_value(page, sub);
                assert!(low <= value && value < high);
                assert!((value - low) / low <= bound);
                assert!((high - value) / high <= bound);
                // The smallest and the largest member of the bucket map to it.
                assert_eq!(locate(low), Ok((POSITIVE, page, sub)));
                if page == PAGES - 1 && sub == SUBS - 1 {
                    continue; // 2^48 itself is clamped into this bucket too
                }
                let top = f64::from_bits(high.to_bits() - 1);
                assert_eq!(locate(top), Ok((POSITIVE, page, sub)));
            }
        }
    }

    #[test]
    fn divisor_matches_hardware_division() {
        let divisors = [
            1,
            2,
            3,
            5,
            7,
            60,
            16_666_667,
            120_000_000_000,
            1 << 40,
            (1 << 40) + 1,
            u64::MAX / 3,
            u64::MAX - 1,
            u64::MAX,
        ];
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut numbers = vec![0, 1, 2, u64::MAX, u64::MAX - 1, 1 << 63, (1 << 63) - 1];
        for _ in 0..10_000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            numbers.push(state >> (state % 64));
        }
        for &d in &divisors {
            let divisor = Divisor::new(d);
            for &n in numbers
                .iter()
                .chain(&[d, d - 1, d.wrapping_mul(7), d.wrapping_mul(7) - 1])
            {
                assert_eq!(divisor.div(n), n / d, "{n} / {d}");
                assert_eq!(divisor.rem(n), n % d, "{n} % {d}");
            }
        }
    }

    #[test]
    fn pages_are_shared_after_a_lost_race() {
        let slot = Slot::default();
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for page in 0..PAGES {
                        slot.count(NEGATIVE, page, page % SUBS, stripe_of_this_thread());
                    }
                });
            }
        });
        assert_eq!(slot.installed(NEGATIVE), (1 << PAGES) - 1);
        assert_eq!(slot.installed(POSITIVE), 0);
        let table = slot.tables[NEGATIVE].get();
        for (index, page) in table
            .iter()
            .flat_map(|table| table.pages.iter())
            .enumerate()
        {
            let page = page.get();
            assert_eq!(
                page.map(|page| page.get(index % SUBS)),
                Some(4),
                "page {index}"
            );
            assert_eq!(
                table.map(|table| table.total(index)),
                Some(4),
                "page {index}"
            );
        }
    }

    #[test]
    fn a_page_counter_that_reaches_the_carry_loses_nothing() {
        let page = Page::default();
        page.counts[3].store(CARRY - 2, Ordering::Relaxed);
        for _ in 0..3 {
            page.count(3);
        }
        assert_eq!(page.get(3), u64::from(CARRY) + 1);
        assert_eq!(page.counts[3].load(Ordering::Relaxed), 1);
        assert_eq!(page.heap_bytes(), size_of::<Page>() + SUBS * 8);
        page.counts[3].store(CARRY - 1, Ordering::Relaxed);
        page.count(3);
        assert_eq!(page.get(3), 2 * u64::from(CARRY));
        assert_eq!(page.get(4), 0);
        page.clear();
        assert_eq!(page.get(3), 0);
    }

    #[test]
    fn a_page_is_three_cache_lines() {
        assert_eq!(size_of::<Page>(), 192);
        assert_eq!(std::mem::align_of::<Page>(), 64);
    }

    #[test]
    fn an_idle_summary_allocates_only_its_slots_and_stripes() {
        let summary = Summary::default();
        let idle = 5 * std::mem::size_of::<Slot>() + stripe_count() * std::mem::size_of::<Stripe>();
        assert_eq!(summary.heap_bytes(), idle);
        summary.observe(1.0, 0);
        let one_page = idle + std::mem::size_of::<Table>() + std::mem::size_of::<Page>();
        assert_eq!(summary.heap_bytes(), one_page);
        summary.observe(1.5, 0);
        assert_eq!(summary.heap_bytes(), one_page);
    }
}
