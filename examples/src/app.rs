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

/// The state behind every request of one server.
pub(crate) struct App {
    pub(crate) store: Arc<Store>,
    pub(crate) schema: AccountSchema,
    pub(crate) router: Router,
    pub(crate) exporter: Exporter,
    pub(crate) monitoring: Monitoring,
    pub(crate) body: BodyRules,
    /// What `/health` reports; flipped by `/testability/healthy/{state}`. Relaxed ordering is enough: the flag
    /// guards no other data.
    healthy: AtomicBool,
}

/// How requests are monitored: the `--instrumentation` switch, with what its mode needs at run time.
pub(crate) enum Monitoring {
    /// Through the `#[routemeter::instrumented]` handlers.
    Routemeter,
    /// Not at all: the bare handlers.
    Bare,
    /// The bare handlers behind the hand-written middleware, whose registry `/metrics` serves.
    Handwritten(Handwritten),
}

impl App {
    pub(crate) fn new(
        exporter: Exporter,
        options: &Options,
    ) -> Result<App, Box<dyn Error + Send + Sync>> {
        let store = Arc::new(Store::seeded());
        let monitoring = match options.instrumentation {
            Instrumentation::On => Monitoring::Routemeter,
            Instrumentation::Off => Monitoring::Bare,
            Instrumentation::Handwritten => Monitoring::Handwritten(Handwritten::new()?),
        };
        Ok(App {
            schema: graphql::schema(store.clone()),
            store,
            router: Router::new()?,
            exporter,
            monitoring,
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
