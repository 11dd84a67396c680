//! The scrape handler's own counts: answers to `/metrics` by status, and scrapes in flight.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use crate::primitives::clock;

/// The statuses the scrape handler answers with; 503 comes from the stand-alone server's limits.
const STATUSES: [u16; 5] = [200, 405, 406, 500, 503];

/// How often an exporter answered each status, and how many scrapes it is serving now.
#[derive(Debug)]
pub(crate) struct ScrapeCounts {
    answered: [AtomicU64; 5],
    in_flight: AtomicI64,
    /// When counting began, in nanoseconds since the Unix epoch.
    created: u64,
}

/// The scrape counts as one render reads them.
pub(crate) struct ScrapeStats {
    /// `(status, count)` for every status answered so far.
    pub(crate) requests: Vec<(u16, u64)>,
    pub(crate) in_flight: i64,
    /// When counting began, in nanoseconds since the Unix epoch (`_created`).
    pub(crate) created: u64,
}

impl Default for ScrapeCounts {
    fn default() -> Self {
        ScrapeCounts {
            answered: Default::default(),
            in_flight: AtomicI64::new(0),
            created: clock::unix_nanos(),
        }
    }
}

impl ScrapeCounts {
    /// Counts a scrape that starts.
    pub(crate) fn start(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a scrape answered with `status`.
    pub(crate) fn finish(&self, status: u16) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        if let Some(slot) = STATUSES.iter().position(|known| *known == status) {
            self.answered[slot].fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn read(&self) -> ScrapeStats {
        ScrapeStats {
            requests: STATUSES
                .iter()
                .zip(&self.answered)
                .map(|(status, count)| (*status, count.load(Ordering::Relaxed)))
                .filter(|(_, count)| *count > 0)
                .collect(),
            in_flight: self.in_flight.load(Ordering::Relaxed),
            created: self.created,
        }
    }
}
