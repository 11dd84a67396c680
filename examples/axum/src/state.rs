//! What every request of one server shares.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::FromRef;

use accountservice_core::body_budget::{BodyBudget, DEFAULT_BODY_BUDGET};
use accountservice_core::graphql::{self, AccountSchema};
use accountservice_core::store::Store;

/// The router's state (`State<AppState>`): the store, the GraphQL schema over it, the budget for request bodies
/// and the health flag. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct AppState {
    pub(crate) store: Arc<Store>,
    pub(crate) schema: AccountSchema,
    /// The memory all request bodies being read may hold together (503 with `Retry-After` beyond it).
    pub(crate) body_budget: BodyBudget,
    /// What `/health` reports; flipped by `/testability/healthy/{state}`. Relaxed ordering is enough: the flag
    /// guards no other data.
    healthy: Arc<AtomicBool>,
}

impl AppState {
    /// A healthy service over the seeded store, with the hyper example's default body budget (32 MiB), as the
    /// hyper example starts.
    pub fn seeded() -> AppState {
        let store = Arc::new(Store::seeded());
        AppState {
            schema: graphql::schema(store.clone()),
            store,
            body_budget: BodyBudget::new(DEFAULT_BODY_BUDGET),
            healthy: Arc::new(AtomicBool::new(true)),
        }
    }

    /// This state with a budget of `bytes` for the request bodies held at once.
    pub fn body_budget(mut self, bytes: usize) -> AppState {
        self.body_budget = BodyBudget::new(bytes);
        self
    }

    pub(crate) fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    pub(crate) fn set_healthy(&self, healthy: bool) {
        self.healthy.store(healthy, Ordering::Relaxed);
    }
}

/// What `JsonBody` charges the bodies it reads to.
impl FromRef<AppState> for BodyBudget {
    fn from_ref(state: &AppState) -> BodyBudget {
        state.body_budget.clone()
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("accounts", &self.store.len())
            .field("body_budget", &self.body_budget.total())
            .field("healthy", &self.is_healthy())
            .finish_non_exhaustive()
    }
}
