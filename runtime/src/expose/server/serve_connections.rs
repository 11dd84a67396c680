//! The accept loop and the life of one connection, with every phase bounded by [`ServeOptions`].

use std::error::Error as StdError;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{Request, Response};
use http_body::Body;
use hyper::body::Incoming;
use hyper::service::Service;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::expose::server::activity::QuietLimits;
use crate::expose::server::backoff::Backoff;
use crate::expose::server::connections::{Admission, Connections, Slot};
use crate::expose::server::options::ServeOptions;
use crate::expose::server::rate_limited_log::RateLimitedLog;
use crate::expose::server::tracked::Tracked;
use crate::Error;

/// HTTP/2 flow-control windows: how much of request bodies a connection buffers before its
/// handlers read them. Small, since each open connection may hold this much.
const STREAM_WINDOW: u32 = 64 * 1024;
const CONNECTION_WINDOW: u32 = 256 * 1024;

/// How long a full server waits for the connection it asked to close to go (or to decline, when
/// its request arrived meanwhile) before it asks again, and how long it tries before it turns the
/// new connection away.
const EVICTION_WAIT: Duration = Duration::from_millis(250);
const ADMISSION_WAIT: Duration = Duration::from_secs(1);

/// `accept(2)` errors that mean the process is out of file descriptors (the same numbers on
/// Linux, the BSDs and macOS).
const EMFILE: i32 = 24;
const ENFILE: i32 = 23;

/// Serves every connection `listener` accepts with the service `make_service` builds for it,
/// over HTTP/1.1 or HTTP/2, until `shutdown` completes; then stops accepting, lets requests in
/// progress finish for up to [`ServeOptions::shutdown_timeout`], closes what is left and returns.
///
/// Every phase of a connection is bounded by `options`: the time until its first request, its
/// request heads (size and time), its quiet time between requests, its HTTP/2 streams, and the
/// number of connections open at once (a connection beyond it makes room by closing the one
/// quiet longest, so a client that sends a request is served even while idle sockets fill the
/// server). Accept errors pause the loop (5 ms, doubling up to 1 s) instead of spinning, and
/// when the process is out of descriptors the quietest connection is closed to free one.
/// Problems caused by clients are logged to standard error at most once a second per kind.
///
/// This is the server behind [`Exporter::serve_with`](crate::Exporter::serve_with); a service
/// can run its own routes on it too, as the accountservice example does. What it does not
/// bound is what the service does with a request: bodies, the work of each route and its
/// timeouts are the service's to limit.
///
/// ```no_run
/// use std::convert::Infallible;
///
/// use bytes::Bytes;
/// use http_body_util::Full;
/// use hyper::{Request, Response};
///
/// # async fn run() -> Result<(), routemeter::Error> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// let options = routemeter::ServeOptions::default().max_connections_within_descriptor_limit();
/// routemeter::serve_connections(
///     listener,
///     options,
///     |_stream: &tokio::net::TcpStream| {
///         hyper::service::service_fn(|_request: Request<hyper::body::Incoming>| async {
///             Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"hello\n"))))
///         })
///     },
///     async {
///         let _ = tokio::signal::ctrl_c().await;
///     },
/// )
/// .await
/// # }
/// ```
///
/// # Errors
/// Only when the listener's address cannot be read; a single connection's trouble never stops
/// the server.
pub async fn serve_connections<M, S, B>(
    listener: TcpListener,
    options: ServeOptions,
    mut make_service: M,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error>
where
    M: FnMut(&TcpStream) -> S,
    S: Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn StdError + Send + Sync>>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    listener.local_addr()?;
    let connections = Connections::new(options.max_connections);
    let logs = Arc::new(Logs::new(&options.log_name));
    let builder = http_builder(&options);
    let limits = QuietLimits {
        first_request: options.first_request_timeout,
        idle: options.idle_timeout,
    };
    // A connection's deadline can move earlier (its first request ends, and the idle timeout is the shorter), so
    // its task never sleeps longer than the shorter timeout before looking again.
    let longest_sleep = limits.first_request.min(limits.idle);
    let (drain, draining) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut backoff = Backoff::default();
    let mut shutdown = pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            // Reap finished connections as we go, so the set holds only open ones.
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => {
                backoff.succeeded();
                stream
            }
            Err(err) => {
                let out_of_descriptors = matches!(err.raw_os_error(), Some(EMFILE | ENFILE));
                let freed = out_of_descriptors && connections.evict_one();
                logs.accept.log(|| {
                    let freeing = if freed {
                        "; closing the connection quiet longest"
                    } else {
                        ""
                    };
                    format!("accept failed: {err}{freeing}")
                });
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(backoff.failed()) => continue,
                }
            }
        };
        let Some(slot) = admit(&connections, &logs).await else {
            continue; // dropping the stream closes it
        };
        // Small answers go out in one segment; without this Nagle's algorithm can delay them.
        let _ = stream.set_nodelay(true);
        let service = Tracked::new(make_service(&stream), slot.activity().clone());
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
            .into_owned();
        let logs = logs.clone();
        let mut draining = draining.clone();
        tasks.spawn(async move {
            let activity = slot.activity().clone();
            let mut shutting_down = false;
            let mut connection = Box::pin(connection);
            loop {
                // While a request runs its handler's own timeouts bound it; look again later.
                let next_look = Instant::now() + longest_sleep;
                let wake = activity
                    .quiet_deadline(limits)
                    .map_or(next_look, |deadline| deadline.min(next_look));
                tokio::select! {
                    // The connection first: a request that arrived is read before an eviction is
                    // considered, so that the eviction can be declined.
                    biased;
                    served = connection.as_mut() => {
                        if let Err(err) = served {
                            logs.report_connection_error(err.as_ref());
                        }
                        break;
                    }
                    () = activity.evicted() => {
                        if activity.progressed_since_eviction() {
                            slot.reinstate();
                        } else {
                            break;
                        }
                    }
                    () = tokio::time::sleep_until(wake.into()) => {
                        if activity.quiet_deadline(limits).is_some_and(|at| at <= Instant::now()) {
                            break;
                        }
                    }
                    _ = draining.changed(), if !shutting_down => {
                        shutting_down = true;
                        connection.as_mut().graceful_shutdown();
                    }
                }
            }
            // Closing the socket first, then freeing the place, keeps the count of open
            // connections at or above the descriptors they hold.
            drop(connection);
            drop(slot);
        });
    }

    // Stop accepting first, so clients are refused rather than queued while the server winds down.
    drop(listener);
    let _ = drain.send(true);
    let drained = tokio::time::timeout(options.shutdown_timeout, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        logs.shutdown.log(|| {
            format!(
                "{} connections still busy after {:?}; closing them",
                tasks.len(),
                options.shutdown_timeout
            )
        });
        tasks.shutdown().await;
    }
    Ok(())
}

/// The hyper settings that follow from `options`.
fn http_builder(options: &ServeOptions) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout)
        .max_buf_size(options.max_header_bytes);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(options.max_streams_per_connection)
        .max_header_list_size(options.max_header_list_size())
        .initial_stream_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW);
    builder
}

/// A place for a connection just accepted: at once if there is room, else once the quietest
/// connection has closed to make some. `None` when none came free in time.
async fn admit(connections: &Arc<Connections>, logs: &Logs) -> Option<Slot> {
    let give_up = Instant::now() + ADMISSION_WAIT;
    loop {
        let changed = connections.changed();
        let mut changed = pin!(changed);
        changed.as_mut().enable();
        let now = Instant::now();
        let look_again = match connections.admit(now) {
            Admission::Admitted(slot) => return Some(slot),
            Admission::Evicting => {
                logs.full.log(|| {
                    format!(
                        "{} connections open, the limit: closed the one quiet longest",
                        connections.max()
                    )
                });
                now + EVICTION_WAIT
            }
            Admission::NotYet { retry_at } => retry_at,
            Admission::Closing => now + EVICTION_WAIT,
        };
        if look_again >= give_up {
            break;
        }
        let _ = tokio::time::timeout_at(look_again.into(), changed).await;
    }
    logs.full.log(|| {
        format!(
            "{} connections open, the limit, and none closed in time: turned a new one away",
            connections.open()
        )
    });
    None
}

/// The server's log lines, one rate limit per kind.
#[derive(Debug)]
struct Logs {
    accept: RateLimitedLog,
    full: RateLimitedLog,
    connection: RateLimitedLog,
    shutdown: RateLimitedLog,
}

impl Logs {
    fn new(name: &str) -> Logs {
        Logs {
            accept: RateLimitedLog::new(name),
            full: RateLimitedLog::new(name),
            connection: RateLimitedLog::new(name),
            shutdown: RateLimitedLog::new(name),
        }
    }

    /// Reports a connection that ended with an error, except the routine ones: clients hanging up
    /// mid-request and clients too slow to send their headers happen all the time on a public
    /// service and are not news.
    fn report_connection_error(&self, err: &(dyn StdError + Send + Sync + 'static)) {
        if let Some(hyper_err) = err.downcast_ref::<hyper::Error>() {
            if hyper_err.is_incomplete_message()
                || hyper_err.is_timeout()
                || hyper_err.is_canceled()
            {
                return;
            }
        }
        if let Some(io_err) = err.downcast_ref::<std::io::Error>() {
            if matches!(
                io_err.kind(),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
            ) {
                return;
            }
        }
        self.connection.log(|| format!("connection error: {err}"));
    }
}
