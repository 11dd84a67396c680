//! The cap on open connections. A server that is full makes room for a new connection by closing
//! the one quiet longest, so that a flood of idle sockets cannot lock out a client that actually
//! sends a request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use tokio::sync::Notify;

use crate::expose::server::activity::Activity;

/// The open connections of one server.
#[derive(Debug)]
pub(crate) struct Connections {
    max: usize,
    epoch: Instant,
    table: Mutex<Table>,
    /// Signalled whenever a connection closes.
    closed: Notify,
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
    /// Full: the connection quiet longest was asked to close (`true`), or none could be
    /// (`false`, every one is already closing). Wait for [`Connections::closed`] and ask again.
    Full { evicted: bool },
}

/// A connection's place among the open ones.
#[derive(Debug)]
pub(crate) struct Slot {
    id: u64,
    connections: Arc<Connections>,
    activity: Arc<Activity>,
}

impl Connections {
    /// At most `max` connections of a server started at `epoch`.
    pub(crate) fn new(max: usize, epoch: Instant) -> Arc<Connections> {
        Arc::new(Connections {
            max: max.max(1),
            epoch,
            table: Mutex::new(Table::default()),
            closed: Notify::new(),
        })
    }

    fn table(&self) -> MutexGuard<'_, Table> {
        // The table stays consistent between statements; a panic elsewhere does not spoil it.
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes a place for a connection just accepted, or makes room for one.
    pub(crate) fn admit(self: &Arc<Self>) -> Admission {
        let mut table = self.table();
        if table.open >= self.max {
            let evicted = evict_quietest(&mut table);
            return Admission::Full { evicted };
        }
        let id = table.next_id;
        table.next_id += 1;
        table.open += 1;
        let activity = Arc::new(Activity::new(self.epoch));
        table.live.insert(id, activity.clone());
        Admission::Admitted(Slot {
            id,
            connections: self.clone(),
            activity,
        })
    }

    /// Asks the connection quiet longest to close, to free a descriptor (after an accept failed
    /// for want of one). Returns whether there was one to ask.
    pub(crate) fn evict_one(&self) -> bool {
        evict_quietest(&mut self.table())
    }

    /// Connections open now, those closing included.
    pub(crate) fn open(&self) -> usize {
        self.table().open
    }

    /// The most connections open at once.
    pub(crate) fn max(&self) -> usize {
        self.max
    }

    /// Completes at the next close of a connection. Create it (and `enable` it) before checking
    /// the condition it waits for, so a close in between is not missed.
    pub(crate) fn closed(&self) -> tokio::sync::futures::Notified<'_> {
        self.closed.notified()
    }
}

/// Asks the connection quiet longest to close and takes it off the list of candidates.
fn evict_quietest(table: &mut Table) -> bool {
    let quietest = table
        .live
        .iter()
        .min_by_key(|(_, activity)| activity.eviction_key())
        .map(|(id, _)| *id);
    match quietest.and_then(|id| table.live.remove(&id)) {
        Some(activity) => {
            activity.evict();
            true
        }
        None => false,
    }
}

impl Slot {
    /// The activity of this slot's connection.
    pub(crate) fn activity(&self) -> &Arc<Activity> {
        &self.activity
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut table = self.connections.table();
        table.live.remove(&self.id);
        table.open = table.open.saturating_sub(1);
        drop(table);
        self.connections.closed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future as _;
    use std::time::Duration;

    use super::*;

    fn admitted(connections: &Arc<Connections>) -> Slot {
        match connections.admit() {
            Admission::Admitted(slot) => slot,
            Admission::Full { .. } => unreachable!("expected room"),
        }
    }

    #[test]
    fn a_full_server_closes_the_idle_connection_quiet_longest() {
        let connections = Connections::new(3, Instant::now());
        let oldest = admitted(&connections);
        std::thread::sleep(Duration::from_millis(2));
        let busy = admitted(&connections);
        busy.activity().request_started();
        std::thread::sleep(Duration::from_millis(2));
        let newest = admitted(&connections);
        // Older than `newest` but busy: closed only when no idle connection is left.
        assert!(matches!(
            connections.admit(),
            Admission::Full { evicted: true }
        ));
        assert_eq!(
            connections.open(),
            3,
            "the evicted one holds its place until it closes"
        );
        let evicted_oldest = asked_to_close(oldest.activity());
        assert!(evicted_oldest);
        drop(oldest);
        assert_eq!(connections.open(), 2);
        let _fresh = admitted(&connections);
        assert!(matches!(
            connections.admit(),
            Admission::Full { evicted: true }
        ));
        assert!(asked_to_close(newest.activity()));
        assert!(!asked_to_close(busy.activity()));
    }

    #[test]
    fn busy_connections_go_when_nothing_is_idle_and_evicted_ones_are_not_chosen_twice() {
        let connections = Connections::new(1, Instant::now());
        let only = admitted(&connections);
        only.activity().request_started();
        assert!(matches!(
            connections.admit(),
            Admission::Full { evicted: true }
        ));
        assert!(matches!(
            connections.admit(),
            Admission::Full { evicted: false }
        ));
        assert!(!connections.evict_one());
        drop(only);
        assert!(matches!(connections.admit(), Admission::Admitted(_)));
    }

    /// Whether the activity's eviction wake-up is waiting.
    fn asked_to_close(activity: &Activity) -> bool {
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let evicted = std::pin::pin!(activity.evicted());
        evicted.poll(&mut cx).is_ready()
    }
}
