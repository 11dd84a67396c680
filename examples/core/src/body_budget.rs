//! The budget for request bodies held in memory at once, across all connections.
//!
//! The body limit bounds one request; this bounds them all together, so that many clients holding bodies just under
//! the limit cannot grow the service's memory by more than the budget. A body is charged for the memory it takes as
//! it arrives; when the budget is spent the request is refused with 503 and `Retry-After` rather than buffered.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// The default budget: 32 MiB, room for 32 bodies at the default 1 MiB limit, and for thousands of honest ones.
pub const DEFAULT_BODY_BUDGET: usize = 32 << 20;

/// Bytes of request bodies that may be held at once. Cheap to clone; clones share the budget.
#[derive(Clone, Debug)]
pub struct BodyBudget {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    total: usize,
    free: AtomicUsize,
}

/// A share of the budget held by one body while it is read; given back when dropped.
#[derive(Debug)]
pub struct Share {
    shared: Arc<Shared>,
    bytes: usize,
}

impl BodyBudget {
    /// A budget of `total` bytes.
    pub fn new(total: usize) -> BodyBudget {
        BodyBudget {
            shared: Arc::new(Shared {
                total,
                free: AtomicUsize::new(total),
            }),
        }
    }

    /// The whole budget, in bytes.
    pub fn total(&self) -> usize {
        self.shared.total
    }

    /// An empty share, to grow as a body arrives.
    pub fn share(&self) -> Share {
        Share {
            shared: self.shared.clone(),
            bytes: 0,
        }
    }
}

impl Share {
    /// Grows this share to `bytes` in all; `false`, and no change, when the budget has not that much left.
    pub fn grow_to(&mut self, bytes: usize) -> bool {
        let Some(more) = bytes.checked_sub(self.bytes) else {
            return true;
        };
        let taken = self
            .shared
            .free
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |free| {
                free.checked_sub(more)
            });
        if taken.is_ok() {
            self.bytes = bytes;
        }
        taken.is_ok()
    }
}

impl Drop for Share {
    fn drop(&mut self) {
        self.shared.free.fetch_add(self.bytes, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_never_exceed_the_budget_and_come_back_when_dropped() {
        let budget = BodyBudget::new(100);
        let mut first = budget.share();
        assert!(first.grow_to(60));
        let mut second = budget.share();
        assert!(!second.grow_to(41));
        assert!(second.grow_to(40));
        assert!(!first.grow_to(61));
        assert!(
            first.grow_to(50),
            "a share never shrinks, so asking for less succeeds"
        );
        drop(first);
        let mut third = budget.share();
        assert!(third.grow_to(60));
        drop(second);
        drop(third);
        assert!(budget.share().grow_to(100));
    }
}
