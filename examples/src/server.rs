//! The HTTP server: accept loop, connections, graceful shutdown.

use std::convert::Infallible;
use std::error::Error as StdError;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use http::Request;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use routemeter::Exporter;
use tokio::net::TcpListener;

use crate::app::App;
use crate::dispatch;
use crate::options::Options;

/// How long the accept loop pauses after an accept error such as running out of file descriptors: retrying at
/// once would spin the CPU while the condition lasts.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Serves the accountservice on `listener` until `shutdown` completes, then lets requests in progress finish
/// (up to [`Options::shutdown_timeout`]) and returns.
///
/// `exporter` answers `GET /metrics`; get it once per process from `routemeter::install()`. Every connection is
/// served on its own task, over HTTP/1.1 or (with prior knowledge) HTTP/2. Accept errors are logged and do not
/// stop the server. The answer's `servedBy` is the local address the client connected to, so an instance
/// listening on `0.0.0.0` still reports a reachable address.
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
    let listening_on = listener.local_addr()?.to_string();
    let app = Arc::new(App::new(exporter, &options).map_err(io::Error::other)?);

    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout);
    builder.http2().timer(TokioTimer::new());

    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(err) => {
                eprintln!("accountservice: accept failed: {err}");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        // Small JSON answers go out in one segment; without this Nagle's algorithm can delay them.
        let _ = stream.set_nodelay(true);
        let served_by: Arc<str> = match stream.local_addr() {
            Ok(local) => Arc::from(local.to_string()),
            Err(_) => Arc::from(listening_on.as_str()),
        };
        let app = app.clone();
        let service = service_fn(move |req: Request<Incoming>| {
            let app = app.clone();
            let served_by = served_by.clone();
            async move { Ok::<_, Infallible>(dispatch::handle(&app, &served_by, req).await) }
        });
        // Metered measures the monitored routes to the end of their body, which matters for the streamed export.
        let connection = graceful.watch(
            builder
                .serve_connection(TokioIo::new(stream), routemeter::Metered::new(service))
                .into_owned(),
        );
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                log_connection_error(err.as_ref());
            }
        });
    }

    // Stop accepting first, so clients are refused rather than queued while the server winds down.
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(options.shutdown_timeout) => {
            eprintln!(
                "accountservice: requests still running after {:?}; stopping anyway",
                options.shutdown_timeout
            );
        }
    }
    Ok(())
}

/// Reports a connection that ended with an error, except the routine ones: clients hanging up mid-request and
/// clients too slow to send their headers happen all the time on a public service and are not news.
fn log_connection_error(err: &(dyn StdError + Send + Sync + 'static)) {
    if let Some(hyper_err) = err.downcast_ref::<hyper::Error>() {
        if hyper_err.is_incomplete_message() || hyper_err.is_timeout() || hyper_err.is_canceled() {
            return;
        }
    }
    if let Some(io_err) = err.downcast_ref::<io::Error>() {
        if matches!(
            io_err.kind(),
            io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
        ) {
            return;
        }
    }
    eprintln!("accountservice: connection error: {err}");
}
