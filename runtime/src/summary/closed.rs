//! The closed age buckets of a summary's window, merged over its shards once per slot period.
//!
//! A snapshot merges every live slot of every shard. All but one of a shard's live slots hold
//! epochs that have ended, whose counts no longer change: with 32 shards and 5 age buckets a
//! snapshot would read 160 slots, 128 of which it read at the previous scrape already. So the
//! first snapshot in an epoch, once [`grace`] after its start, merges the slots of the window's
//! earlier epochs into one [`Closed`], and the snapshots after it, until the epoch ends, read
//! that and each shard's slots of the current epoch (and any later one) only.
//!
//! An observation still landing in an ended epoch after that merge (its thread read the clock
//! before the epoch ended and recorded more than the grace later) counts in `_count` and `_sum`
//! at once, and in the quantiles from the next epoch's merge on.

use std::sync::{Mutex, MutexGuard, TryLockError};

use super::buckets::{NEGATIVE, POSITIVE, SUBS};
use super::slot::Extremes;
use super::window::Window;

/// How long after an epoch starts its earlier epochs are taken as closed: a quarter of the slot,
/// at most a second.
pub(super) fn grace(slot: u64) -> u64 {
    (slot / 4).min(1_000_000_000)
}

/// The counts of the window's ended epochs at one epoch, over every shard.
pub(super) struct Closed {
    /// The epoch whose earlier epochs these are; `u64::MAX` before the first merge.
    epoch: u64,
    /// The pages that hold observations, by sign.
    present: [u128; 2],
    /// The pages in `present`: the positive ones, then the negative ones, each from the lowest
    /// index.
    pages: Box<[ClosedPage]>,
    zero: u64,
    /// `+Inf`, then `-Inf`.
    infinities: [u64; 2],
}

/// One page of [`Closed`].
pub(super) struct ClosedPage {
    total: u64,
    /// Of the magnitudes that the page's slots counted.
    extremes: Extremes,
    /// Sub-bucket counts; 32 bits, as an epoch ends with far fewer observations per bucket.
    row: [u32; SUBS],
}

impl Closed {
    fn empty() -> Closed {
        Closed {
            epoch: u64::MAX,
            present: [0; 2],
            pages: Box::default(),
            zero: 0,
            infinities: [0; 2],
        }
    }

    /// The merge of `window`'s slots (those of the ended epochs at `epoch`); `None` when a
    /// sub-bucket holds more than 32 bits can count, which is then read from the slots.
    fn merge(window: &Window<'_>, epoch: u64) -> Option<Closed> {
        let totals = window.totals(None);
        let mut pages = Vec::with_capacity(totals.installed_count());
        let mut row = [0u64; SUBS];
        for sign in [POSITIVE, NEGATIVE] {
            for (index, total) in totals.installed_pages(sign) {
                let extremes = window.merge(sign, index, total, &mut row, None);
                let mut narrow = [0u32; SUBS];
                for (to, from) in narrow.iter_mut().zip(row) {
                    *to = u32::try_from(from).ok()?;
                }
                pages.push(ClosedPage {
                    total,
                    extremes,
                    row: narrow,
                });
            }
        }
        let (zero, infinities) = totals.specials();
        Some(Closed {
            epoch,
            present: totals.installed(),
            pages: pages.into_boxed_slice(),
            zero,
            infinities,
        })
    }

    /// The pages that hold observations, by sign, and their totals, for the window's.
    pub(super) fn pages(&self, sign: usize) -> impl Iterator<Item = (usize, u64)> + '_ {
        let (present, first) = self.range(sign);
        super::window::bits_ascending(present)
            .zip(self.pages.get(first..).unwrap_or_default())
            .map(|(index, page)| (index, page.total))
    }

    /// The pages of `sign` as a bitmap, and the position of the first in `pages`.
    fn range(&self, sign: usize) -> (u128, usize) {
        let first = if sign == NEGATIVE {
            self.present[POSITIVE].count_ones() as usize
        } else {
            0
        };
        (self.present[sign % 2], first)
    }

    /// The observations of zero, and of `+Inf` and `-Inf`.
    pub(super) fn specials(&self) -> (u64, [u64; 2]) {
        (self.zero, self.infinities)
    }

    /// Adds page `index` of `sign` to `row` and `extremes`, if it holds observations.
    pub(super) fn add_page(
        &self,
        sign: usize,
        index: usize,
        row: &mut [u64; SUBS],
        extremes: &mut Extremes,
    ) {
        if let Some(page) = self.page(sign, index) {
            for (count, closed) in row.iter_mut().zip(page.row) {
                *count = count.wrapping_add(u64::from(closed));
            }
            extremes.widen(page.extremes);
        }
    }

    fn page(&self, sign: usize, index: usize) -> Option<&ClosedPage> {
        let (present, first) = self.range(sign);
        let bit = 1u128.checked_shl(index as u32)?;
        if present & bit == 0 {
            return None;
        }
        self.pages
            .get(first + (present & (bit - 1)).count_ones() as usize)
    }

    /// Heap memory of the merged pages.
    pub(super) fn heap_bytes(&self) -> usize {
        std::mem::size_of_val::<[ClosedPage]>(&self.pages)
    }
}

/// Where a summary keeps its [`Closed`] between snapshots.
pub(crate) struct ClosedCache(Mutex<Closed>);

impl Default for ClosedCache {
    fn default() -> Self {
        ClosedCache(Mutex::new(Closed::empty()))
    }
}

impl ClosedCache {
    /// The ended epochs of the window at `epoch`, merged from `ended` (a window of their slots)
    /// if this cache holds an older merge. `None` when another snapshot is using the cache, or
    /// when the epochs cannot be merged: the caller then reads every live slot.
    pub(super) fn at<'a>(
        &'a self,
        epoch: u64,
        ended: impl FnOnce() -> Window<'a>,
    ) -> Option<MutexGuard<'a, Closed>> {
        let mut closed = match self.0.try_lock() {
            Ok(closed) => closed,
            // Nothing is left half-written: a panic cannot happen while the lock is held.
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return None,
        };
        if closed.epoch != epoch {
            *closed = Closed::merge(&ended(), epoch).unwrap_or(Closed::empty());
        }
        (closed.epoch == epoch).then_some(closed)
    }

    /// Heap memory of the merge held.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.0.lock().map_or(0, |closed| closed.heap_bytes())
    }
}
