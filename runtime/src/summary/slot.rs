//! The bucket counts of the observations of one epoch: a shard's current one, or the ended ones
//! folded over the shards.
//!
//! ```text
//! Slot                               one in each shard's core, one per age bucket folded, 16 bytes
//! ├─ tag                             the epoch it holds
//! └─ counts                          allocated on the slot's first observation, 144 bytes
//!    ├─ positive side
//!    │  ├─ least, most               the smallest and largest magnitude observed, and the
//!    │  │                            inner ones of the lowest and highest pages
//!    │  ├─ installed                 a bit for each group installed
//!    │  └─ groups of pages
//!    ├─ rare                         allocated when the slot first counts a negative value,
//!    │  │                            zero or an infinity, 160 bytes
//!    │  ├─ negative side             as the positive one
//!    │  └─ zero, +Inf and -Inf counters
//!    └─ group                        eight powers of two, allocated on first use, 128 bytes
//!       ├─ 8 × total                 observations in each page (the first line)
//!       └─ 8 × page                  allocated on first use, 88 bytes
//!          └─ 40 × AtomicU16         one per sub-bucket
//! ```
//!
//! A shard's slot sits in its core, beside its totals, so a snapshot finds whether it is live on
//! the line it reads the totals from, and a slot that never counted anything costs its 16 bytes
//! only. An observation
//! writes its sub-bucket, its page's total and, when it widens them, its side's extremes. A
//! snapshot reads the counts of each live slot, the totals of its groups (a line each) to find
//! the pages that hold its quantiles, then the sub-buckets of those pages only; it reads the rare
//! part only when the slot has one. Counts, rare parts, groups and pages are installed with a
//! compare-and-swap on their pointer and live as long as the summary; clearing a slot zeroes
//! them in place.

use std::ptr;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};

use super::buckets::{Bucket, NEGATIVE, PAGES, SUBS};
use crate::primitives::lazy_box::{self, LazyBox};
use crate::primitives::shard::{Sharer, Writer};

/// Pages per group: a group's totals fill one cache line.
const GROUP_PAGES: usize = 8;
/// Groups per sign.
const GROUPS: usize = PAGES / GROUP_PAGES;
/// Set in a slot tag while the slot is being cleared for the epoch in the other bits.
pub(super) const RESETTING: u64 = 1 << 63;
/// Spins before a thread waiting for a slot reset (or for the folds into a folded slot) starts
/// yielding its time slice.
const SPINS_BEFORE_YIELD: u32 = 64;

/// One turn of a wait for another thread's brief work on a slot: a spin for the first turns
/// (`spins` counts them), then the rest of the time slice.
pub(super) fn pause(spins: &mut u32) {
    *spins += 1;
    if *spins < SPINS_BEFORE_YIELD {
        std::hint::spin_loop();
    } else {
        std::thread::yield_now();
    }
}

/// The observations of one epoch: the epoch, and the counts, allocated when it first counts.
#[derive(Default)]
#[repr(C)]
pub(super) struct Slot {
    /// `epoch + 1` of the observations held (0: none yet), plus [`RESETTING`] while clearing.
    pub(super) tag: AtomicU64,
    counts: LazyBox<Counts>,
}

/// A page that counts nothing: what fills the unused entries of a list of pages.
pub(super) static NO_PAGE: Page = Page {
    counts: [const { AtomicU16::new(0) }; SUBS],
    carries: LazyBox::new(),
};

/// A slot that never holds anything: what fills the unused entries of a list of slots.
pub(super) static NO_SLOT: Slot = Slot {
    tag: AtomicU64::new(0),
    counts: LazyBox::new(),
};

/// The observations of one epoch: what every observation and every snapshot of the slot reads.
/// What latencies and sizes never need is kept apart, in [`Rare`].
#[derive(Default)]
struct Counts {
    positive: Side,
    /// Negative values, zero and the infinities, from the first of them counted.
    rare: LazyBox<Rare>,
}

/// What a slot counts of values that latencies and sizes never are.
#[derive(Default)]
struct Rare {
    negative: Side,
    zero: AtomicU64,
    /// `+Inf`, then `-Inf`.
    infinities: [AtomicU64; 2],
}

/// The pages of one sign of a slot, and the extremes of the magnitudes counted in them: a
/// quantile lies between them, so the value its bucket reports is clamped to them (a single
/// observation then reads as itself). Kept per side rather than per page: a page is allocated
/// for each power of two a thread has seen in each age bucket of each summary, so its size is
/// most of the memory of a handler recorded by many threads. The lowest and the highest page
/// also take in the magnitudes beyond the range of the buckets, far from the value their bucket
/// reports, so their own inner extreme is kept too.
struct Side {
    /// Bit pattern of the smallest magnitude counted (`u64::MAX`: none yet).
    least: AtomicU64,
    /// Bit pattern of the largest magnitude counted (0: none yet).
    most: AtomicU64,
    /// Bit pattern of the largest magnitude counted in the lowest page (0: none yet).
    lowest_page_most: AtomicU64,
    /// Bit pattern of the smallest magnitude counted in the highest page (`u64::MAX`: none yet).
    highest_page_least: AtomicU64,
    /// The groups installed, a bit each: a snapshot visits those only, rather than testing
    /// every pointer.
    installed: AtomicU64,
    /// Pages, eight powers of two to a group.
    groups: [LazyBox<Group>; GROUPS],
}

/// The highest page, which takes in the magnitudes of `2^48` and more.
const HIGHEST_PAGE: usize = PAGES - 1;

impl Default for Side {
    fn default() -> Self {
        Side {
            least: AtomicU64::new(Extremes::NONE.least),
            most: AtomicU64::new(Extremes::NONE.most),
            lowest_page_most: AtomicU64::new(Extremes::NONE.most),
            highest_page_least: AtomicU64::new(Extremes::NONE.least),
            installed: AtomicU64::new(0),
            groups: std::array::from_fn(|_| LazyBox::default()),
        }
    }
}

impl Side {
    /// Counts `magnitude` (a value's, as bit pattern) in sub-bucket `sub` of page `page`,
    /// installing its group and page on first use.
    #[inline]
    fn count<W: Writer>(&self, page_index: usize, sub: usize, magnitude: u64) {
        // The bucket's page is below `PAGES`, so its group exists.
        let Some(group) = self.group(page_index / GROUP_PAGES) else {
            return;
        };
        let index = page_index % GROUP_PAGES;
        let (Some(total), Some(page)) = (group.totals.get(index), group.pages.get(index)) else {
            return;
        };
        page.get_or_init(Page::default).count::<W>(sub);
        W::lower(&self.least, magnitude);
        W::raise(&self.most, magnitude);
        // One comparison for the pages in between: only the lowest wraps below 1.
        if page_index.wrapping_sub(1) >= HIGHEST_PAGE - 1 {
            self.count_at_an_end::<W>(page_index, magnitude);
        }
        W::add(total, 1);
    }

    /// Keeps the inner extreme of the lowest or the highest page, which `page_index` is.
    #[cold]
    fn count_at_an_end<W: Writer>(&self, page_index: usize, magnitude: u64) {
        if page_index == 0 {
            W::raise(&self.lowest_page_most, magnitude);
        } else {
            W::lower(&self.highest_page_least, magnitude);
        }
    }

    /// Group `index`, installed first if it is not yet.
    #[inline]
    fn group(&self, index: usize) -> Option<&Group> {
        match self.groups.get(index)?.get() {
            Some(group) => Some(group),
            None => self.install_group(index),
        }
    }

    #[cold]
    fn install_group(&self, index: usize) -> Option<&Group> {
        let group = self.groups.get(index)?.get_or_init(Group::default);
        // Release: whoever finds the bit finds the group.
        self.installed.fetch_or(1 << index, Ordering::Release);
        Some(group)
    }

    /// Adds what this side counted to `into`, with read-modify-writes.
    fn fold_into(&self, into: &Side) {
        for (group_index, group) in self.installed_groups() {
            let mut row = [0u64; SUBS];
            for ((total, page), index) in group.totals.iter().zip(&group.pages).zip(0..) {
                let total = total.load(Ordering::Relaxed);
                let Some(page) = page.get().filter(|_| total != 0) else {
                    continue;
                };
                let Some(target) = into.group(group_index) else {
                    continue;
                };
                let (Some(to_total), Some(to_page)) =
                    (target.totals.get(index), target.pages.get(index))
                else {
                    continue;
                };
                row.fill(0);
                page.add_to(&mut row);
                let to_page = to_page.get_or_init(Page::default);
                for (sub, count) in row.iter().enumerate() {
                    if *count != 0 {
                        to_page.add(sub, *count);
                    }
                }
                Sharer::add(to_total, total);
            }
        }
        Sharer::lower(&into.least, self.least.load(Ordering::Relaxed));
        Sharer::raise(&into.most, self.most.load(Ordering::Relaxed));
        let lowest = self.lowest_page_most.load(Ordering::Relaxed);
        Sharer::raise(&into.lowest_page_most, lowest);
        let highest = self.highest_page_least.load(Ordering::Relaxed);
        Sharer::lower(&into.highest_page_least, highest);
    }

    /// The groups installed, with their index.
    #[inline]
    fn installed_groups(&self) -> impl Iterator<Item = (usize, &Group)> {
        lazy_box::installed(&self.groups, self.installed.load(Ordering::Acquire))
    }

    fn clear(&self) {
        for (_, group) in self.installed_groups() {
            group.clear();
        }
        self.least.store(Extremes::NONE.least, Ordering::Relaxed);
        self.most.store(Extremes::NONE.most, Ordering::Relaxed);
        let (lowest, highest) = (&self.lowest_page_most, &self.highest_page_least);
        lowest.store(Extremes::NONE.most, Ordering::Relaxed);
        highest.store(Extremes::NONE.least, Ordering::Relaxed);
    }

    /// Widens `extremes` to take in the magnitudes this side counted that page `page` may
    /// hold.
    fn add_extremes(&self, page: usize, extremes: &mut Extremes) {
        let least = match page {
            HIGHEST_PAGE => &self.highest_page_least,
            _ => &self.least,
        };
        let most = match page {
            0 => &self.lowest_page_most,
            _ => &self.most,
        };
        extremes.least = extremes.least.min(least.load(Ordering::Relaxed));
        extremes.most = extremes.most.max(most.load(Ordering::Relaxed));
    }

    /// Adds the observations per page to `totals`, and returns the groups it added from, as a
    /// bitmap ([`counted_pages`] tells which of their pages hold any).
    fn add_totals(&self, totals: &mut [u64; PAGES]) -> u64 {
        let mut groups = 0;
        for (index, group) in self.installed_groups() {
            let Some(chunk) = totals.get_mut(index * GROUP_PAGES..(index + 1) * GROUP_PAGES) else {
                continue;
            };
            // The observations of one window cannot overflow a `u64`.
            for (total, counter) in chunk.iter_mut().zip(&group.totals) {
                *total = total.wrapping_add(counter.load(Ordering::Relaxed));
            }
            // Reported from this pass, not from another read of the bitmap: a group installed
            // in between would be added and not reported, and its totals left in the table.
            groups |= 1 << index;
        }
        groups
    }

    /// The sub-buckets of page `page`, if its total counts anything: a slot keeps the pages it
    /// installed after it is cleared, and a snapshot need not read the empty ones. (An
    /// observation counts in its sub-bucket before its page's total, so a zero total misses at
    /// most observations that race with the snapshot.)
    fn counted_page(&self, page: usize) -> Option<&Page> {
        let group = self.groups.get(page / GROUP_PAGES)?.get()?;
        let index = page % GROUP_PAGES;
        if group.totals.get(index)?.load(Ordering::Relaxed) == 0 {
            return None;
        }
        group.pages.get(index)?.get()
    }

    fn heap_bytes(&self) -> usize {
        self.installed_groups()
            .map(|(_, group)| group.heap_bytes())
            .sum()
    }
}

impl Slot {
    /// Makes the slot hold epoch `tag - 1`, clearing it first if it holds an older one, after
    /// passing what it held, with its epoch, to `fold`; `None` when it already holds a newer
    /// epoch. Waits while another thread clears it.
    #[cold]
    pub(super) fn rotate(&self, tag: u64, fold: impl FnOnce(u64, &Slot)) -> Option<&Slot> {
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
                pause(&mut spins);
                continue;
            }
            if self
                .tag
                // Sequentially consistent: a folded slot's writers announce themselves before
                // they read the tag, and its claim reads the announcements after this (see
                // `Folded`).
                .compare_exchange(
                    current,
                    tag | RESETTING,
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                )
                .is_ok()
            {
                if held != 0 {
                    fold(held - 1, self);
                }
                if let Some(counts) = self.counts.get() {
                    counts.clear();
                }
                // Release: whoever reads the new tag sees the cleared counters.
                self.tag.store(tag, Ordering::Release);
                return Some(self);
            }
        }
    }

    /// Adds what this slot counted to `into`, which any thread may be writing to.
    pub(super) fn fold_into(&self, into: &Slot) {
        let Some(counts) = self.counts.get() else {
            return;
        };
        let target = into.counts.get_or_init(Counts::default);
        counts.positive.fold_into(&target.positive);
        if let Some(rare) = counts.rare.get() {
            let target = target.rare();
            rare.negative.fold_into(&target.negative);
            Sharer::add(&target.zero, rare.zero.load(Ordering::Relaxed));
            for (to, from) in target.infinities.iter().zip(&rare.infinities) {
                Sharer::add(to, from.load(Ordering::Relaxed));
            }
        }
    }

    /// Counts an observation of `value` in `bucket` (its bucket), installing the slot's counts,
    /// and the bucket's group and page, on first use. Always inlined: see [`Shape::record`].
    ///
    /// [`Shape::record`]: super::Shape::record
    #[inline(always)]
    pub(super) fn count<W: Writer>(&self, bucket: Bucket, value: f64) {
        let counts = self.counts.get_or_init(Counts::default);
        match bucket {
            Bucket::Paged { sign, page, sub } => {
                let side = if sign == NEGATIVE {
                    &counts.rare().negative
                } else {
                    &counts.positive
                };
                side.count::<W>(page, sub, magnitude(value));
            }
            Bucket::Zero => W::add(&counts.rare().zero, 1),
            Bucket::Infinity { sign } => W::add(&counts.rare().infinities[sign % 2], 1),
        }
    }

    /// The side of `sign`, if the slot has counted any value of that sign: the negative one
    /// lives in the rare part.
    #[inline]
    fn side(&self, sign: usize) -> Option<&Side> {
        let counts = self.counts.get()?;
        if sign == NEGATIVE {
            counts.rare.get().map(|rare| &rare.negative)
        } else {
            Some(&counts.positive)
        }
    }

    /// Adds the observations per page of `sign` to `totals`, and returns the groups of pages it
    /// added from, as a bitmap.
    pub(super) fn add_totals(&self, sign: usize, totals: &mut [u64; PAGES]) -> u64 {
        self.side(sign).map_or(0, |side| side.add_totals(totals))
    }

    /// The sub-buckets of page `page` of `sign`, if it counts anything, after widening
    /// `extremes` to take in the magnitudes of `sign` counted in this slot that the page may
    /// hold.
    #[inline]
    pub(super) fn counted_page_widening(
        &self,
        sign: usize,
        page: usize,
        extremes: &mut Extremes,
    ) -> Option<&Page> {
        let side = self.side(sign)?;
        let counted = side.counted_page(page)?;
        side.add_extremes(page, extremes);
        Some(counted)
    }

    /// The observations of zero, and of `+Inf` and `-Inf`.
    pub(super) fn specials(&self) -> (u64, [u64; 2]) {
        match self.counts.get().and_then(|counts| counts.rare.get()) {
            Some(rare) => (
                rare.zero.load(Ordering::Relaxed),
                rare.infinities
                    .each_ref()
                    .map(|counter| counter.load(Ordering::Relaxed)),
            ),
            None => (0, [0; 2]),
        }
    }

    /// The sub-buckets of page `page` of `sign`, if it counts anything.
    #[inline]
    pub(super) fn counted_page(&self, sign: usize, page: usize) -> Option<&Page> {
        self.side(sign)?.counted_page(page)
    }

    /// Starts loading the slot's counts, if it has any.
    #[inline]
    pub(super) fn prefetch_counts(&self) {
        if let Some(counts) = self.counts.get() {
            prefetch(counts);
        }
    }

    /// Starts loading the lines a snapshot reads after the counts: the totals of the groups in
    /// use and, if the slot has one, its rare part.
    #[inline]
    pub(super) fn prefetch_groups(&self) {
        let Some(counts) = self.counts.get() else {
            return;
        };
        if let Some(rare) = counts.rare.get() {
            prefetch(rare);
        }
        for (_, group) in counts.positive.installed_groups() {
            prefetch(&group.totals);
        }
    }

    /// Heap memory of the slot's counts and what they hold (the slot itself is not counted).
    pub(super) fn heap_bytes(&self) -> usize {
        self.counts.get().map_or(0, Counts::heap_bytes)
    }
}

impl Counts {
    /// The rare part, installed first if the slot has none.
    #[inline]
    fn rare(&self) -> &Rare {
        self.rare.get_or_init(Rare::default)
    }

    fn clear(&self) {
        self.positive.clear();
        if let Some(rare) = self.rare.get() {
            rare.negative.clear();
            rare.zero.store(0, Ordering::Relaxed);
            for infinity in &rare.infinities {
                infinity.store(0, Ordering::Relaxed);
            }
        }
    }

    fn heap_bytes(&self) -> usize {
        std::mem::size_of::<Counts>()
            + self.positive.heap_bytes()
            + self.rare.get().map_or(0, |rare| {
                std::mem::size_of::<Rare>() + rare.negative.heap_bytes()
            })
    }
}

/// Eight pages of one sign of a slot, with the number of observations in each. The totals
/// come first, on a line of their own: a snapshot reads the totals of every group in use to
/// find its quantiles, and the pointers of only the few pages that hold one.
#[derive(Default)]
#[repr(C, align(64))]
struct Group {
    /// Observations in each page.
    totals: [AtomicU64; GROUP_PAGES],
    pages: [LazyBox<Page>; GROUP_PAGES],
}

impl Group {
    fn installed_pages(&self) -> impl Iterator<Item = &Page> {
        self.pages.iter().filter_map(LazyBox::get)
    }

    fn clear(&self) {
        for page in self.installed_pages() {
            page.clear();
        }
        for total in &self.totals {
            total.store(0, Ordering::Relaxed);
        }
    }

    fn heap_bytes(&self) -> usize {
        std::mem::size_of::<Group>() + self.installed_pages().map(Page::heap_bytes).sum::<usize>()
    }
}

/// The sub-bucket counters of one power of two.
///
/// The page is 88 bytes, with no alignment beyond its fields': a page is allocated for each
/// power of two a thread has seen in each age bucket of each summary, so its size, and what the
/// allocator adds to it, is most of the memory of a handler recorded by many threads. The
/// counters are 16-bit for the same reason, and because the sub-buckets of the pages that hold
/// a quantile are most of what a snapshot reads. A sub-bucket that counts [`CARRY`] moves that
/// much to a 64-bit carry (the page's carries are allocated then), so nothing is ever lost; a
/// page of a busy handler does that once in 2^15 observations of one sub-bucket.
#[repr(C)]
pub(super) struct Page {
    counts: [AtomicU16; SUBS],
    /// What was moved out of each counter.
    carries: LazyBox<[AtomicU64; SUBS]>,
}

/// The pages of `groups` (a bitmap, as [`Slot::add_totals`] returns) whose total in `totals` is
/// not zero, as a bitmap: found once from the window's totals rather than in every slot.
pub(super) fn counted_pages(totals: &[u64; PAGES], groups: u64) -> u128 {
    let mut pages = 0u128;
    let mut groups = groups;
    while groups != 0 {
        let index = groups.trailing_zeros() as usize;
        groups &= groups - 1;
        let chunk = totals.iter().skip(index * GROUP_PAGES).take(GROUP_PAGES);
        let counted = chunk.enumerate().fold(0u8, |counted, (offset, total)| {
            counted | u8::from(*total != 0) << offset
        });
        pages |= u128::from(counted) << (index * GROUP_PAGES);
    }
    pages
}

/// The bit pattern of `value`'s magnitude: for non-negative `f64`s, the order of the bit
/// patterns as integers is the order of the values.
#[inline]
fn magnitude(value: f64) -> u64 {
    value.to_bits() & !(1 << 63)
}

/// The smallest and largest magnitude counted in some slots, as bit patterns; empty while
/// `least > most`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Extremes {
    least: u64,
    most: u64,
}

impl Extremes {
    /// Nothing counted yet.
    pub(super) const NONE: Extremes = Extremes {
        least: u64::MAX,
        most: 0,
    };

    /// `value` (a bucket's value, of either sign) with its magnitude moved within these
    /// extremes, if any magnitude was counted.
    #[inline]
    pub(super) fn clamp(self, value: f64) -> f64 {
        if self.least > self.most {
            return value; // no extremes recorded (a slot caught being cleared)
        }
        let (least, most) = (f64::from_bits(self.least), f64::from_bits(self.most));
        let clamped = value.abs().max(least).min(most);
        clamped.copysign(value)
    }
}

/// How much of a page counter is moved to its carry at once, when it reaches that much.
pub(super) const CARRY: u16 = 1 << 15;
/// The largest count [`Page::add`] adds to a counter rather than to its carry: far enough from
/// `CARRY` that concurrent additions cannot wrap a 16-bit counter.
const BULK: u16 = 1 << 10;

impl Default for Page {
    fn default() -> Self {
        Page {
            counts: [const { AtomicU16::new(0) }; SUBS],
            carries: LazyBox::default(),
        }
    }
}

impl Page {
    #[inline]
    fn count<W: Writer>(&self, sub: usize) {
        // A bucket's sub-bucket is below `SUBS`.
        let Some(counter) = self.counts.get(sub) else {
            return;
        };
        // At `CARRY - 1` for an owner, the only writer; sharers may find it beyond, if the
        // sharer that brought it to `CARRY` has not moved it yet.
        if W::increment(counter) >= CARRY - 1 {
            self.carry(counter, sub);
        }
    }

    /// Moves [`CARRY`] from `counter` (sub-bucket `sub`) to its carry, if it holds that much
    /// still: of the sharers that find it at `CARRY` or more, each moves it only while it does,
    /// so the counter stays far from wrapping even if one of them is descheduled here.
    /// Read-modify-writes, for owners too: this runs once in 2^15 observations of a sub-bucket.
    #[cold]
    fn carry(&self, counter: &AtomicU16, sub: usize) {
        let carries = self.carries();
        let moved = counter.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |count| {
            count.checked_sub(CARRY)
        });
        if moved.is_ok() {
            // A snapshot reading between the two sees the sub-bucket off by `CARRY`, and reads
            // it again.
            carries[sub % SUBS].fetch_add(u64::from(CARRY), Ordering::Relaxed);
        }
    }

    /// Adds `count` observations to sub-bucket `sub`, as any thread may: a small count to its
    /// counter, a large one straight to its carry.
    fn add(&self, sub: usize, count: u64) {
        let Some(counter) = self.counts.get(sub) else {
            return;
        };
        match u16::try_from(count) {
            Ok(small) if small < BULK => {
                let before = counter.fetch_add(small, Ordering::Relaxed);
                if before.saturating_add(small) >= CARRY {
                    self.carry(counter, sub);
                }
            }
            _ => {
                self.carries()[sub % SUBS].fetch_add(count, Ordering::Relaxed);
            }
        }
    }

    /// The page's carries, allocated on first use.
    fn carries(&self) -> &[AtomicU64; SUBS] {
        self.carries
            .get_or_init(|| [const { AtomicU64::new(0) }; SUBS])
    }

    /// Adds the sub-bucket counts to `row`.
    #[inline]
    pub(super) fn add_to(&self, row: &mut [u64; SUBS]) {
        // The observations of one window cannot overflow a `u64`.
        for (count, counter) in row.iter_mut().zip(&self.counts) {
            *count = count.wrapping_add(u64::from(counter.load(Ordering::Relaxed)));
        }
        self.add_carries_to(row);
    }

    /// Adds what the counters moved to their carries to `row`.
    #[inline]
    fn add_carries_to(&self, row: &mut [u64; SUBS]) {
        if let Some(carries) = self.carries.get() {
            for (count, carry) in row.iter_mut().zip(carries) {
                *count = count.wrapping_add(carry.load(Ordering::Relaxed));
            }
        }
    }

    /// Adds the sub-bucket counts of four pages to `row`: one pass through `row` for the four,
    /// which takes fewer instructions than a pass for each.
    #[inline]
    pub(super) fn add_four_to(pages: [&Page; 4], row: &mut [u64; SUBS]) {
        let [first, second, third, fourth] = pages.map(|page| &page.counts);
        let counters = first.iter().zip(second).zip(third).zip(fourth);
        for (count, (((first, second), third), fourth)) in row.iter_mut().zip(counters) {
            let four = [first, second, third, fourth]
                .map(|counter| u64::from(counter.load(Ordering::Relaxed)));
            *count = count.wrapping_add(four.iter().sum::<u64>());
        }
        for page in pages {
            page.add_carries_to(row);
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
    pub(super) fn prefetch(&self) {
        prefetch(self);
    }

    fn heap_bytes(&self) -> usize {
        std::mem::size_of::<Page>()
            + self
                .carries
                .get()
                .map_or(0, std::mem::size_of_val::<[AtomicU64; SUBS]>)
    }
}

/// Asks the processor to start loading every cache line that `value` spans and carry on: loads
/// of scattered lines then overlap instead of each waiting for the previous one. Only a hint;
/// nothing happens on processors other than x86-64.
#[inline(always)]
pub(super) fn prefetch<T: ?Sized>(value: &T) {
    let start = ptr::from_ref(value).cast::<u8>() as usize;
    let end = start + std::mem::size_of_val(value).max(1);
    let mut line = start & !63;
    while line < end {
        prefetch_line(line);
        line += 64;
    }
}

#[inline(always)]
fn prefetch_line(address: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch never faults, whatever the address, and neither reads into a register
    // nor writes memory. SSE is part of the x86-64 baseline.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(address as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::primitives::shard::{Owner, Sharer};
    use crate::summary::buckets::{NEGATIVE, POSITIVE};

    impl Page {
        fn get(&self, sub: usize) -> u64 {
            let mut row = [0; SUBS];
            self.add_to(&mut row);
            row[sub % SUBS]
        }
    }

    #[test]
    fn pages_are_shared_after_a_lost_race() {
        let slot = Slot::default();
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for page in 0..PAGES {
                        let sub = page % SUBS;
                        slot.count::<Sharer>(
                            Bucket::Paged {
                                sign: NEGATIVE,
                                page,
                                sub,
                            },
                            -1.0,
                        );
                    }
                });
            }
        });
        let mut totals = [0; PAGES];
        let groups = slot.add_totals(NEGATIVE, &mut totals);
        assert_eq!(groups, (1 << GROUPS) - 1);
        assert_eq!(counted_pages(&totals, groups), (1 << PAGES) - 1);
        assert_eq!(totals, [4; PAGES]);
        assert_eq!(slot.add_totals(POSITIVE, &mut [0; PAGES]), 0);
        for page in 0..PAGES {
            let counts = slot
                .counted_page(NEGATIVE, page)
                .map(|counts| counts.get(page % SUBS));
            assert_eq!(counts, Some(4), "page {page}");
        }
    }

    #[test]
    fn a_page_counter_that_reaches_the_carry_loses_nothing() {
        let page = Page::default();
        page.counts[3].store(CARRY - 2, Ordering::Relaxed);
        for _ in 0..2 {
            page.count::<Owner>(3);
        }
        page.count::<Sharer>(3);
        assert_eq!(page.get(3), u64::from(CARRY) + 1);
        assert_eq!(page.counts[3].load(Ordering::Relaxed), 1);
        assert_eq!(page.heap_bytes(), size_of::<Page>() + SUBS * 8);
        page.counts[3].store(CARRY - 1, Ordering::Relaxed);
        page.count::<Owner>(3);
        assert_eq!(page.get(3), 2 * u64::from(CARRY));
        assert_eq!(page.get(4), 0);
        // A sharer finds the counter beyond `CARRY`: another sharer has not moved it yet.
        page.counts[5].store(CARRY + 7, Ordering::Relaxed);
        page.count::<Sharer>(5);
        assert_eq!(page.counts[5].load(Ordering::Relaxed), 8);
        assert_eq!(page.get(5), u64::from(CARRY) + 8);
        page.clear();
        assert_eq!(page.get(3), 0);
    }

    #[test]
    fn four_pages_add_up_as_each_alone() {
        let pages: [Page; 4] = std::array::from_fn(|_| Page::default());
        for (n, page) in pages.iter().enumerate() {
            for sub in 0..SUBS {
                for _ in 0..(sub + n) % 3 {
                    page.count::<Owner>(sub);
                }
            }
        }
        // Straight to its carry: the carries are added too.
        pages[2].add(7, 1 << 20);
        let mut one_by_one = [0; SUBS];
        for page in &pages {
            page.add_to(&mut one_by_one);
        }
        let mut four = [0; SUBS];
        Page::add_four_to(pages.each_ref(), &mut four);
        assert_eq!(four, one_by_one);
        // Sub-bucket 7 counts 1, 2, 0 and 1 in the four pages.
        assert_eq!(four[7], (1 << 20) + 4);
    }

    #[test]
    fn extremes_clamp_a_bucket_value_of_either_sign() {
        let side = Side::default();
        assert_eq!(Extremes::NONE.clamp(2.5), 2.5, "nothing to clamp to");
        for value in [334.0, 335.5, -300.0] {
            side.count::<Owner>(48 + 8, 0, magnitude(value));
        }
        let mut extremes = Extremes::NONE;
        side.add_extremes(56, &mut extremes);
        assert_eq!(extremes.clamp(334.97), 334.97);
        assert_eq!(extremes.clamp(290.0), 300.0);
        assert_eq!(extremes.clamp(340.0), 335.5);
        assert_eq!(extremes.clamp(-340.0), -335.5);
        let other = Side::default();
        other.count::<Sharer>(48 + 8, 0, magnitude(400.0));
        other.add_extremes(56, &mut extremes);
        assert_eq!(extremes.clamp(500.0), 400.0);
        assert_eq!(extremes.clamp(100.0), 300.0);
        // The lowest and highest pages, which take in the magnitudes beyond the buckets' range,
        // are clamped to their own inner extreme.
        for value in [5e-324, 1e-30, 1e30, f64::MAX] {
            let page = if value < 1.0 { 0 } else { HIGHEST_PAGE };
            other.count::<Owner>(page, 0, magnitude(value));
        }
        let mut lowest = Extremes::NONE;
        other.add_extremes(0, &mut lowest);
        assert_eq!(lowest.clamp(3.6e-15), 1e-30);
        let mut highest = Extremes::NONE;
        other.add_extremes(HIGHEST_PAGE, &mut highest);
        assert_eq!(highest.clamp(2.8e14), 1e30);
        assert_eq!(highest.clamp(-2.8e14), -1e30);
    }

    #[test]
    fn sizes() {
        // A slot is a tag and a pointer; a group's totals on its first line; pages
        // as small as their fields.
        assert_eq!(size_of::<Slot>(), 16);
        assert_eq!(size_of::<Counts>(), 144);
        assert_eq!(size_of::<Rare>(), 160);
        assert_eq!(size_of::<Group>(), 128);
        assert_eq!(std::mem::offset_of!(Group, pages), 64);
        assert_eq!(std::mem::align_of::<Group>(), 64);
        assert_eq!(size_of::<Page>(), 88);
        assert_eq!(std::mem::align_of::<Page>(), 8);
    }

    #[test]
    fn a_claimed_slot_starts_empty() {
        let slot = Slot::default();
        assert!(slot.rotate(1, |_, _| {}).is_some());
        assert_eq!(
            slot.heap_bytes(),
            0,
            "no counts before the first observation"
        );
        slot.count::<Owner>(Bucket::Zero, 0.0);
        slot.count::<Owner>(Bucket::Infinity { sign: NEGATIVE }, f64::NEG_INFINITY);
        slot.count::<Owner>(Bucket::of(1.2).unwrap_or(Bucket::Zero), 1.2);
        let extremes = |slot: &Slot| {
            let mut extremes = Extremes::NONE;
            slot.counted_page_widening(POSITIVE, 48, &mut extremes);
            extremes
        };
        assert_eq!(extremes(&slot).clamp(1.0), 1.2);
        let mut totals = [0; PAGES];
        assert_eq!(
            slot.add_totals(POSITIVE, &mut totals),
            1 << (48 / GROUP_PAGES)
        );
        assert_eq!(counted_pages(&totals, 1 << (48 / GROUP_PAGES)), 1 << 48);
        assert_eq!(slot.specials(), (1, [0, 1]));
        assert!(slot.counted_page(POSITIVE, 48).is_some());
        let installed = slot.heap_bytes();
        assert!(
            slot.rotate(0, |_, _| {}).is_none(),
            "an older epoch is refused"
        );
        assert!(slot.rotate(2, |_, _| {}).is_some());
        // The group stays installed, its totals cleared.
        let mut totals = [0; PAGES];
        let groups = slot.add_totals(POSITIVE, &mut totals);
        assert_eq!(
            (groups, counted_pages(&totals, groups)),
            (1 << (48 / GROUP_PAGES), 0)
        );
        assert_eq!(slot.specials(), (0, [0, 0]));
        // Installed pages stay installed, empty, and a snapshot does not read them.
        assert_eq!(slot.heap_bytes(), installed);
        assert!(slot.counted_page(POSITIVE, 48).is_none());
        assert_eq!(extremes(&slot), Extremes::NONE);
    }
}
