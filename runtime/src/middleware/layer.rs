//! The tower `Layer`: a [`Metered`] around each service it wraps, measuring by route with a
//! route source.

use std::sync::Arc;

use http::{Extensions, Method, Uri};

use crate::expose::exporter::Exporter;
use crate::middleware::route_table::known_method;
use crate::middleware::routes::{RouteFn, Routes};
use crate::record::handler::is_valid_name;
use crate::record::metered::{Metered, OwnRequests};
use crate::Error;

/// A tower `Layer` that wraps services in [`Metered`] (feature `tower`).
///
/// [`MeteredLayer::new`] serves handlers written with `#[instrumented]`: they are measured to the
/// end of the response body, and on axum by the status of the response axum converted their
/// output into. [`MeteredLayer::by_route`] measures every request by its route instead, for
/// code without the attribute.
///
/// ```
/// # #[cfg(feature = "axum")] {
/// use axum::{routing::get, Router};
///
/// #[routemeter::instrumented(name = "Hello", route = "GET /hello")]
/// async fn hello() -> &'static str {
///     "hello"
/// }
///
/// let exporter = routemeter::install()?;
/// let app: Router = Router::new()
///     .route("/hello", get(hello))
///     .route_service("/metrics", exporter.clone())
///     .layer(routemeter::MeteredLayer::new());
/// # }
/// # Ok::<(), routemeter::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct MeteredLayer {
    own: Option<Arc<dyn OwnRequests>>,
}

impl MeteredLayer {
    /// A layer for handlers written with `#[instrumented]`; other requests are not measured.
    ///
    /// On axum (feature `axum`, with the layer added by `Router::layer`), a request an extractor
    /// refuses before the handler runs (a malformed JSON body: `400`, a wrong content type:
    /// `415`) is measured under the instrumented handler whose `route` is the one axum matched,
    /// with the status of the refusal.
    pub fn new() -> MeteredLayer {
        #[cfg(feature = "axum")]
        let own: Option<Arc<dyn OwnRequests>> =
            Some(crate::middleware::attributed::AttributedRoutes::shared());
        #[cfg(not(feature = "axum"))]
        let own = None;
        MeteredLayer { own }
    }

    /// A layer that measures every request by its route, into `exporter`: each route as a
    /// handler of its own, with the same families, labels and summaries as an `#[instrumented]`
    /// handler (a request an instrumented handler answers is measured as that handler).
    ///
    /// ```
    /// # #[cfg(feature = "axum")] {
    /// use axum::{routing::get, Router};
    ///
    /// let exporter = routemeter::install()?;
    /// let layer = routemeter::MeteredLayer::by_route(&exporter)
    ///     .namespace("shop")
    ///     .route("GetItem", "GET /items/{id}")
    ///     .exclude("/metrics")
    ///     .build()?;
    /// let app: Router = Router::new()
    ///     .route("/items/{id}", get(|| async { "an item" }))
    ///     .route_service("/metrics", exporter.clone())
    ///     .layer(layer);
    /// # }
    /// # Ok::<(), routemeter::Error>(())
    /// ```
    ///
    /// What it knows before the first request: the routes given to [`RouteLayer::route`], and
    /// the one handler unmatched requests count under: their series exist at zero from the first
    /// scrape. A router's other routes are learnt as requests reach them (axum does not list its
    /// routes), so their series appear with their first request.
    pub fn by_route(exporter: &Exporter) -> RouteLayer {
        RouteLayer {
            exporter: exporter.clone(),
            namespace: None,
            version: None,
            named: Vec::new(),
            excluded: Vec::new(),
            source: None,
        }
    }
}

impl Default for MeteredLayer {
    fn default() -> MeteredLayer {
        MeteredLayer::new()
    }
}

impl<S> tower_layer::Layer<S> for MeteredLayer {
    type Service = Metered<S>;

    fn layer(&self, inner: S) -> Metered<S> {
        Metered::with_own(inner, self.own.clone())
    }
}

/// Builds a [`MeteredLayer`] that measures requests by route; from [`MeteredLayer::by_route`].
///
/// The route of a request is, in this order: what the function given to
/// [`RouteLayer::route_fn`] returns; axum's `MatchedPath` (feature `axum`, with the layer added
/// by `Router::layer`). A request with no route, or with a method other than the nine of
/// RFC 9110 and PATCH, counts under one handler, `<namespace>_unmatched` (method `ANY`, route
/// `(unmatched)`): scanners and made-up methods add no series. At most 1024 routes are measured
/// apart; further ones count as unmatched.
///
/// A route without a name given by [`RouteLayer::route`] is named from its method and words:
/// `GET /accounts/{accountId}` reports as `<namespace>_get_accounts_accountId`.
#[derive(Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct RouteLayer {
    exporter: Exporter,
    namespace: Option<String>,
    version: Option<&'static str>,
    named: Vec<(String, String)>,
    excluded: Vec<String>,
    source: Option<Arc<RouteFn>>,
}

impl std::fmt::Debug for RouteLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteLayer")
            .field("namespace", &self.namespace)
            .field("named", &self.named)
            .field("excluded", &self.excluded)
            .finish_non_exhaustive()
    }
}

impl RouteLayer {
    /// The namespace the routes report under: by default the one `Config::namespace` set, else
    /// `http`.
    pub fn namespace(mut self, namespace: impl Into<String>) -> RouteLayer {
        self.namespace = Some(namespace.into());
        self
    }

    /// The version `<namespace>_build_info` reports for the routes, as the attribute reports its
    /// crate's: pass `env!("CARGO_PKG_VERSION")`. Without it, `unknown`.
    pub fn version(mut self, version: &'static str) -> RouteLayer {
        self.version = Some(version);
        self
    }

    /// Names a route, as `#[instrumented]` would: `name` is the metric name after the namespace
    /// and `route` is `"METHOD /path"` with parameters as the router writes them. Named routes
    /// exist at zero from the first scrape.
    pub fn route(mut self, name: impl Into<String>, route: impl Into<String>) -> RouteLayer {
        self.named.push((name.into(), route.into()));
        self
    }

    /// Leaves requests for `path` unmeasured, matched against both the route and the path as
    /// sent: `/metrics`, `/health`.
    pub fn exclude(mut self, path: impl Into<String>) -> RouteLayer {
        self.excluded.push(path.into());
        self
    }

    /// Reads each request's route with `route`, for routers other than axum's. It must return
    /// the pattern the request matched (`/items/{id}`), not the path as sent (`/items/42`), or
    /// `None` for a request that matched no route.
    pub fn route_fn<F>(mut self, route: F) -> RouteLayer
    where
        F: Fn(&Method, &Uri, &Extensions) -> Option<String> + Send + Sync + 'static,
    {
        self.source = Some(Arc::new(route));
        self
    }

    /// The layer, with its named routes and the unmatched handler registered in the exporter.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a name that is not `[A-Za-z_][A-Za-z0-9_]*` or a route that
    /// is not `"METHOD /path"`; [`Error::DuplicateHandler`] or [`Error::ReservedName`] when a
    /// route's name is taken.
    pub fn build(self) -> Result<MeteredLayer, Error> {
        let namespace = self
            .namespace
            .or_else(|| self.exporter.namespace().map(str::to_owned))
            .unwrap_or_else(|| "http".to_owned());
        if !is_valid_name(&namespace) {
            return Err(Error::InvalidConfig(format!(
                "route layer namespace `{namespace}`: use [A-Za-z_][A-Za-z0-9_]*"
            )));
        }
        let mut named = Vec::with_capacity(self.named.len());
        for (name, route) in self.named {
            let (method, path) = parse_route(&route)?;
            if !is_valid_name(&name) {
                return Err(Error::InvalidConfig(format!(
                    "route name `{name}` for `{route}`: use [A-Za-z_][A-Za-z0-9_]*"
                )));
            }
            let name: &'static str = Box::leak(name.into_boxed_str());
            named.push((name, method, path.to_owned()));
        }
        let namespace: &'static str = Box::leak(namespace.into_boxed_str());
        let routes = Routes::new(
            self.exporter,
            (namespace, self.version),
            named,
            self.excluded,
            self.source,
        )?;
        Ok(MeteredLayer {
            own: Some(Arc::new(routes)),
        })
    }
}

/// `"GET /items/{id}"` as its method and path.
fn parse_route(route: &str) -> Result<(&'static str, &str), Error> {
    let invalid = || {
        Error::InvalidConfig(format!(
            "route `{route}`: write an upper-case method and a path, as in \"GET /items/{{id}}\""
        ))
    };
    let (method, path) = route.split_once(' ').ok_or_else(invalid)?;
    let method = Method::from_bytes(method.as_bytes()).map_err(|_| invalid())?;
    let method = known_method(&method).ok_or_else(invalid)?;
    if !path.starts_with('/') || path.contains(char::is_whitespace) {
        return Err(invalid());
    }
    Ok((method, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_a_method_and_a_path() {
        assert!(matches!(
            parse_route("GET /items/{id}"),
            Ok(("GET", "/items/{id}"))
        ));
        for bad in ["GET", "get /x", "GET x", "BREW /pot", "GET /a b", ""] {
            assert!(parse_route(bad).is_err(), "{bad}");
        }
    }
}
