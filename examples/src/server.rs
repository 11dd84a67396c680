//! The HTTP server: the accountservice's routes on routemeter's hardened connection handling.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::sync::Arc;

use http::Request;
use hyper::body::Incoming;
use hyper::service::service_fn;
use routemeter::Exporter;
use tokio::net::{TcpListener, TcpStream};

use crate::app::App;
use crate::dispatch;
use crate::options::Options;

/// Serves the accountservice on `listener` until `shutdown` completes, then lets requests in progress finish
/// (up to the shutdown timeout of [`Options::server`]) and returns.
///
/// `exporter` answers `GET /metrics`; get it once per process from `routemeter::install()`. Connections are
/// served by [`routemeter::serve_connections`], over HTTP/1.1 or (with prior knowledge) HTTP/2, with every phase
/// bounded by [`Options::server`]; accept errors are logged (at most once a second) and do not stop the server.
/// The answer's `servedBy` is the local address the client connected to, so an instance listening on `0.0.0.0`
/// still reports a reachable address.
///
/// # Errors
/// Only when the server cannot start: the listener's address cannot be read, the route table is invalid, or the
/// hand-written middleware's metrics cannot be registered.
pub async fn serve(
    listener: TcpListener,
    exporter: Exporter,
    options: Options,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let listening_on: Arc<str> = Arc::from(listener.local_addr()?.to_string());
    let app = Arc::new(App::new(exporter, &options).map_err(io::Error::other)?);
    let make_service = move |stream: &TcpStream| {
        let served_by: Arc<str> = match stream.local_addr() {
            Ok(local) => Arc::from(local.to_string()),
            Err(_) => listening_on.clone(),
        };
        let app = app.clone();
        // Metered measures the monitored routes to the end of their body, which matters for the streamed export.
        routemeter::Metered::new(service_fn(move |req: Request<Incoming>| {
            let app = app.clone();
            let served_by = served_by.clone();
            async move { Ok::<_, Infallible>(dispatch::handle(&app, &served_by, req).await) }
        }))
    };
    routemeter::serve_connections(listener, options.server, make_service, shutdown)
        .await
        .map_err(|err| match err {
            routemeter::Error::Io(err) => err,
            other => io::Error::other(other),
        })
}
