//! What a connection is doing: how many of its requests are running, and when it last made
//! progress. The idle timeouts and the choice of which connection to close when the server is
//! full both read it.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::primitives::clock;

/// One connection's activity, shared by its task, its service and its response bodies.
///
/// Its times are readings of the process clock ([`clock::nanos_now`]), which a request takes
/// about three of (at its start, its end and each frame of its body), and which costs a third
/// of `Instant::now` where it reads the processor's counter.
#[derive(Debug)]
pub(crate) struct Activity {
    /// Requests whose handler is running.
    in_flight: AtomicUsize,
    /// Whether a request reached the service, ever: set once, then only read (a counter would
    /// take a locked instruction a request).
    served: AtomicBool,
    /// When the connection last made progress (accepted, a request started or ended, a
    /// response frame went out), by the process clock.
    last_progress: AtomicU64,
    /// When the server last asked to close the connection, by the process clock (0: never).
    evicted_at: AtomicU64,
    /// Wakes the connection's task when the server closes it to make room.
    evict: Notify,
}

/// The timeouts that apply to a connection with no request running.
#[derive(Clone, Copy, Debug)]
pub(crate) struct QuietLimits {
    /// Before the first request.
    pub(crate) first_request: Duration,
    /// After a request.
    pub(crate) idle: Duration,
}

impl Activity {
    /// A connection accepted now.
    pub(crate) fn new() -> Activity {
        let activity = Activity {
            in_flight: AtomicUsize::new(0),
            served: AtomicBool::new(false),
            last_progress: AtomicU64::new(0),
            evicted_at: AtomicU64::new(0),
            evict: Notify::new(),
        };
        activity.progress();
        activity
    }

    /// Notes progress now.
    pub(crate) fn progress(&self) {
        self.last_progress.fetch_max(now(), Ordering::Relaxed);
    }

    /// Counts a request whose handler starts.
    pub(crate) fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        if !self.served.load(Ordering::Relaxed) {
            self.served.store(true, Ordering::Relaxed);
        }
        self.progress();
    }

    /// Counts a request whose handler ended (answered, or dropped).
    pub(crate) fn request_ended(&self) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.progress();
    }

    /// How to rank this connection for closing: idle ones before busy ones, and within each the
    /// one that made progress longest ago first. The least key goes first.
    pub(crate) fn eviction_key(&self) -> (bool, u64) {
        (
            self.in_flight.load(Ordering::Relaxed) > 0,
            self.last_progress.load(Ordering::Relaxed),
        )
    }

    /// When the connection last made progress.
    pub(crate) fn last_progress(&self) -> Instant {
        clock::instant_at(self.last_progress.load(Ordering::Relaxed))
    }

    /// When the connection, if it stays as it is, has been quiet too long: `None` while a
    /// request runs (its handler's own timeouts bound it).
    pub(crate) fn quiet_deadline(&self, limits: QuietLimits) -> Option<Instant> {
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            return None;
        }
        let timeout = if !self.served.load(Ordering::Relaxed) {
            limits.first_request
        } else {
            limits.idle
        };
        Some(self.last_progress() + timeout)
    }

    /// Asks the connection's task to close the connection.
    pub(crate) fn evict(&self) {
        self.evicted_at.store(now(), Ordering::Relaxed);
        // `notify_one` keeps the wake-up if the task is not waiting at this moment.
        self.evict.notify_one();
    }

    /// Whether the connection made progress after it was asked to close: its request arrived after all (it
    /// was sent, but not yet read, when the server chose this connection), so it should stay.
    pub(crate) fn progressed_since_eviction(&self) -> bool {
        self.last_progress.load(Ordering::Relaxed) > self.evicted_at.load(Ordering::Relaxed)
    }

    /// Completes when the server asked to close this connection.
    pub(crate) async fn evicted(&self) {
        self.evict.notified().await;
    }
}

/// The process clock, at least 1 (0 means "never" above).
fn now() -> u64 {
    clock::nanos_now().max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: QuietLimits = QuietLimits {
        first_request: Duration::from_secs(10),
        idle: Duration::from_secs(60),
    };

    #[test]
    fn a_new_connection_gets_the_first_request_timeout_then_the_idle_one() {
        let epoch = Instant::now();
        let activity = Activity::new();
        let first = activity.quiet_deadline(LIMITS);
        assert!(first.is_some_and(|at| at <= Instant::now() + LIMITS.first_request));
        activity.request_started();
        assert_eq!(activity.quiet_deadline(LIMITS), None);
        activity.request_ended();
        let idle = activity.quiet_deadline(LIMITS);
        assert!(idle.is_some_and(|at| at > epoch + LIMITS.first_request));
    }

    #[test]
    fn idle_connections_rank_before_busy_ones() {
        let older_idle = Activity::new();
        std::thread::sleep(Duration::from_millis(2));
        older_idle.evict();
        assert!(!older_idle.progressed_since_eviction());
        std::thread::sleep(Duration::from_millis(2));
        let started_later = Activity::new();
        started_later.evict();
        std::thread::sleep(Duration::from_millis(2));
        started_later.request_started();
        assert!(started_later.progressed_since_eviction());
        std::thread::sleep(Duration::from_millis(2));
        let busy = Activity::new();
        busy.request_started();
        std::thread::sleep(Duration::from_millis(2));
        let idle = Activity::new();
        assert!(idle.eviction_key() < busy.eviction_key());
        assert!(older_idle.eviction_key() < idle.eviction_key());
    }
}
