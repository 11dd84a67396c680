//! The ended epochs of a summary, folded together over its shards.
//!
//! Each shard keeps one slot: the epoch its thread records in. When the thread moves on to a new
//! epoch, it first adds what the slot holds to the slot of that epoch here, shared by every
//! shard and written with read-modify-writes, then clears its own. An observation stamped in an
//! epoch its shard has moved past (a thread without a shard of its own, late) lands here too.
//! A snapshot reads these slots and each shard's one: with 32 shards and 5 age buckets, 37
//! slots, where keeping every epoch in every shard would make 160.

use super::buckets::Bucket;
use super::divisor::Divisor;
use super::slot::Slot;
use crate::primitives::shard::Sharer;

/// One slot per age bucket, each holding the epoch it is tagged with, over every shard.
pub(crate) struct Folded {
    slots: Box<[Slot]>,
}

impl Folded {
    /// Empty slots for `age_buckets` epochs.
    pub(super) fn new(age_buckets: u64) -> Folded {
        Folded {
            slots: (0..age_buckets.max(1)).map(|_| Slot::default()).collect(),
        }
    }

    /// The slots, for a snapshot.
    pub(super) fn slots(&self) -> &[Slot] {
        &self.slots
    }

    /// The slot of `epoch`, cleared first if it holds an older one; `None` when it holds a newer
    /// one, so that `epoch` is out of every later window.
    fn slot(&self, epoch: u64, slot_count: Divisor) -> Option<&Slot> {
        let slot = self.slots.get(slot_count.rem(epoch) as usize)?;
        slot.claim(epoch + 1)
    }

    /// Adds `from`, a shard's slot that held `epoch` until its thread moved on to `now_epoch`,
    /// unless `epoch` has left the window by then.
    pub(super) fn fold(&self, epoch: u64, from: &Slot, now_epoch: u64, slot_count: Divisor) {
        if epoch + slot_count.divisor() <= now_epoch {
            return;
        }
        if let Some(slot) = self.slot(epoch, slot_count) {
            from.fold_into(slot);
        }
    }

    /// Counts an observation of `epoch` whose shard has moved past it.
    #[cold]
    pub(super) fn count_late(&self, epoch: u64, slot_count: Divisor, bucket: Bucket, value: f64) {
        if let Some(slot) = self.slot(epoch, slot_count) {
            slot.count::<Sharer>(bucket, value);
        }
    }

    /// Heap memory of the slots and what they hold.
    pub(crate) fn heap_bytes(&self) -> usize {
        std::mem::size_of_val::<[Slot]>(&self.slots)
            + self.slots.iter().map(Slot::heap_bytes).sum::<usize>()
    }
}
