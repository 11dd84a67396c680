//! From a routed request to its handler, monitored or bare.

use http::header::ALLOW;
use http::{Request, Response, StatusCode};
use http_body_util::Either;
use hyper::body::Incoming;

use crate::app::App;
use crate::handlers;
use crate::instrumented;
use crate::options::Instrumentation;
use crate::reply::{self, Body};
use crate::router::{Endpoint, Routed};

/// Answers one request.
///
/// The instrumentation switch is one branch per request on a value fixed at start-up, so the "off" mode costs
/// nothing that the "on" mode does not also pay.
pub(crate) async fn handle(app: &App, served_by: &str, req: Request<Incoming>) -> Response<Body> {
    // The path is copied because routing borrows it while the request itself moves into a handler.
    let path = req.uri().path().to_owned();
    let (endpoint, param) = match app.router.route(req.method(), &path) {
        Routed::Found { endpoint, param } => (endpoint, param.unwrap_or_default()),
        Routed::NotFound => {
            let path = reply::excerpt(&path, reply::ECHO_CHARS);
            return reply::text(StatusCode::NOT_FOUND, format!("no route for {path}"));
        }
        Routed::MethodNotAllowed(allow) => {
            let method = reply::excerpt(req.method().as_str(), reply::ECHO_CHARS);
            let path = reply::excerpt(&path, reply::ECHO_CHARS);
            let message = format!("{method} is not allowed on {path}");
            let response = reply::text(StatusCode::METHOD_NOT_ALLOWED, message);
            return reply::with_header(response, ALLOW, allow);
        }
    };
    match (&app.handwritten, endpoint) {
        // The hand-written middleware serves its own registry, not routemeter's.
        (Some(handwritten), Endpoint::Metrics) => handwritten.respond(),
        (Some(handwritten), _) => {
            let handler = call(app, served_by, endpoint, param, req, false);
            handwritten.observe(endpoint, handler).await
        }
        (None, _) => {
            let monitored = app.instrumentation == Instrumentation::On;
            call(app, served_by, endpoint, param, req, monitored).await
        }
    }
}

/// Calls `endpoint`'s handler: its `#[routemeter::instrumented]` one when `monitored`, else the bare logic.
async fn call(
    app: &App,
    served_by: &str,
    endpoint: Endpoint,
    param: &str,
    req: Request<Incoming>,
    monitored: bool,
) -> Response<Body> {
    match endpoint {
        Endpoint::GetAccount if monitored => instrumented::get_account(app, served_by, param).await,
        Endpoint::GetAccount => handlers::get_account(app, served_by, param).await,
        Endpoint::StoreAccount if monitored => instrumented::store_account(app, req).await,
        Endpoint::StoreAccount => handlers::store_account(app, req).await,
        Endpoint::UpdateAccount if monitored => {
            instrumented::update_account(app, served_by, req).await
        }
        Endpoint::UpdateAccount => handlers::update_account(app, served_by, req).await,
        Endpoint::ExportAccounts if monitored => {
            instrumented::export_accounts(app, served_by, req.uri().query()).await
        }
        Endpoint::ExportAccounts => handlers::export_accounts(app, served_by, req.uri().query()),
        Endpoint::GraphQl if monitored => instrumented::graphql(app, served_by, req).await,
        Endpoint::GraphQl => handlers::graphql(app, served_by, req).await,
        Endpoint::HealthCheck => handlers::health(app),
        Endpoint::Testability => handlers::testability(app, param),
        Endpoint::Metrics => app.exporter.respond(&req).map(Either::Left),
    }
}
