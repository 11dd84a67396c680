//! The tutorial's route table as an axum `Router`, with routemeter's layer and `/metrics`.
//!
//! Where axum answers otherwise than the hyper example:
//! - a path that exists with another method is a 405 with the same message, but axum writes `Allow` itself, in its
//!   own form (`GET,HEAD`, `POST,PUT`);
//! - `HEAD` is served wherever `GET` is, as axum does (the hyper example answers it 405);
//! - `/metrics` answers any method, as a route service does;
//! - path parameters are percent-decoded before the handler sees them;
//! - a request body is read before the handler starts, so the handler's duration excludes the upload.

use accountservice_core::excerpt::{excerpt, ECHO_CHARS};
use axum::routing::{get, post};
use axum::Router;
use http::{Method, StatusCode, Uri};
use routemeter::{Exporter, MeteredLayer};

use crate::error::text;
use crate::export;
use crate::handlers;
use crate::state::AppState;

/// The service's router: every route of the tutorial over `state`, `/metrics` answered by `exporter`.
///
/// `MeteredLayer` wraps every route: the instrumented handlers are then counted by the status of the response axum
/// made of their output, and measured to the last byte of its body. Requests to other routes, and for paths or
/// methods that do not exist, are not measured, so they cannot create series.
///
/// The handlers read the serving address from the request's [`ServedBy`] extension, which [`serve`](crate::serve)
/// adds per connection; a server of another making must add it too (`axum::Extension(ServedBy(..))`), or the
/// routes that answer `servedBy` fail with axum's 500 for a missing extension.
///
/// [`ServedBy`]: accountservice_core::graphql::ServedBy
pub fn router(state: AppState, exporter: Exporter) -> Router {
    Router::new()
        .route(
            "/accounts",
            post(handlers::store_account).put(handlers::update_account),
        )
        .route("/accounts/export", get(export::export_accounts))
        .route("/accounts/{accountId}", get(handlers::get_account))
        .route("/graphql", post(handlers::graphql))
        .route("/health", get(handlers::health))
        .route("/testability/healthy/{state}", get(handlers::testability))
        .route_service("/metrics", exporter)
        .fallback(no_route)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(MeteredLayer::new())
}

/// A path no route has: 404, as the hyper example answers it.
async fn no_route(uri: Uri) -> (StatusCode, String) {
    let path = excerpt(uri.path(), ECHO_CHARS);
    (StatusCode::NOT_FOUND, text(format!("no route for {path}")))
}

/// A path that exists, with a method it is not served with: 405 (axum adds `Allow`).
async fn method_not_allowed(method: Method, uri: Uri) -> (StatusCode, String) {
    let method = excerpt(method.as_str(), ECHO_CHARS);
    let path = excerpt(uri.path(), ECHO_CHARS);
    let message = format!("{method} is not allowed on {path}");
    (StatusCode::METHOD_NOT_ALLOWED, text(message))
}
