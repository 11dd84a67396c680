//! Panics: a handler that panics inside a real server is counted with `code="panic"`, its in-flight gauge returns
//! to zero, its duration is recorded, and the server goes on: the panic ends that connection's task and nothing
//! else, other requests (in flight at the time, or later) are served, and `/metrics` keeps answering.
//!
//! The handlers are instrumented in this file (namespace `panics`, the test crate's name) and served by a hyper
//! server on 127.0.0.1.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, Once};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use routemeter::Exporter;
use routemeter_tests::exposition::Exposition;
use routemeter_tests::process::eventually;
use routemeter_tests::raw;
use routemeter_tests::series::HandlerSeries;
use routemeter_tests::server::{text, TestServer};
use routemeter_tests::TestResult;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Notify, Semaphore};

/// The message of every panic these tests cause on purpose; the panic hook keeps them off the output.
const DELIBERATE: &str = "deliberate handler panic (a test of routemeter)";

const PATIENCE: Duration = Duration::from_secs(15);

const EXPLODES: HandlerSeries = HandlerSeries::new("panics", "Explodes", "GET", "/explodes");
const CAUGHT: HandlerSeries = HandlerSeries::new("panics", "ExplodesCaught", "GET", "/caught");
const STEADY: HandlerSeries = HandlerSeries::new("panics", "Steady", "GET", "/steady");
const PATIENT: HandlerSeries = HandlerSeries::new("panics", "Patient", "GET", "/patient");

/// Panics at its first poll, as a handler with a bug does.
#[routemeter::instrumented(name = "Explodes", route = "GET /explodes")]
#[allow(clippy::panic)] // The point of the handler.
async fn explodes() -> Response<Full<Bytes>> {
    std::panic::panic_any(DELIBERATE)
}

/// The same bug, in a service that catches panics (as tower's `CatchPanic` does) and answers 500.
#[routemeter::instrumented(name = "ExplodesCaught", route = "GET /caught")]
#[allow(clippy::panic)] // The point of the handler.
async fn explodes_caught() -> Response<Full<Bytes>> {
    std::panic::panic_any(DELIBERATE)
}

#[routemeter::instrumented(name = "Steady", route = "GET /steady")]
async fn steady() -> Response<Full<Bytes>> {
    text(StatusCode::OK, "steady")
}

/// Says it started, then waits for `release`.
#[routemeter::instrumented(name = "Patient", route = "GET /patient")]
async fn patient(entered: Arc<Semaphore>, release: Arc<Notify>) -> Response<Full<Bytes>> {
    entered.add_permits(1);
    release.notified().await;
    text(StatusCode::OK, "patient")
}

/// Polls a future inside `catch_unwind`: a panic becomes `Err`, as in a panic-catching middleware.
struct CatchUnwind<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, ()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(_panic) => Poll::Ready(Err(())),
        }
    }
}

/// Keeps the deliberate panics off the test output; every other panic is reported as usual.
fn quiet_deliberate_panics() {
    static QUIET: Once = Once::new();
    QUIET.call_once(|| {
        let report = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<&str>() != Some(&DELIBERATE) {
                report(info);
            }
        }));
    });
}

/// Sends `GET path` on an open HTTP/1.1 connection and reads one answer: its head and its body (the server's
/// answers here all have a `Content-Length`).
async fn exchange_on(connection: &mut TcpStream, path: &str) -> TestResult<(String, Vec<u8>)> {
    connection
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes())
        .await?;
    let mut received = Vec::new();
    let mut buffer = [0_u8; 1024];
    // Bounded: an answer here is a few hundred bytes.
    for _ in 0..64 {
        if let Some(end) = received.windows(4).position(|window| window == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&received[..end]).into_owned();
            let length: usize = head
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().ok())?
                })
                .ok_or_else(|| format!("no Content-Length in {head:?}"))?;
            if received.len() >= end + 4 + length {
                return Ok((head, received[end + 4..end + 4 + length].to_vec()));
            }
        }
        let read = tokio::time::timeout(PATIENCE, connection.read(&mut buffer)).await??;
        if read == 0 {
            return Err(format!("the connection was closed after {received:?}").into());
        }
        received.extend_from_slice(&buffer[..read]);
    }
    Err(format!("no complete answer in {received:?}").into())
}

struct Gates {
    entered: Arc<Semaphore>,
    release: Arc<Notify>,
}

async fn start(exporter: Exporter, gates: &Gates) -> TestResult<TestServer> {
    let (entered, release) = (gates.entered.clone(), gates.release.clone());
    TestServer::start(move |request: Request<Incoming>| {
        let exporter = exporter.clone();
        let (entered, release) = (entered.clone(), release.clone());
        async move {
            match request.uri().path() {
                "/explodes" => explodes().await,
                "/caught" => match CatchUnwind(Box::pin(explodes_caught())).await {
                    Ok(response) => response,
                    Err(()) => text(StatusCode::INTERNAL_SERVER_ERROR, "the handler panicked"),
                },
                "/steady" => steady().await,
                "/patient" => patient(entered, release).await,
                "/metrics" => exporter.respond(&request),
                _ => text(StatusCode::NOT_FOUND, "no such route"),
            }
        }
    })
    .await
}

/// Quiets the deliberate panics and serves this file's handlers with fresh gates: how every test here starts.
async fn start_quietly() -> TestResult<(TestServer, Gates)> {
    quiet_deliberate_panics();
    let gates = Gates {
        entered: Arc::new(Semaphore::new(0)),
        release: Arc::new(Notify::new()),
    };
    let server = start(routemeter::install()?, &gates).await?;
    Ok((server, gates))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_is_counted_and_the_server_keeps_serving() -> TestResult {
    const PANICS: usize = 5;
    let (server, gates) = start_quietly().await?;
    let client = server.client();
    let before = client.scrape().await?;

    // A keep-alive connection that was open before the panics, and a request in flight while they happen.
    let reply = client.get("/steady").await?;
    assert_eq!(reply.status, StatusCode::OK);
    let in_flight = tokio::spawn({
        let client = server.client();
        async move { client.get("/patient").await }
    });
    tokio::time::timeout(PATIENCE, gates.entered.acquire())
        .await
        .map_err(|_| "the patient handler did not start")??
        .forget();

    // Each panic takes its own connection down: no answer, the connection closed.
    for _ in 0..PANICS {
        let reply = raw::exchange(
            server.addr(),
            b"GET /explodes HTTP/1.1\r\nHost: test\r\n\r\n",
            PATIENCE,
        )
        .await?;
        assert!(reply.closed, "the connection stayed open: {reply:?}");
        assert!(reply.bytes.is_empty(), "an answer: {}", reply.text());
    }
    eventually("the panicked connection tasks", PATIENCE, || async {
        (server.panicked_connections() == PANICS).then_some(())
    })
    .await?;

    // The request in flight on another connection completes.
    gates.release.notify_one();
    let reply = tokio::time::timeout(PATIENCE, in_flight).await???;
    assert_eq!(
        (reply.status, reply.text().as_str()),
        (StatusCode::OK, "patient")
    );
    // So do requests from the client used before the panics and from a new one.
    assert_eq!(client.get("/steady").await?.status, StatusCode::OK);
    assert_eq!(server.client().get("/steady").await?.status, StatusCode::OK);

    // And /metrics answers, with every panic counted.
    let after = server.client().scrape().await?;
    let delta = |handler: HandlerSeries, code: &str, metrics: &Exposition| {
        handler.requests(metrics, code) - handler.requests(&before, code)
    };
    EXPLODES.assert_counted_as(&before, &after, "panic", PANICS as f64);
    assert_eq!(
        EXPLODES.count(&after, "size") - EXPLODES.count(&before, "size"),
        0.0
    );
    assert_eq!(delta(PATIENT, "200", &after), 1.0);
    assert_eq!(delta(STEADY, "200", &after), 3.0);
    for handler in [EXPLODES, PATIENT, STEADY] {
        assert_eq!(handler.in_flight(&after), Some(0.0), "{}", handler.name);
    }
    assert_eq!(server.panicked_connections(), PANICS);
    println!(
        "{PANICS} panics: panic +{PANICS}, {} connection tasks ended in a panic, in-flight 0, 4 other requests served",
        server.panicked_connections()
    );
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_caught_by_the_service_is_counted_and_the_connection_lives_on() -> TestResult {
    const PANICS: usize = 3;
    let (server, _gates) = start_quietly().await?;
    let client = server.client();
    let before = client.scrape().await?;

    // One keep-alive connection carries every request: the caught panics do not close it.
    let mut connection = TcpStream::connect(server.addr()).await?;
    for _ in 0..PANICS {
        let (head, body) = exchange_on(&mut connection, "/caught").await?;
        assert!(head.starts_with("HTTP/1.1 500 "), "{head}");
        assert_eq!(body, b"the handler panicked");
    }
    // And goes on with an ordinary request (to an uninstrumented path: the other test counts `Steady`).
    let (head, body) = exchange_on(&mut connection, "/elsewhere").await?;
    assert!(head.starts_with("HTTP/1.1 404 "), "{head}");
    assert_eq!(body, b"no such route");
    let after = client.scrape().await?;
    // The handler never produced the 500: the middleware did, so routemeter reports the panic.
    CAUGHT.assert_counted_as(&before, &after, "panic", PANICS as f64);
    assert_eq!(CAUGHT.in_flight(&after), Some(0.0));
    assert_eq!(server.panicked_connections(), 0);
    server.stop().await
}
