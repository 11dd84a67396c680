//! Serving the router on routemeter's bounded server, as the hyper example is served.

use std::future::Future;
use std::io;
use std::sync::Arc;

use accountservice_core::graphql::ServedBy;
use axum::Extension;
use hyper_util::service::TowerToHyperService;
use routemeter::{Exporter, ServeOptions};
use tokio::net::{TcpListener, TcpStream};
use tower_layer::Layer;

use crate::router::router;
use crate::state::AppState;

/// Serves the accountservice on `listener` until `shutdown` completes, then lets requests in progress finish (up
/// to the shutdown timeout of `options`) and returns.
///
/// `exporter` answers `GET /metrics`; get it once per process from `routemeter::install()`. Connections are
/// served by [`routemeter::serve_connections`], over HTTP/1.1 or (with prior knowledge) HTTP/2, every phase
/// bounded by `options`. Each connection gets the router with its local address as [`ServedBy`] (the handlers'
/// `Extension<ServedBy>`), so an instance listening on `0.0.0.0` reports the address the client reached.
///
/// # Errors
/// Only when the server cannot start: the listener's address cannot be read.
pub async fn serve(
    listener: TcpListener,
    exporter: Exporter,
    options: ServeOptions,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    serve_state(listener, AppState::seeded(), exporter, options, shutdown).await
}

/// As [`serve`], over `state` (e.g. with a body budget of its own).
///
/// # Errors
/// As [`serve`].
pub async fn serve_state(
    listener: TcpListener,
    state: AppState,
    exporter: Exporter,
    options: ServeOptions,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let listening_on: Arc<str> = Arc::from(listener.local_addr()?.to_string());
    let app = router(state, exporter);
    let make_service = move |stream: &TcpStream| {
        let served_by = match stream.local_addr() {
            Ok(local) => Arc::from(local.to_string()),
            Err(_) => listening_on.clone(),
        };
        // The router is cloned per connection (a reference count); the extension wraps it without rebuilding it.
        TowerToHyperService::new(Extension(ServedBy(served_by)).layer(app.clone()))
    };
    routemeter::serve_connections(listener, options, make_service, shutdown)
        .await
        .map_err(|err| match err {
            routemeter::Error::Io(err) => err,
            other => io::Error::other(other),
        })
}
