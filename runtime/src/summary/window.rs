//! Reading a summary: the quantiles of the observations in its window.
//!
//! A snapshot at `now` merges, over every shard, the slots whose epoch is in
//! `(now / slot - age_buckets, now / slot]` (or later, when an observer's clock ran ahead of the
//! snapshot's). It adds up the page totals of those slots, computes the nearest rank
//! `k = max(1, ceil(q * n))` of each quantile `q` among the `n` observations (`q * n` in `f64`),
//! walks the buckets in value order once for all quantiles, reading the sub-buckets of only the
//! pages where a quantile falls, and reports for the bucket that holds the `k`-th smallest
//! observation the value [`bucket_value`] gives, clamped to the smallest and largest magnitude
//! of its sign observed in the slots that count in that page (so within the window's minimum and
//! maximum: a window of one value reports that value).

use std::sync::atomic::Ordering;

use super::buckets::{bucket_value, NEGATIVE, PAGES, POSITIVE, SUBS};
use super::slot::{counted_pages, Extremes, Page, Slot, CARRY, NO_PAGE, NO_SLOT, RESETTING};
use crate::primitives::shard::CELLS;

/// The live slots of a summary at one instant, and the quantiles they hold.
pub(super) struct Window<'a> {
    /// The live slots, the first `len` entries: a list rather than each shard's slots with a
    /// bitmap, because every step of a read visits them all, at 16 shards tens of thousands of
    /// times per scrape.
    live: [&'a Slot; MOST_LIVE],
    len: usize,
}

/// The most live slots a window holds: one in each core (a shard keeps the epoch it records in)
/// and the folded ones of every age bucket, at most 64 per summary.
const MOST_LIVE: usize = CELLS + 64;

impl<'a> Window<'a> {
    /// A window of no slot.
    pub(super) fn empty() -> Window<'a> {
        Window {
            live: [&NO_SLOT; MOST_LIVE],
            len: 0,
        }
    }

    /// Makes this the window of the slots of each shard that hold epoch `first` or a later
    /// one (at epoch `now`, the live ones are those from `now + 1 - age_buckets` on), in place:
    /// a scrape reuses its windows rather than moving them.
    pub(super) fn fill(&mut self, shards: impl Iterator<Item = &'a [Slot]>, first: u64) {
        self.len = 0;
        for slot in shards.flat_map(|slots| slots.iter().take(64)) {
            let tag = slot.tag.load(Ordering::Acquire);
            // Skips empty slots (tag 0) and slots being cleared; tag - 1 is the epoch, so
            // `tag > first` is `epoch >= first`.
            if tag & RESETTING == 0 && tag > first {
                let Some(entry) = self.live.get_mut(self.len) else {
                    break; // more slots than a summary has
                };
                *entry = slot;
                self.len += 1;
            }
        }
    }

    /// Calls `visit` with each live slot.
    #[inline]
    fn for_each_slot(&self, visit: impl FnMut(&'a Slot)) {
        self.live.iter().take(self.len).copied().for_each(visit);
    }

    /// How the window's observations spread over the pages, as the slots' totals tell, written
    /// over `totals` in place.
    pub(super) fn totals_into(&self, totals: &mut WindowTotals) {
        totals.clear();
        let mut groups = [0u64; 2];
        self.for_each_slot(|slot| {
            for sign in [POSITIVE, NEGATIVE] {
                groups[sign] |= slot.add_totals(sign, &mut totals.pages[sign]);
            }
            totals.add_specials(slot.specials());
        });
        for sign in [POSITIVE, NEGATIVE] {
            totals.installed[sign] = counted_pages(&totals.pages[sign], groups[sign]);
        }
        totals.n = totals.count();
    }

    /// Starts loading the sub-buckets that [`Window::resolve`] reads: those of the pages that
    /// hold a quantile, in every live slot.
    pub(super) fn prefetch_pages(&self, quantiles: &[f64], totals: &WindowTotals) {
        totals.locate(quantiles, |sign, index| {
            self.for_each_slot(|slot| {
                if let Some(page) = slot.counted_page(sign, index) {
                    page.prefetch();
                }
            });
        });
    }

    /// Writes the value of each quantile into `values` and returns how many observations the
    /// window holds, given its `totals`; `values` is left alone when there are none.
    ///
    /// The totals locate the page of each quantile; the walk in value order then adds up the
    /// sub-buckets of those pages only.
    pub(super) fn resolve(
        &self,
        totals: &WindowTotals,
        quantiles: &[f64],
        values: &mut [f64],
    ) -> u64 {
        if quantiles.is_empty() || totals.n == 0 {
            return 0;
        }

        // In value order: -Inf, negative pages from the largest magnitude, zero, positive
        // pages, +Inf.
        let mut ranks = Ranks::new(quantiles, totals.n, values);
        let mut row = [0u64; SUBS];
        ranks.bucket(totals.infinities[NEGATIVE], f64::NEG_INFINITY);
        for index in Bits::descending(totals.installed[NEGATIVE]) {
            self.visit_page(&mut ranks, totals, NEGATIVE, index, &mut row);
        }
        ranks.bucket(totals.zero, 0.0);
        for index in Bits::ascending(totals.installed[POSITIVE]) {
            self.visit_page(&mut ranks, totals, POSITIVE, index, &mut row);
        }
        ranks.bucket(totals.infinities[POSITIVE], f64::INFINITY);
        ranks.finish();
        totals.n
    }

    /// Visits page `index` of `sign` in value order (a negative page from its largest magnitude),
    /// reading its sub-buckets into `row` only when it holds the next quantile.
    fn visit_page(
        &self,
        ranks: &mut Ranks<'_>,
        totals: &WindowTotals,
        sign: usize,
        index: usize,
        row: &mut [u64; SUBS],
    ) {
        let total = totals.pages[sign % 2][index % PAGES];
        if !ranks.in_next(total) {
            ranks.skip(total);
            return;
        }
        let extremes = self.merge(sign, index, total, row);
        let count = |sub: usize| row[sub % SUBS];
        // Two calls rather than one with a branch per sub-bucket: this is the scrape's inner loop.
        if sign == NEGATIVE {
            ranks.page(total, (0..SUBS).rev(), count, |sub| {
                -extremes.clamp(bucket_value(index, sub))
            });
        } else {
            ranks.page(total, 0..SUBS, count, |sub| {
                extremes.clamp(bucket_value(index, sub))
            });
        }
    }

    /// Sets `row` to the sub-bucket counts of page `index` of `sign` over the live slots, which
    /// the totals say hold `total` observations, and returns the extremes of the magnitudes of
    /// `sign` in the slots that count in that page.
    fn merge(&self, sign: usize, index: usize, total: u64, row: &mut [u64; SUBS]) -> Extremes {
        let mut extremes = Extremes::NONE;
        for _ in 0..MERGE_ATTEMPTS {
            *row = [0; SUBS];
            extremes = Extremes::NONE;
            // Added four at a time.
            let mut four = [&NO_PAGE; 4];
            let mut held = 0;
            self.for_each_slot(|slot| {
                if let Some(page) = slot.counted_page_widening(sign, index, &mut extremes) {
                    if let Some(entry) = four.get_mut(held) {
                        *entry = page;
                        held += 1;
                    }
                    if held == four.len() {
                        Page::add_four_to(four, row);
                        held = 0;
                    }
                }
            });
            for page in four.iter().take(held) {
                page.add_to(row);
            }
            // Off by about `CARRY`: a counter was caught being carried (see `Page::carry`).
            let sum = row.iter().fold(0u64, |sum, count| sum.wrapping_add(*count));
            if total.abs_diff(sum) < u64::from(CARRY / 2) {
                break;
            }
        }
        extremes
    }
}

/// Reads of a page's sub-buckets before taking them as they are, when their sum is far from the
/// page's total (a counter caught being carried; or, at every attempt, a slot being reset).
const MERGE_ATTEMPTS: usize = 3;

/// The observations of a window per page, as the slots' totals tell.
pub(super) struct WindowTotals {
    /// Observations per page, by sign.
    pages: [[u64; PAGES]; 2],
    /// The pages that hold observations in any live slot, by sign.
    installed: [u128; 2],
    infinities: [u64; 2],
    zero: u64,
    /// All of them.
    n: u64,
}

impl Default for WindowTotals {
    fn default() -> Self {
        WindowTotals {
            pages: [[0; PAGES]; 2],
            installed: [0; 2],
            infinities: [0; 2],
            zero: 0,
            n: 0,
        }
    }
}

impl WindowTotals {
    /// Back to no observation, in place. Only the pages that the last window counted in hold a
    /// count (the slots add the totals of whole groups, and every page of those groups whose
    /// total is not zero is marked): those are set back to 0, not the whole table.
    fn clear(&mut self) {
        for sign in [POSITIVE, NEGATIVE] {
            for index in Bits::ascending(self.installed[sign]) {
                self.pages[sign][index % PAGES] = 0;
            }
        }
        self.installed = [0; 2];
        self.infinities = [0; 2];
        self.zero = 0;
        self.n = 0;
    }

    /// Every observation: those of the pages in use (only they can hold any), zero and the
    /// infinities.
    fn count(&self) -> u64 {
        let specials = self
            .infinities
            .iter()
            .fold(self.zero, |n, count| n.saturating_add(*count));
        [POSITIVE, NEGATIVE].into_iter().fold(specials, |n, sign| {
            Bits::ascending(self.installed[sign]).fold(n, |n, index| {
                n.saturating_add(self.pages[sign][index % PAGES])
            })
        })
    }

    fn add_specials(&mut self, (zero, infinities): (u64, [u64; 2])) {
        self.zero = self.zero.saturating_add(zero);
        for (total, count) in self.infinities.iter_mut().zip(infinities) {
            *total = total.saturating_add(count);
        }
    }

    /// Calls `found(sign, index)` for each page that the walk in value order will find one of
    /// `quantiles` in.
    pub(super) fn locate(&self, quantiles: &[f64], mut found: impl FnMut(usize, usize)) {
        let n = self.n;
        let mut walk = RankWalk {
            ranks: quantiles.iter().map(|q| nearest_rank(*q, n)).peekable(),
            below: self.infinities[NEGATIVE],
        };
        for index in Bits::descending(self.installed[NEGATIVE]) {
            if walk.passes(self.pages[NEGATIVE][index % PAGES]) {
                found(NEGATIVE, index);
            }
        }
        walk.below = walk.below.saturating_add(self.zero);
        for index in Bits::ascending(self.installed[POSITIVE]) {
            if walk.passes(self.pages[POSITIVE][index % PAGES]) {
                found(POSITIVE, index);
            }
        }
    }
}

/// The walk of [`WindowTotals::locate`] in value order: the observations passed, and the ranks
/// not reached yet.
struct RankWalk<R: Iterator<Item = u64>> {
    ranks: std::iter::Peekable<R>,
    below: u64,
}

impl<R: Iterator<Item = u64>> RankWalk<R> {
    /// Passes a page of `count` observations: whether a rank falls in it. Always inlined: as a
    /// closure called from the walk's two loops, the compiler inlined it in some builds and not
    /// in others, 3% of a render's instructions apart.
    #[inline(always)]
    fn passes(&mut self, count: u64) -> bool {
        let end = self.below.saturating_add(count);
        let mut holds = false;
        while let Some(rank) = self.ranks.next_if(|rank| *rank <= end) {
            holds |= rank > self.below;
        }
        self.below = end;
        holds
    }
}

/// The nearest rank `max(1, ceil(q * n))` of quantile `q` among `n` observations (`q = 0` asks
/// for the minimum, rank 1).
#[inline]
fn nearest_rank(q: f64, n: u64) -> u64 {
    let exact = q * n as f64;
    // `ceil` without a call into libm (x86-64's baseline has no instruction for it): the
    // conversion truncates (and saturates), then one more if it dropped a fraction.
    let whole = exact as u64;
    let rank = if (whole as f64) < exact {
        whole.saturating_add(1)
    } else {
        whole
    };
    rank.clamp(1, n)
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
            Some(q) => nearest_rank(*q, self.n),
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
        // Observations in the sub-buckets walked so far, from `self.below` (at most `end`).
        let mut below = self.below;
        let mut last = None;
        for sub in order {
            let count = count(sub);
            if count == 0 {
                continue;
            }
            let count = count.min(end - below);
            if count == 0 {
                break; // the page's total is reached: nothing further counts
            }
            last = Some(sub);
            below += count;
            if self.rank <= below {
                let value = value(sub);
                while self.rank <= below {
                    self.resolve_next(value);
                }
                if self.rank > end {
                    break; // the page's last quantile
                }
            }
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

#[cfg(test)]
mod tests {
    use super::{nearest_rank, Ranks};

    /// The quantiles of one page whose sub-buckets hold `counts` and whose total says `total`,
    /// each reported as the index of its sub-bucket.
    fn walk(counts: &[u64], total: u64, quantiles: &[f64]) -> Vec<f64> {
        let mut values = vec![f64::NAN; quantiles.len()];
        let mut ranks = Ranks::new(quantiles, total, &mut values);
        ranks.page(total, 0..counts.len(), |sub| counts[sub], |sub| sub as f64);
        ranks.finish();
        values
    }

    #[test]
    fn nearest_rank_is_the_ceiling_clamped_to_the_observations() {
        for n in [1u64, 2, 3, 7, 10, 1000, 1 << 53, u64::MAX] {
            for q in [0.0, 1e-9, 0.1, 0.25, 0.5, 0.9, 0.99, 0.999, 1.0] {
                let expected = ((q * n as f64).ceil() as u64).clamp(1, n);
                assert_eq!(nearest_rank(q, n), expected, "q {q}, n {n}");
            }
        }
        assert_eq!(nearest_rank(f64::NAN, 5), 1);
    }

    #[test]
    fn each_quantile_gets_the_sub_bucket_of_its_rank() {
        // Ranks 1, 5, 9 and 10 of ten observations: sub-buckets 1, 3, 4 and 4.
        let values = walk(&[0, 2, 0, 3, 5, 0], 10, &[0.0, 0.5, 0.9, 1.0]);
        assert_eq!(values, [1.0, 3.0, 4.0, 4.0]);
    }

    #[test]
    fn sub_buckets_beyond_the_page_total_are_not_counted() {
        // A counter read mid-update: the sub-buckets hold 12 where the total says 6. The walk
        // stops at the total, so rank 6 falls in sub-bucket 1, not 2.
        let values = walk(&[4, 4, 4], 6, &[0.5, 1.0]);
        assert_eq!(values, [0.0, 1.0]);
    }

    #[test]
    fn ranks_the_sub_buckets_miss_get_the_last_one_counted() {
        // A slot cleared between the two reads: the sub-buckets hold 2 of the 4 observations
        // the total says. Ranks 3 and 4 get the last non-empty sub-bucket rather than nothing.
        let values = walk(&[1, 0, 1, 0], 4, &[0.25, 0.75, 1.0]);
        assert_eq!(values, [0.0, 2.0, 2.0]);
    }
}
