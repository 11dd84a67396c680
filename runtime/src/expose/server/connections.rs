//! The cap on open connections. A server that is full makes room for a new connection by closing
//! the one quiet longest, so that a flood of idle sockets cannot lock out a client that actually
//! sends a request.
//!
//! No connection is closed to make room within [`MIN_QUIET`] of its last progress: a client's
//! request has that long to arrive after its connection is accepted. This also paces a flood that
//! reconnects as fast as it is closed, to at most the cap every [`MIN_QUIET`]; the connections
//! waiting meanwhile stay in the kernel's backlog, where a real client's request arrives, so it is
//! served at once when its turn comes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::expose::server::activity::Activity;

/// How long a connection is safe from being closed to make room, after its last progress.
pub(crate) const MIN_QUIET: Duration = Duration::from_millis(50);

/// The open connections of one server.
#[derive(Debug)]
pub(crate) struct Connections {
    max: usize,
    table: Mutex<Table>,
    /// Signalled whenever a connection closes, or declines to close.
    changed: Notify,
}

#[derive(Debug, Default)]
struct Table {
    next_id: u64,
    /// Connections that may still be chosen for closing; an evicted one leaves at once.
    live: HashMap<u64, Arc<Activity>>,
    /// Connections whose task has not ended yet, evicted ones included: what holds descriptors.
    open: usize,
}

/// What [`Connections::admit`] decided.
#[derive(Debug)]
pub(crate) enum Admission {
    /// Serve the connection; the slot frees its place when dropped.
    Admitted(Slot),
    /// Full: the connection quiet longest was asked to close. Wait for
    /// [`Connections::changed`] and ask again.
    Evicting,
    /// Full, and every connection made progress within [`MIN_QUIET`]: ask again at `retry_at`,
    /// when the quietest may be closed (or on [`Connections::changed`]).
    NotYet {
        /// When the quietest connection will have been quiet long enough.
        retry_at: Instant,
    },
    /// Full, and every connection is closing already: wait for [`Connections::changed`].
    Closing,
}

/// What an attempt to close the quietest connection found.
enum Eviction {
    Asked,
    NotYet(Instant),
    NoneLeft,
}

/// A connection's place among the open ones.
#[derive(Debug)]
pub(crate) struct Slot {
    id: u64,
    connections: Arc<Connections>,
    activity: Arc<Activity>,
}

impl Connections {
    /// At most `max` connections.
    pub(crate) fn new(max: usize) -> Arc<Connections> {
        Arc::new(Connections {
            max: max.max(1),
            table: Mutex::new(Table::default()),
            changed: Notify::new(),
        })
    }

    fn table(&self) -> MutexGuard<'_, Table> {
        // The table stays consistent between statements; a panic elsewhere does not spoil it.
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes a place for a connection accepted at `now`, or makes room for one.
    pub(crate) fn admit(self: &Arc<Self>, now: Instant) -> Admission {
        let mut table = self.table();
        if table.open >= self.max {
            return match evict_quietest(&mut table, Some(now)) {
                Eviction::Asked => Admission::Evicting,
                Eviction::NotYet(retry_at) => Admission::NotYet { retry_at },
                Eviction::NoneLeft => Admission::Closing,
            };
        }
        let id = table.next_id;
        table.next_id += 1;
        table.open += 1;
        let activity = Arc::new(Activity::new());
        table.live.insert(id, activity.clone());
        Admission::Admitted(Slot {
            id,
            connections: self.clone(),
            activity,
        })
    }

    /// Asks the connection quiet longest to close, however recently it made progress, to free a
    /// descriptor (after an accept failed for want of one). Returns whether there was one to ask.
    pub(crate) fn evict_one(&self) -> bool {
        matches!(evict_quietest(&mut self.table(), None), Eviction::Asked)
    }

    /// Connections open now, those closing included.
    pub(crate) fn open(&self) -> usize {
        self.table().open
    }

    /// The most connections open at once.
    pub(crate) fn max(&self) -> usize {
        self.max
    }

    /// Completes at the next close of a connection, or when one asked to close declines. Create
    /// it (and `enable` it) before checking the condition it waits for, so a change in between is
    /// not missed.
    pub(crate) fn changed(&self) -> tokio::sync::futures::Notified<'_> {
        self.changed.notified()
    }
}

/// Asks the connection quiet longest to close and takes it off the list of candidates; at `now`,
/// only if it has been quiet for [`MIN_QUIET`] (always without a `now`).
fn evict_quietest(table: &mut Table, now: Option<Instant>) -> Eviction {
    let Some((&id, quietest)) = table
        .live
        .iter()
        .min_by_key(|(_, activity)| activity.eviction_key())
    else {
        return Eviction::NoneLeft;
    };
    if let Some(now) = now {
        let safe_until = quietest.last_progress() + MIN_QUIET;
        if safe_until > now {
            return Eviction::NotYet(safe_until);
        }
    }
    if let Some(activity) = table.live.remove(&id) {
        activity.evict();
    }
    Eviction::Asked
}

impl Slot {
    /// The activity of this slot's connection.
    pub(crate) fn activity(&self) -> &Arc<Activity> {
        &self.activity
    }

    /// Puts a connection that was asked to close, but made progress since, back among those that
    /// may be chosen, and lets the server choose another.
    pub(crate) fn reinstate(&self) {
        self.connections
            .table()
            .live
            .insert(self.id, self.activity.clone());
        self.connections.changed.notify_waiters();
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut table = self.connections.table();
        table.live.remove(&self.id);
        table.open = table.open.saturating_sub(1);
        drop(table);
        self.connections.changed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future as _;

    use super::*;

    fn admitted(connections: &Arc<Connections>) -> Slot {
        match connections.admit(Instant::now()) {
            Admission::Admitted(slot) => slot,
            other => unreachable!("expected room, got {other:?}"),
        }
    }

    /// A moment when every connection opened so far may be closed to make room.
    fn later() -> Instant {
        Instant::now() + MIN_QUIET
    }

    #[test]
    fn a_full_server_closes_the_idle_connection_quiet_longest() {
        let connections = Connections::new(3);
        let oldest = admitted(&connections);
        std::thread::sleep(Duration::from_millis(2));
        let busy = admitted(&connections);
        busy.activity().request_started();
        std::thread::sleep(Duration::from_millis(2));
        let newest = admitted(&connections);
        // Older than `newest` but busy: closed only when no idle connection is left.
        assert!(matches!(connections.admit(later()), Admission::Evicting));
        assert_eq!(
            connections.open(),
            3,
            "the evicted one holds its place until it closes"
        );
        assert!(asked_to_close(oldest.activity()));
        drop(oldest);
        assert_eq!(connections.open(), 2);
        let _fresh = admitted(&connections);
        assert!(matches!(connections.admit(later()), Admission::Evicting));
        assert!(asked_to_close(newest.activity()));
        assert!(!asked_to_close(busy.activity()));
    }

    #[test]
    fn connections_are_safe_for_a_moment_after_their_last_progress() {
        let connections = Connections::new(1);
        let only = admitted(&connections);
        match connections.admit(Instant::now()) {
            Admission::NotYet { retry_at } => {
                assert!(retry_at > Instant::now());
                assert!(retry_at <= Instant::now() + MIN_QUIET);
            }
            other => unreachable!("expected to wait, got {other:?}"),
        }
        assert!(!asked_to_close(only.activity()));
        // Out of descriptors, the server does not wait.
        assert!(connections.evict_one());
        assert!(asked_to_close(only.activity()));
    }

    #[test]
    fn busy_connections_go_when_nothing_is_idle_and_evicted_ones_are_not_chosen_twice() {
        let connections = Connections::new(1);
        let only = admitted(&connections);
        only.activity().request_started();
        assert!(matches!(connections.admit(later()), Admission::Evicting));
        assert!(matches!(connections.admit(later()), Admission::Closing));
        assert!(!connections.evict_one());
        drop(only);
        assert!(matches!(
            connections.admit(Instant::now()),
            Admission::Admitted(_)
        ));
    }

    #[test]
    fn a_reinstated_connection_can_be_chosen_again() {
        let connections = Connections::new(1);
        let only = admitted(&connections);
        assert!(connections.evict_one());
        assert!(!connections.evict_one());
        only.reinstate();
        assert!(connections.evict_one());
    }

    /// Whether the activity's eviction wake-up is waiting.
    fn asked_to_close(activity: &Activity) -> bool {
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let evicted = std::pin::pin!(activity.evicted());
        evicted.poll(&mut cx).is_ready()
    }
}
