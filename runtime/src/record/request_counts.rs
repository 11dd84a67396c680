//! The requests of one handler: how many started, and how many ended with each outcome code.
//!
//! Every request is counted twice, once when it starts and once, under its code, when it ends,
//! so the number in flight is what started minus what ended: no counter goes down, and each
//! count is kept per thread shard ([`crate::primitives::shard`]), written without locked instructions. A
//! shard keeps the few codes a handler answers with in a small table; the rare shard that sees
//! more than [`ENTRIES`] distinct codes counts the others in a table of every code, shared by all
//! threads.

use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};

use crate::primitives::lazy_box::LazyBox;
use crate::primitives::shard::Writer;
use crate::record::outcome::Code;

/// Distinct codes a shard counts in its own table: enough for what a handler usually answers
/// (a success, a client error or two, a server error, a cancellation), and few enough that a
/// handler's part of a shard, both summaries' cores included, is two cache lines.
const ENTRIES: usize = 5;

/// What a handler's request counts share across its shards: one counter per code, for the codes
/// that a shard's table has no room for. Reads add every shard's [`Tally`] to it.
#[derive(Default)]
pub(crate) struct RequestCounts {
    overflow: LazyBox<[AtomicU64; Code::SLOTS]>,
}

/// One shard's counts: the start count, the code table and the codes' counts, on one cache line
/// when the tally starts one.
#[derive(Default)]
#[repr(C)]
pub(crate) struct Tally {
    started: AtomicU64,
    /// Requests ended with each code; written with release ordering, so that a reader that sees
    /// a request end also sees it start.
    counts: [AtomicU64; ENTRIES],
    /// `slot + 1` of the code counted in `counts[i]`, or 0 while the entry is unused.
    codes: [AtomicU16; ENTRIES],
}

impl std::fmt::Debug for RequestCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestCounts").finish_non_exhaustive()
    }
}

impl RequestCounts {
    /// Counts a request that ended with `code`, in `tally`, the part of a shard written as `W`.
    #[inline]
    pub(crate) fn finish<W: Writer>(&self, tally: &Tally, code: Code) {
        if !tally.count::<W>(code) {
            self.count_overflow(code);
        }
    }

    #[cold]
    fn count_overflow(&self, code: Code) {
        let overflow = self
            .overflow
            .get_or_init(|| [const { AtomicU64::new(0) }; Code::SLOTS]);
        if let Some(count) = overflow.get(code.slot()) {
            count.fetch_add(1, Ordering::Release);
        }
    }

    /// Fills `into` with every code counted so far in `tallies` and here, and its count, in the
    /// order Prometheus clients sort the `code` label: three-digit statuses ascending, then
    /// `cancelled`, `error`, `panic`.
    pub(crate) fn collect<'a>(
        &self,
        tallies: impl Iterator<Item = &'a Tally>,
        into: &mut Vec<(Code, u64)>,
    ) {
        into.clear();
        for tally in tallies {
            for (code, count) in tally.codes.iter().zip(&tally.counts) {
                // Entries may be seen taken out of order: look at each.
                if let Some(slot) = code.load(Ordering::Acquire).checked_sub(1) {
                    let code = Code::from_slot(slot as usize);
                    into.push((code, count.load(Ordering::Acquire)));
                }
            }
        }
        if let Some(overflow) = self.overflow.get() {
            for (slot, count) in overflow.iter().enumerate() {
                let count = count.load(Ordering::Acquire);
                if count > 0 {
                    into.push((Code::from_slot(slot), count));
                }
            }
        }
        into.sort_unstable_by_key(|(code, _)| code.slot());
        into.dedup_by(|(code, count), (kept_code, kept)| {
            let same = code == kept_code;
            if same {
                *kept = kept.wrapping_add(*count);
            }
            same
        });
    }

    /// Requests started and not yet ended, in the tallies that `tallies()` lists and here.
    pub(crate) fn in_flight<'a, I>(&self, tallies: impl Fn() -> I) -> i64
    where
        I: Iterator<Item = &'a Tally>,
    {
        // Ends first, with acquire ordering: every start of a request seen ending is then seen
        // too, so the difference is never negative. The tallies are listed again for the starts:
        // a request seen ending may have started in a tally installed since the first listing.
        let mut ended = 0u64;
        for tally in tallies() {
            for count in &tally.counts {
                ended = ended.wrapping_add(count.load(Ordering::Acquire));
            }
        }
        for count in self.overflow.get().into_iter().flatten() {
            ended = ended.wrapping_add(count.load(Ordering::Acquire));
        }
        let started = tallies().fold(0u64, |started, tally| {
            started.wrapping_add(tally.started.load(Ordering::Relaxed))
        });
        i64::try_from(started.saturating_sub(ended)).unwrap_or(i64::MAX)
    }

    /// Heap memory of the shared table, once a code needed it.
    #[cfg(any(test, feature = "bench"))]
    pub(crate) fn heap_bytes(&self) -> usize {
        self.overflow
            .get()
            .map_or(0, std::mem::size_of_val::<[AtomicU64; Code::SLOTS]>)
    }
}

impl Tally {
    /// Counts a request that starts.
    #[inline]
    pub(crate) fn start<W: Writer>(&self) {
        W::add(&self.started, 1);
    }

    /// Takes back a start: the request is recorded by another handler. Counts are summed with
    /// wrapping, so subtracting here is right even when the start was counted in another shard.
    pub(crate) fn unstart<W: Writer>(&self) {
        W::add(&self.started, u64::MAX);
    }

    /// Counts `code` in this shard's table; `false` when the table has no room for it.
    #[inline]
    fn count<W: Writer>(&self, code: Code) -> bool {
        let Ok(key) = u16::try_from(code.slot() + 1) else {
            return false; // cannot happen: there are fewer codes
        };
        for (entry, count) in self.codes.iter().zip(&self.counts) {
            let held = match entry.load(Ordering::Relaxed) {
                0 => W::take(entry, key),
                held => held,
            };
            if held == key {
                W::add_release(count, 1);
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::primitives::shard::{self, Owner, Shard, Shards, Sharer};

    /// Request counts with their shards, as a handler keeps them.
    #[derive(Default)]
    struct Counts {
        shards: Shards<Tally>,
        shared: RequestCounts,
    }

    impl Counts {
        fn start(&self, shard: Shard) {
            let tally = self.shards.get_or_init(shard, Tally::default);
            if shard.is_owned() {
                tally.start::<Owner>();
            } else {
                tally.start::<Sharer>();
            }
        }

        fn finish(&self, shard: Shard, code: Code) {
            let tally = self.shards.get_or_init(shard, Tally::default);
            if shard.is_owned() {
                self.shared.finish::<Owner>(tally, code);
            } else {
                self.shared.finish::<Sharer>(tally, code);
            }
        }

        fn in_flight(&self) -> i64 {
            self.shared.in_flight(|| self.shards.iter())
        }
    }

    fn labels(counts: &Counts) -> Vec<(String, u64)> {
        let mut collected = Vec::new();
        counts.shared.collect(counts.shards.iter(), &mut collected);
        collected
            .into_iter()
            .map(|(code, count)| (code.label().to_string(), count))
            .collect()
    }

    #[test]
    fn codes_come_out_in_label_order() {
        let counts = Counts::default();
        let shard = shard::current();
        for code in [
            Code::Panic,
            Code::Status(503),
            Code::Error,
            Code::Status(200),
            Code::Status(200),
            Code::Cancelled,
            Code::Status(999),
            Code::Status(100),
        ] {
            counts.start(shard);
            counts.finish(shard, code);
        }
        let expected = [
            ("100", 1),
            ("200", 2),
            ("503", 1),
            ("999", 1),
            ("cancelled", 1),
            ("error", 1),
            ("panic", 1),
        ];
        let expected: Vec<_> = expected.iter().map(|(c, n)| (c.to_string(), *n)).collect();
        assert_eq!(labels(&counts), expected);
        assert_eq!(counts.in_flight(), 0);
    }

    #[test]
    fn codes_beyond_a_shards_table_are_counted_too() {
        let counts = Counts::default();
        for status in 200..230 {
            counts.finish(Shard::SHARED, Code::Status(status));
            counts.finish(shard::current(), Code::Status(status));
        }
        let collected = labels(&counts);
        assert_eq!(collected.len(), 30);
        assert!(collected.iter().all(|(_, count)| *count == 2));
        assert_eq!(collected[0].0, "200");
        assert_eq!(collected[29].0, "229");
    }

    #[test]
    fn in_flight_is_started_minus_ended_across_threads() {
        let counts = Counts::default();
        // Requests start on one thread and end on another, as futures move between workers.
        std::thread::scope(|scope| {
            for _ in 0..3 {
                scope.spawn(|| {
                    for _ in 0..1_000 {
                        counts.start(shard::current());
                    }
                });
            }
        });
        assert_eq!(counts.in_flight(), 3_000);
        std::thread::scope(|scope| {
            for thread in 0..3 {
                let counts = &counts;
                scope.spawn(move || {
                    let shard = if thread == 0 {
                        Shard::SHARED
                    } else {
                        shard::current()
                    };
                    for _ in 0..1_000 {
                        counts.finish(shard, Code::Status(200));
                    }
                });
            }
        });
        assert_eq!(counts.in_flight(), 0);
        assert_eq!(labels(&counts), vec![("200".to_string(), 3_000)]);
    }
}
