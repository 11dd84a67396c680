//! A hyper server for a test's own handlers, running in this process on an ephemeral port of `127.0.0.1`.
//!
//! The cancellation, panic and exposition tests define instrumented handlers of their own and serve them the way a
//! real service does: one task per connection, HTTP/1.1 or HTTP/2 (hyper-util's `auto` builder). The server
//! counts the connection tasks that ended in a panic, so a test can tell that a handler's panic killed its own
//! connection and nothing else. [`TestServer::start_metered`] serves through `routemeter::Metered`, which
//! measures responses to the end of their body.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body::Body;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinSet;

use crate::client::Client;
use crate::server_task::ServerTask;
use crate::TestResult;

/// A response with `status` and a short text body, as the tests' handlers answer.
pub fn text(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response
}

/// An axum router as a handler for [`TestServer::start`]: each request goes to a clone of it, as
/// axum's own server does. Layers on the router (routemeter's among them) run inside.
pub fn axum_handler(
    router: axum::Router,
) -> impl Fn(Request<Incoming>) -> Pin<Box<dyn Future<Output = Response<axum::body::Body>> + Send>>
       + Send
       + Sync
       + 'static {
    move |request| {
        let mut router = router.clone();
        Box::pin(async move {
            match tower_service::Service::call(&mut router, request.map(axum::body::Body::new))
                .await
            {
                Ok(response) => response,
                Err(never) => match never {},
            }
        })
    }
}

/// A server answering every request with `handler`; stopped on [`stop`](TestServer::stop) or drop.
#[derive(Debug)]
pub struct TestServer {
    addr: SocketAddr,
    panicked: Arc<AtomicUsize>,
    task: ServerTask<Infallible>,
}

impl TestServer {
    /// Binds 127.0.0.1 on an ephemeral port and serves every connection with `handler`.
    ///
    /// # Errors
    /// When the listener cannot be bound.
    pub async fn start<H, F, B>(handler: H) -> TestResult<TestServer>
    where
        H: Fn(Request<Incoming>) -> F + Send + Sync + 'static,
        F: Future<Output = Response<B>> + Send + 'static,
        B: ServedBody,
    {
        TestServer::spawn(handler, false).await
    }

    /// As [`start`](TestServer::start), with the service wrapped in `routemeter::Metered`.
    ///
    /// # Errors
    /// When the listener cannot be bound.
    pub async fn start_metered<H, F, B>(handler: H) -> TestResult<TestServer>
    where
        H: Fn(Request<Incoming>) -> F + Send + Sync + 'static,
        F: Future<Output = Response<B>> + Send + 'static,
        B: ServedBody,
    {
        TestServer::spawn(handler, true).await
    }

    async fn spawn<H, F, B>(handler: H, metered: bool) -> TestResult<TestServer>
    where
        H: Fn(Request<Incoming>) -> F + Send + Sync + 'static,
        F: Future<Output = Response<B>> + Send + 'static,
        B: ServedBody,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let panicked = Arc::new(AtomicUsize::new(0));
        let counted = panicked.clone();
        let task = ServerTask::spawn(|stopped| async move {
            accept(listener, Arc::new(handler), metered, counted, stopped).await;
            Ok(())
        });
        Ok(TestServer {
            addr,
            panicked,
            task,
        })
    }

    /// Where the server listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A client of its own (its own connection pool) for the server.
    pub fn client(&self) -> Client {
        Client::new(self.addr)
    }

    /// How many connection tasks have ended in a panic so far (counted once the task is reaped, which the
    /// accept loop does as soon as it ends).
    pub fn panicked_connections(&self) -> usize {
        self.panicked.load(Ordering::Relaxed)
    }

    /// Stops accepting, drops the open connections and waits for the accept loop to end.
    ///
    /// # Errors
    /// When the accept loop failed or did not end in time.
    pub async fn stop(self) -> TestResult {
        self.task.stop().await
    }
}

/// A response body the test server can send.
pub trait ServedBody:
    Body<Data = Bytes, Error: Into<Box<dyn std::error::Error + Send + Sync>>> + Send + 'static
{
}

impl<B> ServedBody for B where
    B: Body<Data = Bytes, Error: Into<Box<dyn std::error::Error + Send + Sync>>> + Send + 'static
{
}

async fn accept<H, F, B>(
    listener: TcpListener,
    handler: Arc<H>,
    metered: bool,
    panicked: Arc<AtomicUsize>,
    mut stopped: oneshot::Receiver<()>,
) where
    H: Fn(Request<Incoming>) -> F + Send + Sync + 'static,
    F: Future<Output = Response<B>> + Send + 'static,
    B: ServedBody,
{
    let builder = auto::Builder::new(TokioExecutor::new());
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _peer)) = accepted else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let handler = handler.clone();
                let service = service_fn(move |request: Request<Incoming>| {
                    let answer = handler(request);
                    async move { Ok::<_, Infallible>(answer.await) }
                });
                let io = TokioIo::new(stream);
                // A client hanging up is an ordinary end of a connection here.
                if metered {
                    let connection = builder
                        .serve_connection(io, routemeter::Metered::new(service))
                        .into_owned();
                    connections.spawn(async move { drop(connection.await) });
                } else {
                    let connection = builder.serve_connection(io, service).into_owned();
                    connections.spawn(async move { drop(connection.await) });
                }
            }
            Some(ended) = connections.join_next() => {
                if ended.is_err_and(|err| err.is_panic()) {
                    panicked.fetch_add(1, Ordering::Relaxed);
                }
            }
            _ = &mut stopped => break,
        }
    }
    connections.abort_all();
    while let Some(ended) = connections.join_next().await {
        if ended.is_err_and(|err| err.is_panic()) {
            panicked.fetch_add(1, Ordering::Relaxed);
        }
    }
}
