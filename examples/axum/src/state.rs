//! What every request of one server shares.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use accountservice_core::graphql::{self, AccountSchema};
use accountservice_core::store::Store;

/// The router's state (`State<AppState>`): the store, the GraphQL schema over it, and the health flag. Cheap to
/// clone; clones share everything.
#[derive(Clone)]
pub struct AppState {
    pub(crate) store: Arc<Store>,
    pub(crate) schema: AccountSchema,
    /// What `/health` reports; flipped by `/testability/healthy/{state}`. Relaxed ordering is enough: the flag
    /// guards no other data.
    healthy: Arc<AtomicBool>,
}

impl AppState {
    /// A healthy service over the seeded store, as the hyper example starts.
    pub fn seeded() -> AppState {
        let store = Arc::new(Store::seeded());
        AppState {
            schema: graphql::schema(store.clone()),
            store,
            healthy: Arc::new(AtomicBool::new(true)),
        }
    }

    pub(crate) fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    pub(crate) fn set_healthy(&self, healthy: bool) {
        self.healthy.store(healthy, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("accounts", &self.store.len())
            .field("healthy", &self.is_healthy())
            .finish_non_exhaustive()
    }
}
