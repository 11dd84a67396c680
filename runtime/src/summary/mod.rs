//! The windowed quantile summary behind every `service="duration"` and `service="size"` series.
//!
//! A [`Summary`] reports chosen quantiles (0.5, 0.9 and 0.99 by default) of the observations made
//! in a sliding time window, plus a `_sum` and a `_count` that cover the whole life of the process,
//! like a Prometheus client's summary with `MaxAge` and `AgeBuckets`. It records with no lock and
//! no locked instruction, and allocates only when a value lands in a power of two that its thread
//! has not seen before.
//!
//! # Design
//!
//! **Buckets** ([`buckets`]). A value is counted in a log-spaced bucket found from its bit
//! pattern: 40 sub-buckets per power of two, each narrow enough that the value it reports is
//! within 0.95% of any value it holds.
//!
//! **Shards** ([`crate::primitives::shard`]). Each thread records into a part of the summary of
//! its own: its own totals and the slot of the epoch it records in, which only it writes, with
//! plain loads and stores. Threads beyond the shard pool share one more part: its totals are
//! written with atomic read-modify-writes, and its observations go straight to the summary's
//! [`Folded`] slots (below). A snapshot adds the parts up. One thread's part is a [`Core`]. A
//! standalone [`Summary`] keeps its cores, its [`Folded`] slots and a [`Shape`] (the options and
//! the divisions they imply); an instrumented handler keeps the cores of its two summaries side
//! by side in per-thread parts of its own, with one `Shape` for both.
//!
//! **Window** ([`slot`], [`folded`], [`window`]). `max_age` is split into `age_buckets` slot
//! periods of `slot = max_age / age_buckets` nanoseconds. An observation at `now` belongs to
//! epoch `now / slot` and lands in its shard's slot, which is tagged with the epoch it holds.
//! The first observation of a new epoch in a slot that holds an older one folds what the slot
//! holds into the summary's [`Folded`] slot of that epoch (slot `epoch % age_buckets` of
//! `age_buckets`, shared by every shard and written with read-modify-writes), unless that
//! epoch has left the window, and clears the slot. So a thread does that work once per slot
//! period, and a shard keeps one epoch however many are in the window. A snapshot at `now`
//! merges the slots, its shards' and the folded ones, whose epoch is in
//! `(now / slot - age_buckets, now / slot]` (or later, when an observer's clock ran ahead of the
//! snapshot's), so the window covers between `(age_buckets - 1) / age_buckets * max_age` and
//! `max_age` of the most recent history, as in the Go client, and a long idle period needs no
//! rotation work: stale slots are simply not merged. An observation stamped in an epoch its
//! shard has moved past goes to the folded slot of that epoch; one older than any folded slot
//! holds is older than the window of any later snapshot: it only counts in `_sum` and `_count`.
//! Both divisions by constants are done with multiplications ([`divisor`]).
//!
//! **Accuracy guarantee.** Every reported quantile lies within 1% relative error (at most 0.95%)
//! of the exact nearest-rank quantile `sorted[k - 1]`, `k = max(1, ceil(q * n))`, of the `n`
//! observations in the window: the reported value and the exact one share a bucket. The quantile
//! is exact when it falls on zero or an infinity. Each slot also keeps the smallest and largest
//! magnitude of each sign counted in it (and for the lowest and highest page, which take in the
//! magnitudes beyond the buckets' range, their own largest and smallest), and a reported value is
//! clamped to those of the slots that count in its page: it never lies outside the window's
//! minimum and maximum, and a window of one value reports that value. The guarantee covers magnitudes in `[2^-48, 2^48)`; outside
//! that range values are clamped into the extreme buckets. It holds for a snapshot taken while no
//! observation is landing; observations that race with a snapshot may or may not be included.
//!
//! **Totals.** `_count` and `_sum` are kept per shard and added up by a snapshot; neither ever
//! decays.
//!
//! # Memory
//!
//! Each shard a thread has recorded into holds a 32-byte core with its slot (in a handler, one
//! 128-byte part holds both summaries' cores and the request counts), plus, once its slot has
//! counted something, 144 bytes of counts, a 128-byte group for each eight powers of two in use
//! and an 88-byte page for each power of two in use: a latency distribution spread over 12
//! powers of two costs about 1.4 KiB. The folded slots cost as much each, once per summary
//! rather than per shard ([`Summary::heap_bytes`] reports the exact figure). Memory grows with
//! the threads that record (a shard each, up to the pool's size plus one): the pages, small as
//! they are, are most of it.

mod buckets;
mod divisor;
mod folded;
mod options;
mod slot;
mod window;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

pub(crate) use folded::Folded;
pub use options::SummaryOptions;

use self::buckets::Bucket;
use self::divisor::Divisor;
use self::slot::{prefetch, Slot};
use self::window::{Window, WindowTotals};
use crate::primitives::shard::{self, Owner, Shard, Shards, Sharer, Writer};

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

/// What [`Prepared::read_into`] returns besides the quantiles.
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
///   (`q = 0` is the minimum), and exact when that is zero or an infinity. It never lies outside
///   the smallest and largest observation of the window: a window of one value reports it. Values are counted in
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
/// - **Cost.** Each thread records into a part of the summary that only it writes, so an
///   observation is a few plain loads and stores: no lock, no locked instruction, no cache line
///   shared with another thread. Threads beyond a pool of two per CPU share one more part,
///   written with atomic additions. Memory is allocated only the first time a thread sees a
///   power of two (about 12 of them for a typical latency distribution). A snapshot reads the
///   counters of those powers of two and allocates only the returned vector.
///   [`Summary::heap_bytes`] tells the memory used.
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
pub struct Summary {
    shards: Shards<Core>,
    shape: Shape,
    folded: Folded,
}

/// What every shard of a summary shares: its options, and the divisions they imply. A handler
/// keeps one for its two summaries, whose shards live in its own per-thread parts.
#[derive(Debug)]
// In this order: every observation reads the slot length, and a handler keeps its shape on the
// line its requests read (see `HandlerMetrics`).
#[repr(C)]
pub(crate) struct Shape {
    /// Divides a time by the slot length, giving its epoch.
    slot_length: Divisor,
    /// Divides an epoch by the number of slots, for its slot index.
    slot_count: Divisor,
    options: SummaryOptions,
}

/// One shard of a summary: the totals of what its thread observed, and the slot of the epoch
/// it observes in (the epochs it moved past are in the summary's [`Folded`]).
pub(crate) struct Core {
    count: AtomicU64,
    /// Bit pattern of an `f64`.
    sum: AtomicU64,
    slot: Slot,
}

impl Core {
    /// Heap memory of what the core's slot holds (the core itself is not counted).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.slot.heap_bytes()
    }
}

impl Shape {
    pub(crate) fn new(options: &SummaryOptions) -> Shape {
        let age_buckets = u64::from(options.age_buckets().max(1));
        // Options are validated, so the slot is at least 1 s / 60 long; `max(1)` keeps the
        // divisor valid even if that ever changed.
        let max_age = u64::try_from(options.max_age().as_nanos()).unwrap_or(u64::MAX);
        let slot = (max_age / age_buckets).max(1);
        Shape {
            slot_length: Divisor::new(slot),
            slot_count: Divisor::new(age_buckets),
            options: options.clone(),
        }
    }

    /// An empty shard.
    pub(crate) fn core(&self) -> Core {
        Core {
            count: AtomicU64::new(0),
            sum: AtomicU64::new(0),
            slot: Slot::default(),
        }
    }

    /// The empty slots of the ended epochs of one summary.
    pub(crate) fn folded(&self) -> Folded {
        Folded::new(self.slot_count.divisor())
    }

    /// The epoch of time `now`, for [`Shape::record`]; computed once for all the observations
    /// made at one instant.
    #[inline]
    pub(crate) fn epoch(&self, now: u64) -> u64 {
        self.slot_length.div(now)
    }

    /// Records `value`, observed in `epoch`, into `core`, one of the shards of the summary whose
    /// ended epochs are `folded`; the caller owns the core's writer `W` ([`Owner`]) or shares it
    /// ([`Sharer`]).
    ///
    /// Always inlined, as [`slot::Slot::count`] is into it: a request makes two observations, and
    /// the calls (with the bucket passed through memory) cost about 45 instructions a request;
    /// the compiler, weighing the cold paths, would not inline them on its own.
    #[inline(always)]
    pub(crate) fn record<W: Writer>(&self, core: &Core, folded: &Folded, epoch: u64, value: f64) {
        let Some(bucket) = Bucket::of(value) else {
            return; // NaN
        };
        if !W::OWNED {
            // Threads that share the core count straight into the folded slot of the epoch:
            // in a slot of their own, one of them clearing it for a new epoch could lose what
            // another was counting, where a folded slot's claim waits for its writers.
            folded.count(epoch, self.slot_count, bucket, value);
        } else if core.slot.tag.load(Ordering::Acquire) == epoch + 1 {
            // The tag is `epoch + 1`: 0 tags a slot that never held anything.
            core.slot.count::<Owner>(bucket, value);
        } else {
            // The bucket is found again there, from the value: a bucket passed along would be
            // written to the stack on every observation, for a call made once per slot period.
            self.rotate(core, folded, epoch, value);
        }
        W::add(&core.count, 1);
        W::add_float(&core.sum, value);
    }

    /// Counts an observation of `epoch` that the slot of `core`, owned by the calling thread,
    /// does not hold: the slot moves on to `epoch`, folding what it held into `folded` first,
    /// or, if it holds a later epoch already, the observation goes to `folded`.
    #[cold]
    #[inline(never)]
    fn rotate(&self, core: &Core, folded: &Folded, epoch: u64, value: f64) {
        let Some(bucket) = Bucket::of(value) else {
            return; // NaN, which `record` has sent away already
        };
        let slot_count = self.slot_count;
        let rotated = core.slot.rotate(epoch + 1, |ended, slot| {
            folded.fold(ended, slot, epoch, slot_count);
        });
        match rotated {
            Some(slot) => slot.count::<Owner>(bucket, value),
            None => folded.count(epoch, slot_count, bucket, value),
        }
    }

    /// Begins the read of the summary whose shards are `cores` and ended epochs `folded`, at
    /// `now`: finds the live slots and the page totals, starts loading the sub-buckets of the
    /// pages that hold a quantile, and reads `_count` and `_sum`; [`Prepared::read_into`]
    /// finishes it.
    pub(crate) fn prepare<'a>(
        &'a self,
        cores: impl Iterator<Item = &'a Core> + Clone,
        folded: &'a Folded,
        now: u64,
    ) -> Prepared<'a> {
        let mut prepared = Prepared::default();
        self.prepare_into(cores, folded, now, &mut prepared);
        prepared
    }

    /// [`Shape::prepare`] into `prepared`, in place: a scrape keeps the reads it has begun
    /// where they are, rather than moving their few kilobytes each time.
    pub(crate) fn prepare_into<'a>(
        &'a self,
        cores: impl Iterator<Item = &'a Core> + Clone,
        folded: &'a Folded,
        now: u64,
        prepared: &mut Prepared<'a>,
    ) {
        let epoch = self.epoch(now);
        let first = (epoch + 1).saturating_sub(self.slot_count.divisor());
        let slots = cores.clone().map(|core| std::slice::from_ref(&core.slot));
        let window = &mut prepared.window;
        window.fill(std::iter::once(folded.slots()).chain(slots), first);
        window.totals_into(&mut prepared.totals);
        window.prefetch_pages(self.options.quantiles(), &prepared.totals);
        prepared.quantiles = self.options.quantiles();
        (prepared.count, prepared.sum) = count_and_sum(cores);
    }
}

/// `_count` and `_sum`: every shard's, added up.
fn count_and_sum<'a>(cores: impl Iterator<Item = &'a Core>) -> (u64, f64) {
    cores.fold((0, 0.0), |(count, sum), core| {
        (
            count.wrapping_add(core.count.load(Ordering::Relaxed)),
            sum + f64::from_bits(core.sum.load(Ordering::Relaxed)),
        )
    })
}

/// For a caller about to read many summaries in turn (a scrape), whose counters are scattered
/// on the heap behind a few levels of pointers: these three start loading, without waiting for
/// it, what a read needs, one level at a time. Calling `prefetch_cores` four summaries ahead,
/// `prefetch_counts` three ahead, `prefetch_totals` two ahead and [`Shape::prepare`] one ahead
/// makes each level's lines ready by the time the next one reads them.
///
/// The first level: each shard's totals and slot, and the folded slots.
#[inline]
pub(crate) fn prefetch_cores<'a>(cores: impl Iterator<Item = &'a Core>, folded: &Folded) {
    cores.for_each(prefetch);
    prefetch(folded.slots());
}

/// The second level: the counts of the slots that have any, with their groups' pointers. Stale
/// slots are not told apart here, nor at the third level: that takes the window, which
/// [`Shape::prepare`] finds.
#[inline]
pub(crate) fn prefetch_counts<'a>(cores: impl Iterator<Item = &'a Core>, folded: &Folded) {
    for slot in folded.slots().iter().chain(cores.map(|core| &core.slot)) {
        slot.prefetch_counts();
    }
}

/// The third level: the page totals of the slots.
pub(crate) fn prefetch_totals<'a>(cores: impl Iterator<Item = &'a Core>, folded: &Folded) {
    for slot in folded.slots().iter().chain(cores.map(|core| &core.slot)) {
        slot.prefetch_groups();
    }
}

impl Default for Summary {
    fn default() -> Self {
        Summary::new(&SummaryOptions::default())
    }
}

impl fmt::Debug for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (count, sum) = count_and_sum(self.shards.iter());
        f.debug_struct("Summary")
            .field("options", &self.shape.options)
            .field("count", &count)
            .field("sum", &sum)
            .finish_non_exhaustive()
    }
}

impl Summary {
    /// An empty summary shaped by `options`. Allocates only its folded slots (24 bytes per age
    /// bucket) until the first observation.
    pub fn new(options: &SummaryOptions) -> Summary {
        let shape = Shape::new(options);
        Summary {
            shards: Shards::default(),
            folded: shape.folded(),
            shape,
        }
    }

    /// The options this summary was built with.
    pub fn options(&self) -> &SummaryOptions {
        &self.shape.options
    }

    /// Records `value`, observed `now_nanos` nanoseconds after the caller's time origin.
    ///
    /// All callers must read one monotonic clock: an observation stamped far in the future takes
    /// its slot over until then, one stamped more than `max_age` in the past only counts in
    /// `_sum` and `_count`, and one stamped in a slot period that ended over a second (or a
    /// quarter of a slot) before it is recorded may reach the quantiles only from the next slot
    /// period on.
    ///
    /// `NaN` is ignored. `±Inf` is counted in buckets of its own (and makes `_sum` infinite, as in
    /// every Prometheus client); magnitudes outside `[2^-48, 2^48)` are clamped into the extreme
    /// buckets. Never blocks, except for a thread without a shard of its own, which may wait the
    /// few microseconds in which another thread clears the folded slot that a new epoch reuses,
    /// once per slot period.
    #[inline]
    pub fn observe(&self, value: f64, now_nanos: u64) {
        self.observe_in(shard::current(), value, now_nanos);
    }

    /// [`observe`](Summary::observe) into the part of `shard`, which must be the calling
    /// thread's ([`shard::current`]) or [`Shard::SHARED`].
    #[inline]
    fn observe_in(&self, shard: Shard, value: f64, now_nanos: u64) {
        let core = self.shards.get_or_init(shard, || self.shape.core());
        let epoch = self.shape.epoch(now_nanos);
        if shard.is_owned() {
            self.shape.record::<Owner>(core, &self.folded, epoch, value);
        } else {
            self.shape
                .record::<Sharer>(core, &self.folded, epoch, value);
        }
    }

    /// The quantiles of the window that ends at `now_nanos` (same origin as for
    /// [`observe`](Summary::observe)), with the cumulative sum and count.
    ///
    /// Reads the counters of the powers of two in use, then walks them once for all quantiles;
    /// allocates only the returned vector.
    pub fn snapshot(&self, now_nanos: u64) -> Snapshot {
        let mut values = vec![f64::NAN; self.shape.options.quantiles().len()];
        let reading = self
            .shape
            .prepare(self.shards.iter(), &self.folded, now_nanos)
            .read_into(&mut values);
        Snapshot {
            quantiles: values,
            sum: reading.sum,
            count: reading.count,
            window_count: reading.window_count,
        }
    }

    /// Heap memory owned by this summary in bytes: every shard's part, not counting
    /// `size_of::<Summary>()` itself nor the quantile list it shares with its options.
    pub fn heap_bytes(&self) -> usize {
        self.shards
            .iter()
            .map(|core| Shards::<Core>::PART_BYTES + core.heap_bytes())
            .sum::<usize>()
            + self.folded.heap_bytes()
    }
}

/// A read of one summary, begun by [`Shape::prepare`]: its live slots, page totals and
/// cumulative totals are known and the pages that hold its quantiles are loading. Observations
/// that land before [`Prepared::read_into`] may or may not be included, as with any read.
pub(crate) struct Prepared<'a> {
    quantiles: &'a [f64],
    window: Window<'a>,
    totals: WindowTotals,
    count: u64,
    sum: f64,
}

impl Default for Prepared<'_> {
    /// The read of a summary with no observation.
    fn default() -> Self {
        Prepared {
            quantiles: &[],
            window: Window::empty(),
            totals: WindowTotals::default(),
            count: 0,
            sum: 0.0,
        }
    }
}

impl Prepared<'_> {
    /// Finishes the read, as [`Summary::snapshot`] without allocating: writes the quantiles
    /// into `values` (one per configured quantile, in order; `NaN` for an empty window; extra
    /// entries are left alone, missing ones are not written) and returns the rest.
    pub(crate) fn read_into(&self, values: &mut [f64]) -> Reading {
        let written = self.quantiles.len().min(values.len());
        values[..written].fill(f64::NAN);
        let window_count = self.window.resolve(
            &self.totals,
            &self.quantiles[..written],
            &mut values[..written],
        );
        Reading {
            sum: self.sum,
            count: self.count,
            window_count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_idle_summary_allocates_its_folded_slots_only() {
        let summary = Summary::default();
        let folded = 5 * (16 + 8); // a tag, a pointer and a count of writers per age bucket
        assert_eq!(summary.heap_bytes(), folded);
        summary.observe(1.0, 0);
        let one_page = folded
            + Shards::<Core>::PART_BYTES
            + 144 // the counts of the shard's slot
            + 128 // the group of powers of two 2^0..2^7
            + 88; // the page of 2^0
        assert_eq!(summary.heap_bytes(), one_page);
        summary.observe(1.5, 0);
        assert_eq!(summary.heap_bytes(), one_page);
        // The next epoch folds the first into the folded slots, which then count as much.
        summary.observe(1.5, 120_000_000_000);
        assert_eq!(summary.heap_bytes(), one_page + 144 + 128 + 88);
    }

    #[test]
    fn a_quantile_stays_within_the_windows_extremes() {
        // One 334-byte answer: its bucket reports about 334.97, the answer itself is 334.
        let summary = Summary::default();
        summary.observe(334.0, 0);
        assert_eq!(summary.snapshot(0).quantiles, [334.0; 3]);
        // From another shard too, and of either sign.
        let shared = Summary::default();
        shared.observe_in(Shard::SHARED, -0.0123, 0);
        assert_eq!(shared.snapshot(0).quantiles, [-0.0123; 3]);
        // Below the extremes, a bucket reports its own value: 334 and 335 share one.
        summary.observe(335.0, 0);
        let bucket = summary.snapshot(0).quantiles[0];
        assert!(bucket > 334.0 && bucket < 335.0, "{bucket}");
        // A value alone in its page at the top of the window reports itself.
        summary.observe(1000.0, 0);
        assert_eq!(summary.snapshot(0).quantiles, [bucket, 1000.0, 1000.0]);
    }

    #[test]
    fn sharers_carrying_sub_buckets_lose_nothing() {
        // Four threads without a shard of their own count two values of one page, so that both
        // 16-bit sub-buckets reach the carry several times while the others keep counting.
        let summary = Summary::default();
        let per_thread = 50_000u32;
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for i in 0..per_thread {
                        summary.observe_in(Shard::SHARED, 0.25, 1_000);
                        if i > 0 {
                            summary.observe_in(Shard::SHARED, 0.49, 1_000);
                        }
                    }
                });
            }
        });
        let snapshot = summary.snapshot(1_000);
        let (low, high) = (4 * u64::from(per_thread), 4 * u64::from(per_thread - 1));
        assert!(
            low > 4 * (1 << 15),
            "the sub-buckets must carry more than once"
        );
        assert_eq!(snapshot.count, low + high);
        assert_eq!(snapshot.window_count, low + high);
        // The median's rank is 4 below the last 0.25: a sub-bucket that lost a few counts
        // would move it to 0.49's.
        let near = |value: f64, exact: f64| (value - exact).abs() <= exact * 0.0095;
        assert!(
            near(snapshot.quantiles[0], 0.25),
            "{:?}",
            snapshot.quantiles
        );
        assert!(
            near(snapshot.quantiles[1], 0.49),
            "{:?}",
            snapshot.quantiles
        );
        assert!(
            near(snapshot.quantiles[2], 0.49),
            "{:?}",
            snapshot.quantiles
        );
    }

    #[test]
    fn sharers_moving_to_a_new_epoch_lose_nothing() {
        // Four threads without a shard of their own each move through four epochs, so that one
        // moves the window on while the others are still counting in the epoch it leaves.
        let slot = 120_000_000_000u64; // the default window's slot period
        for _ in 0..20 {
            let summary = Summary::default();
            std::thread::scope(|scope| {
                for thread in 0..4u64 {
                    let summary = &summary;
                    scope.spawn(move || {
                        for i in 0..20_000u64 {
                            let now = (i / 5_000) * slot + thread;
                            summary.observe_in(Shard::SHARED, f64::from((i % 100) as u32 + 1), now);
                        }
                    });
                }
            });
            let snapshot = summary.snapshot(3 * slot + 10);
            assert_eq!(snapshot.count, 80_000);
            assert_eq!(snapshot.window_count, 80_000, "observations were lost");
        }
    }

    #[test]
    fn owners_and_the_shared_shard_add_up() {
        let summary = Summary::default();
        // Four threads own their shards (as far as the pool allows) and four share one.
        std::thread::scope(|scope| {
            for thread in 0..8u32 {
                let summary = &summary;
                scope.spawn(move || {
                    let shard = if thread < 4 {
                        shard::current()
                    } else {
                        Shard::SHARED
                    };
                    for i in 0..10_000u32 {
                        summary.observe_in(shard, f64::from(i % 100 + 1), 1_000);
                    }
                });
            }
        });
        let snapshot = summary.snapshot(1_000);
        assert_eq!(snapshot.count, 80_000);
        assert_eq!(snapshot.window_count, 80_000);
        assert_eq!(snapshot.sum, 8.0 * 100.0 * 5_050.0);
        // 1..=100, each 800 times: the median is 50, the 99th percentile 99.
        for (reported, exact) in snapshot.quantiles.iter().zip([50.0, 90.0, 99.0]) {
            assert!(
                (reported - exact).abs() <= exact * 0.0095,
                "{reported} vs {exact}"
            );
        }
    }
}
