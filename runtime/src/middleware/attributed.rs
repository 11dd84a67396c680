//! The requests an instrumented handler never saw: on axum, an extractor that refuses a request
//! (a malformed JSON body, a missing header) answers before the handler runs. The layer measures
//! such a request under the handler of its route, found by axum's `MatchedPath`.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use http::{Extensions, Method, Uri};

use crate::middleware::route_table::{known_method, RouteTable};
use crate::record::handler::HANDLERS;
use crate::record::in_flight::InFlight;
use crate::record::metered::OwnRequests;

/// Every instrumented handler by its route, from the program's list of handlers.
#[derive(Debug)]
pub(crate) struct AttributedRoutes {
    table: RouteTable,
}

impl AttributedRoutes {
    /// The one table of the program, built at first use. A route that two handlers declare
    /// (in two namespaces) is left out: which of them a refused request belongs to is unknown.
    pub(crate) fn shared() -> Arc<AttributedRoutes> {
        static SHARED: OnceLock<Arc<AttributedRoutes>> = OnceLock::new();
        SHARED
            .get_or_init(|| {
                let mut declared: HashMap<(&str, &str), usize> = HashMap::new();
                for handler in HANDLERS {
                    let info = handler.info();
                    *declared.entry((info.method, info.path)).or_default() += 1;
                }
                let mut table = RouteTable::default();
                for handler in HANDLERS {
                    let info = handler.info();
                    if declared.get(&(info.method, info.path)) == Some(&1) {
                        table.insert(info.method, info.path, handler);
                    }
                }
                Arc::new(AttributedRoutes { table })
            })
            .clone()
    }
}

impl OwnRequests for AttributedRoutes {
    /// A request of a route an instrumented handler serves starts now; if that handler runs, it
    /// hands its own request over and this one is dropped uncounted.
    fn start(&self, method: &Method, _: &Uri, extensions: &Extensions) -> Option<InFlight> {
        let route = extensions.get::<axum::extract::MatchedPath>()?.as_str();
        let method = known_method(method)?;
        // axum answers `HEAD` with the `GET` handler.
        let handler = self.table.get(method, route).or_else(|| {
            (method == "HEAD")
                .then(|| self.table.get("GET", route))
                .flatten()
        })?;
        Some(InFlight::start(handler.metrics()))
    }
}
