//! The route table of the tutorial and its lookup.
//!
//! matchit finds the path; the method is checked afterwards, which is what tells a 404 (no such path) from a 405
//! (path exists, method does not; the answer names the allowed methods in `Allow`). Neither reaches an
//! instrumented handler, so requests for made-up paths cannot create metric series.

use http::header::HeaderValue;
use http::Method;

/// What a request is routed to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET /accounts/{accountId}`, monitored as `GetAccount`.
    GetAccount,
    /// `POST /accounts`, monitored as `StoreAccount`.
    StoreAccount,
    /// `PUT /accounts`, monitored as `UpdateAccount`.
    UpdateAccount,
    /// `GET /accounts/export`, monitored as `ExportAccounts`: every account, streamed as NDJSON.
    ExportAccounts,
    /// `POST /graphql`, monitored as `GraphQL`.
    GraphQl,
    /// `GET /health`, not monitored.
    HealthCheck,
    /// `GET /testability/healthy/{state}`, not monitored.
    Testability,
    /// `GET /metrics`, the Prometheus scrape, not monitored as a route.
    Metrics,
}

/// The tutorial's route table: method, path template, endpoint.
pub const ROUTES: [(Method, &str, Endpoint); 8] = [
    (Method::POST, "/accounts", Endpoint::StoreAccount),
    (Method::PUT, "/accounts", Endpoint::UpdateAccount),
    (Method::GET, "/accounts/{accountId}", Endpoint::GetAccount),
    (Method::GET, "/accounts/export", Endpoint::ExportAccounts),
    (Method::POST, "/graphql", Endpoint::GraphQl),
    (Method::GET, "/health", Endpoint::HealthCheck),
    (
        Method::GET,
        "/testability/healthy/{state}",
        Endpoint::Testability,
    ),
    (Method::GET, "/metrics", Endpoint::Metrics),
];

/// The methods served on one path.
#[derive(Debug)]
struct PathRoutes {
    methods: Vec<(Method, Endpoint)>,
    /// The `Allow` header of a 405 on this path, built once.
    allow: HeaderValue,
}

/// The outcome of routing one request.
#[derive(Debug, PartialEq, Eq)]
pub enum Routed<'p> {
    /// Serve it with `endpoint`; `param` is the path parameter of templates that have one.
    Found {
        /// The endpoint to call.
        endpoint: Endpoint,
        /// The value of the template's single parameter, e.g. the account id.
        param: Option<&'p str>,
    },
    /// No route has this path: 404.
    NotFound,
    /// The path exists but not with this method: 405 with this `Allow` header.
    MethodNotAllowed(HeaderValue),
}

/// Maps a method and a path to an [`Endpoint`].
#[derive(Debug)]
pub struct Router {
    paths: matchit::Router<PathRoutes>,
}

impl Router {
    /// The router of [`ROUTES`].
    ///
    /// Fails only if the table itself is malformed (a conflicting template), which the unit tests rule out.
    pub fn new() -> Result<Router, matchit::InsertError> {
        let mut grouped: Vec<(&str, Vec<(Method, Endpoint)>)> = Vec::new();
        for (method, path, endpoint) in ROUTES {
            match grouped.iter_mut().find(|(known, _)| *known == path) {
                Some((_, methods)) => methods.push((method, endpoint)),
                None => grouped.push((path, vec![(method, endpoint)])),
            }
        }
        let mut paths = matchit::Router::new();
        for (path, methods) in grouped {
            let allow = methods
                .iter()
                .map(|(method, _)| method.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            // Method names are ASCII tokens, always a valid header value; the fallback is never used.
            let allow = HeaderValue::from_str(&allow).unwrap_or(HeaderValue::from_static(""));
            paths.insert(path, PathRoutes { methods, allow })?;
        }
        Ok(Router { paths })
    }

    /// Routes a request for `path` with `method`.
    pub fn route<'p>(&'p self, method: &Method, path: &'p str) -> Routed<'p> {
        let Ok(found) = self.paths.at(path) else {
            return Routed::NotFound;
        };
        let routes = found.value;
        match routes.methods.iter().find(|(known, _)| known == method) {
            Some(&(_, endpoint)) => Routed::Found {
                endpoint,
                param: found.params.iter().next().map(|(_, value)| value),
            },
            None => Routed::MethodNotAllowed(routes.allow.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router() -> Router {
        match Router::new() {
            Ok(router) => router,
            Err(err) => unreachable!("the route table is valid: {err}"),
        }
    }

    #[test]
    fn finds_every_route() {
        let router = router();
        for (method, path, endpoint) in ROUTES {
            let concrete = path
                .replace("{accountId}", "10001")
                .replace("{state}", "true");
            assert!(
                matches!(router.route(&method, &concrete), Routed::Found { endpoint: e, .. } if e == endpoint),
                "{method} {path}"
            );
        }
        assert_eq!(
            router.route(&Method::GET, "/accounts/10001"),
            Routed::Found {
                endpoint: Endpoint::GetAccount,
                param: Some("10001")
            }
        );
    }

    #[test]
    fn tells_unknown_paths_from_wrong_methods() {
        let router = router();
        for path in [
            "/",
            "/account",
            "/accounts/",
            "/accounts/1/2",
            "/metrics/x",
            "/HEALTH",
        ] {
            assert_eq!(router.route(&Method::GET, path), Routed::NotFound, "{path}");
        }
        assert_eq!(
            router.route(&Method::GET, "/accounts"),
            Routed::MethodNotAllowed(HeaderValue::from_static("POST, PUT"))
        );
        assert_eq!(
            router.route(&Method::DELETE, "/accounts/10001"),
            Routed::MethodNotAllowed(HeaderValue::from_static("GET"))
        );
    }
}
