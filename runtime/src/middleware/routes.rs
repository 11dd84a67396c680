//! The route layer's own requests: each request measured under its route, as a handler of its
//! own, where no instrumented handler answers it.

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use http::{Extensions, Method, Uri};

use crate::expose::exporter::Exporter;
use crate::middleware::route_name::derived;
use crate::middleware::route_table::{known_method, RouteTable};
use crate::record::handler::Handler;
use crate::record::handler_info::HandlerInfo;
use crate::record::in_flight::InFlight;
use crate::record::metered::OwnRequests;

/// Reads a request's route: the pattern it matched (`/accounts/{accountId}`), never the path
/// as sent, or `None` when it matched none.
pub(crate) type RouteFn = dyn Fn(&Method, &Uri, &Extensions) -> Option<String> + Send + Sync;

/// Distinct routes measured at most; requests of any further route count as unmatched, so that
/// a route function that returns raw paths cannot grow the series without bound.
pub(crate) const MAX_ROUTES: usize = 1024;

/// The name, method and route of the one handler every unmatched request counts under.
pub(crate) const UNMATCHED: (&str, &str, &str) = ("unmatched", "ANY", "(unmatched)");

/// The routes a route layer measures, and where a request's route comes from.
pub(crate) struct Routes {
    exporter: Exporter,
    /// The namespace and version the routes report under.
    reported_as: ReportedAs,
    excluded: Vec<String>,
    source: Option<Arc<RouteFn>>,
    /// The handler of each route seen so far.
    table: RwLock<RouteTable>,
    unmatched: &'static Handler,
}

impl fmt::Debug for Routes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Routes")
            .field("reported_as", &self.reported_as)
            .field("excluded", &self.excluded)
            .finish_non_exhaustive()
    }
}

/// The namespace the routes report under, and the version their `build_info` reports.
pub(crate) type ReportedAs = (&'static str, Option<&'static str>);

/// A handler for a route of the layer, kept for the life of the process like the attribute's
/// statics. The routes are bounded by [`MAX_ROUTES`].
fn leaked_handler(
    reported_as: ReportedAs,
    name: &str,
    method: &str,
    route: &str,
) -> &'static Handler {
    let (namespace, crate_version) = reported_as;
    let leak = |text: &str| -> &'static str { Box::leak(text.to_owned().into_boxed_str()) };
    Box::leak(Box::new(Handler::new(HandlerInfo {
        namespace: Some(namespace),
        module_path: "routemeter::route_layer",
        crate_version,
        // Where it comes from, for errors: a handler of line 0 is named by its file alone.
        file: leak(&format!("the route layer's `{method} {route}`")),
        ..HandlerInfo::plain(leak(name), leak(method), leak(route))
    })))
}

impl Routes {
    /// Routes measured into `exporter` under `namespace`. The unmatched handler and every named
    /// route are registered now, so their series exist at zero.
    pub(crate) fn new(
        exporter: Exporter,
        reported_as: ReportedAs,
        named: Vec<(&'static str, &'static str, String)>,
        excluded: Vec<String>,
        source: Option<Arc<RouteFn>>,
    ) -> Result<Routes, crate::Error> {
        let (name, method, route) = UNMATCHED;
        let unmatched = leaked_handler(reported_as, name, method, route);
        let mut table = RouteTable::default();
        let mut handlers = vec![unmatched];
        for (name, method, route) in &named {
            let handler = leaked_handler(reported_as, name, method, route);
            table.insert(method, route, handler);
            handlers.push(handler);
        }
        // All at once, so that a layer that cannot be built leaves nothing behind.
        exporter.register(&handlers)?;
        Ok(Routes {
            exporter,
            reported_as,
            excluded,
            source,
            table: RwLock::new(table),
            unmatched,
        })
    }

    /// The handler of `route` under `method`, registered on first sight.
    fn handler(&self, method: &'static str, route: &str) -> &'static Handler {
        let known = self
            .table
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(method, route);
        if let Some(handler) = known {
            return handler;
        }
        // A route that cannot be registered (too many, or its name taken) counts as unmatched.
        self.register(method, route).unwrap_or(self.unmatched)
    }

    /// Registers `route` under `method` with the exporter, once.
    fn register(
        &self,
        method: &'static str,
        route: &str,
    ) -> Result<&'static Handler, crate::Error> {
        let mut table = self.table.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(handler) = table.get(method, route) {
            return Ok(handler);
        }
        if table.len() >= MAX_ROUTES {
            return Err(crate::Error::InvalidConfig(format!(
                "the route layer measures at most {MAX_ROUTES} routes; `{method} {route}` is counted as unmatched"
            )));
        }
        // Named routes are in the table from the start: a route registered now has no name given.
        let handler = leaked_handler(self.reported_as, &derived(method, route), method, route);
        let outcome = self.exporter.register(&[handler]);
        // Remembered either way: a route whose name clashes is not tried again.
        let recorded = if outcome.is_ok() {
            handler
        } else {
            self.unmatched
        };
        table.insert(method, route, recorded);
        outcome.map(|()| handler)
    }

    /// Starts a request of `route` (`None`: unmatched), unless its path is excluded.
    fn start_route(&self, method: &Method, uri: &Uri, route: Option<&str>) -> Option<InFlight> {
        let excluded = |path: &str| self.excluded.iter().any(|excluded| excluded == path);
        if excluded(uri.path()) || route.is_some_and(excluded) {
            return None;
        }
        let handler = match (route, known_method(method)) {
            (Some(route), Some(method)) => self.handler(method, route),
            _ => self.unmatched,
        };
        Some(InFlight::start(handler.metrics()))
    }
}

impl OwnRequests for Routes {
    /// The route comes from the route function when there is one, else from axum's
    /// `MatchedPath` (feature `axum`).
    fn start(&self, method: &Method, uri: &Uri, extensions: &Extensions) -> Option<InFlight> {
        if let Some(source) = &self.source {
            let route = source(method, uri, extensions);
            return self.start_route(method, uri, route.as_deref());
        }
        #[cfg(feature = "axum")]
        if let Some(matched) = extensions.get::<axum::extract::MatchedPath>() {
            return self.start_route(method, uri, Some(matched.as_str()));
        }
        self.start_route(method, uri, None)
    }
}
