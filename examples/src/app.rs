//! What all connections of one server share.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use routemeter::Exporter;

use crate::body::BodyRules;
use crate::graphql::{self, AccountSchema};
use crate::options::{Instrumentation, Options};
use crate::router::Router;
use crate::store::Store;

/// The state behind every request of one server.
pub(crate) struct App {
    pub(crate) store: Arc<Store>,
    pub(crate) schema: AccountSchema,
    pub(crate) router: Router,
    pub(crate) exporter: Exporter,
    pub(crate) instrumentation: Instrumentation,
    pub(crate) body: BodyRules,
    /// What `/health` reports; flipped by `/testability/healthy/{state}`. Relaxed ordering is enough: the flag
    /// guards no other data.
    healthy: AtomicBool,
}

impl App {
    pub(crate) fn new(exporter: Exporter, options: &Options) -> Result<App, matchit::InsertError> {
        let store = Arc::new(Store::seeded());
        Ok(App {
            schema: graphql::schema(store.clone()),
            store,
            router: Router::new()?,
            exporter,
            instrumentation: options.instrumentation,
            body: BodyRules {
                limit: options.body_limit,
                read_timeout: options.body_read_timeout,
            },
            healthy: AtomicBool::new(true),
        })
    }

    pub(crate) fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    pub(crate) fn set_healthy(&self, healthy: bool) {
        self.healthy.store(healthy, Ordering::Relaxed);
    }
}
