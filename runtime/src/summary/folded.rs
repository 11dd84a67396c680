//! The ended epochs of a summary, folded together over its shards.
//!
//! Each shard keeps one slot: the epoch its thread records in. When the thread moves on to a new
//! epoch, it first adds what the slot holds to the slot of that epoch here, shared by every
//! shard and written with read-modify-writes, then clears its own. An observation stamped in an
//! epoch its shard has moved past (late) lands here too, and so does every observation of a
//! thread without a shard of its own.
//! A snapshot reads these slots and each shard's one: with 32 shards and 5 age buckets, 37
//! slots, where keeping every epoch in every shard would make 160.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::buckets::Bucket;
use super::divisor::Divisor;
use super::slot::{pause, Slot, RESETTING};
use crate::primitives::shard::Sharer;

/// One slot per age bucket, each holding the epoch it is tagged with, over every shard.
///
/// A fold takes a while (hundreds of additions), and a thread may fold an epoch late, after
/// another has moved on several epochs: a claim of a folded slot for a later epoch therefore
/// waits for the writes in progress into it, so that no addition meant for the epoch it held
/// lands in the next.
pub(crate) struct Folded {
    slots: Box<[Slot]>,
    /// Writes in progress into each slot.
    writers: Box<[AtomicUsize]>,
}

impl Folded {
    /// Empty slots for `age_buckets` epochs.
    pub(super) fn new(age_buckets: u64) -> Folded {
        let age_buckets = age_buckets.max(1);
        Folded {
            slots: (0..age_buckets).map(|_| Slot::default()).collect(),
            writers: (0..age_buckets).map(|_| AtomicUsize::new(0)).collect(),
        }
    }

    /// The slots, for a snapshot.
    pub(super) fn slots(&self) -> &[Slot] {
        &self.slots
    }

    /// Runs `write` on the slot of `epoch`, claimed first if it holds an older one; does nothing
    /// when it holds a newer one, so that `epoch` is out of every later window.
    fn write(&self, epoch: u64, slot_count: Divisor, write: impl FnOnce(&Slot)) {
        let index = slot_count.rem(epoch) as usize;
        let (Some(slot), Some(writers)) = (self.slots.get(index), self.writers.get(index)) else {
            return;
        };
        let tag = epoch + 1;
        loop {
            // Announced before the tag is read; a claim reads the announcements after it marks
            // the tag, so one of the two sees the other.
            writers.fetch_add(1, Ordering::SeqCst);
            let current = slot.tag.load(Ordering::SeqCst);
            if current == tag {
                write(slot);
                writers.fetch_sub(1, Ordering::Release);
                return;
            }
            writers.fetch_sub(1, Ordering::Release);
            if current & !RESETTING > tag {
                return;
            }
            if current & RESETTING == 0 {
                // Older: claimed once the writes into it are done, then written on the next
                // turn (or left alone, if another thread claimed it for a newer epoch).
                slot.rotate(tag, |_, _| wait_for(writers));
            } else {
                std::thread::yield_now();
            }
        }
    }

    /// Adds `from`, a shard's slot that held `epoch` until its thread moved on to `now_epoch`,
    /// unless `epoch` has left the window by then.
    pub(super) fn fold(&self, epoch: u64, from: &Slot, now_epoch: u64, slot_count: Divisor) {
        if epoch + slot_count.divisor() <= now_epoch {
            return;
        }
        self.write(epoch, slot_count, |slot| from.fold_into(slot));
    }

    /// Counts an observation of `epoch`: one whose shard has moved past it, or one from a thread
    /// that shares its shard.
    pub(super) fn count(&self, epoch: u64, slot_count: Divisor, bucket: Bucket, value: f64) {
        self.write(epoch, slot_count, |slot| {
            slot.count::<Sharer>(bucket, value);
        });
    }

    /// Heap memory of the slots and what they hold.
    pub(crate) fn heap_bytes(&self) -> usize {
        std::mem::size_of_val::<[Slot]>(&self.slots)
            + std::mem::size_of_val::<[AtomicUsize]>(&self.writers)
            + self.slots.iter().map(Slot::heap_bytes).sum::<usize>()
    }
}

/// Waits until no write into a slot is in progress.
fn wait_for(writers: &AtomicUsize) {
    let mut spins = 0u32;
    while writers.load(Ordering::SeqCst) != 0 {
        pause(&mut spins);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::primitives::shard::Owner;
    use crate::summary::buckets::{PAGES, POSITIVE};

    /// What a slot holds in its window, if it holds `epoch`.
    fn held(slot: &Slot, epoch: u64) -> Option<u64> {
        (slot.tag.load(Ordering::SeqCst) == epoch + 1).then(|| {
            let mut totals = [0; PAGES];
            slot.add_totals(POSITIVE, &mut totals);
            totals.iter().sum()
        })
    }

    #[test]
    fn a_late_fold_never_lands_in_the_next_epoch_of_its_slot() {
        let slot_count = Divisor::new(5);
        let values: Vec<f64> = (1..=4000).map(|i| f64::from(i) * 1e-4).collect();
        for _ in 0..300 {
            let folded = Folded::new(5);
            // A shard's slot that held epoch 0, folded late: its thread moved on to epoch 1
            // while another had reached epoch 5, whose folded slot is the same.
            let from = Slot::default();
            from.rotate(1, |_, _| {});
            for value in &values {
                if let Some(bucket) = Bucket::of(*value) {
                    from.count::<Owner>(bucket, *value);
                }
            }
            std::thread::scope(|scope| {
                scope.spawn(|| folded.fold(0, &from, 1, slot_count));
                scope.spawn(|| folded.count(5, slot_count, Bucket::Zero, 0.0));
            });
            let slot = &folded.slots()[0];
            // Epoch 5 holds its own observation only (counted apart from the pages), whichever
            // came first; epoch 0 holds the whole fold if it came last.
            if let Some(total) = held(slot, 5) {
                assert_eq!(total, 0, "a fold of epoch 0 landed in epoch 5");
                assert_eq!(slot.specials().0, 1);
            } else {
                assert_eq!(held(slot, 0), Some(values.len() as u64));
            }
        }
    }
}
