//! What all connections of one server share.

use std::error::Error;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use routemeter::Exporter;

use crate::body::BodyRules;
use crate::graphql::{self, AccountSchema};
use crate::handwritten::Handwritten;
use crate::options::{Instrumentation, Options};
use crate::router::Router;
use crate::store::Store;
use accountservice_core::body_budget::BodyBudget;

/// The state behind every request of one server.
pub(crate) struct App {
    pub(crate) store: Arc<Store>,
    pub(crate) schema: AccountSchema,
    pub(crate) router: Router,
    pub(crate) exporter: Exporter,
    pub(crate) instrumentation: Instrumentation,
    /// `Some` exactly when `instrumentation` is `Handwritten`: only that mode has the middleware and its registry.
    pub(crate) handwritten: Option<Handwritten>,
    pub(crate) body: BodyRules,
    /// What `/health` reports; flipped by `/testability/healthy/{state}`. Relaxed ordering is enough: the flag
    /// guards no other data.
    healthy: AtomicBool,
}

impl App {
    pub(crate) fn new(
        exporter: Exporter,
        options: &Options,
    ) -> Result<App, Box<dyn Error + Send + Sync>> {
        let store = Arc::new(Store::seeded());
        let handwritten = match options.instrumentation {
            Instrumentation::Handwritten => Some(Handwritten::new()?),
            Instrumentation::On | Instrumentation::Off => None,
        };
        Ok(App {
            schema: graphql::schema(store.clone()),
            store,
            router: Router::new()?,
            exporter,
            instrumentation: options.instrumentation,
            handwritten,
            body: BodyRules {
                limit: options.body_limit,
                read_timeout: options.body_read_timeout,
                budget: BodyBudget::new(options.body_budget),
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
