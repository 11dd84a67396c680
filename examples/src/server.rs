//! The HTTP server: the accountservice's routes on routemeter's hardened connection handling.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::sync::Arc;

use http::Request;
use hyper::body::Incoming;
use hyper::service::service_fn;
use routemeter::Exporter;
use tokio::net::{TcpListener, TcpSocket, TcpStream};

use crate::app::App;
use crate::dispatch;
use crate::options::Options;

/// The kernel's queue of connections not yet accepted. While a flood of idle sockets fills the server, clients
/// wait their turn there (their requests already sent); a longer queue than tokio's default of 1024 keeps the
/// kernel from dropping their connection attempts (Linux caps it at `net.core.somaxconn`, 4096 by default).
const BACKLOG: u32 = 4096;

/// Listens on `addr` (`host:port`, host names resolved) with a backlog of 4096, as [`serve`] expects.
///
/// # Errors
/// When the address does not resolve or none of its addresses can be bound.
pub async fn listen(addr: &str) -> io::Result<TcpListener> {
    let mut last_error = None;
    for resolved in tokio::net::lookup_host(addr).await? {
        let socket = if resolved.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        // As `TcpListener::bind` does: a restarted service can bind while old connections linger in TIME_WAIT.
        #[cfg(unix)]
        socket.set_reuseaddr(true)?;
        match socket.bind(resolved).and_then(|()| socket.listen(BACKLOG)) {
            Ok(listener) => return Ok(listener),
            Err(err) => last_error = Some(err),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{addr} resolves to no address"),
        )
    }))
}

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
