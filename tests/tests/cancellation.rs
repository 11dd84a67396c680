//! Cancellation: a client that hangs up mid-request, and a timeout that drops the handler's future, are counted
//! with `code="cancelled"`; the in-flight gauge returns to zero and the duration is recorded.
//!
//! Real hyper servers on 127.0.0.1 serve handlers instrumented in this file (namespace `cancellation`, the test
//! crate's name). Each test has handlers of its own, so tests running in parallel leave each other's counts
//! alone and every assertion is exact.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use routemeter::Exporter;
use routemeter_tests::exposition::Exposition;
use routemeter_tests::process::eventually;
use routemeter_tests::series::HandlerSeries;
use routemeter_tests::server::{text, TestServer};
use routemeter_tests::TestResult;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

/// Longer than any test: a handler waiting this long is only ever ended by cancellation.
const NEVER: Duration = Duration::from_secs(120);

/// How long a test waits for something that should happen at once.
const PATIENCE: Duration = Duration::from_secs(15);

const HANG_UP: HandlerSeries = HandlerSeries::new("cancellation", "HangUp", "GET", "/hang-up");
const TIMED_OUT: HandlerSeries =
    HandlerSeries::new("cancellation", "TimedOut", "GET", "/timed-out");
const READS_BODY: HandlerSeries =
    HandlerSeries::new("cancellation", "ReadsBody", "POST", "/reads-body");

/// Says it started (one permit on `entered`), then waits until cancelled.
#[routemeter::instrumented(name = "HangUp", route = "GET /hang-up")]
async fn hang_up(entered: Arc<Semaphore>) -> Response<Full<Bytes>> {
    entered.add_permits(1);
    tokio::time::sleep(NEVER).await;
    text(StatusCode::OK, "finished")
}

/// Waits until cancelled; the server gives it [`TIMEOUT`].
#[routemeter::instrumented(name = "TimedOut", route = "GET /timed-out")]
async fn timed_out() -> Response<Full<Bytes>> {
    tokio::time::sleep(NEVER).await;
    text(StatusCode::OK, "finished")
}

/// Reads the whole body, after saying it started.
#[routemeter::instrumented(name = "ReadsBody", route = "POST /reads-body")]
async fn reads_body(entered: Arc<Semaphore>, request: Request<Incoming>) -> Response<Full<Bytes>> {
    entered.add_permits(1);
    match request.into_body().collect().await {
        Ok(_) => text(StatusCode::OK, "read"),
        Err(_) => text(StatusCode::BAD_REQUEST, "incomplete body"),
    }
}

/// The server-side timeout that `timed_out` runs under.
const TIMEOUT: Duration = Duration::from_millis(300);

/// Serves the handlers of this file and `/metrics`.
async fn start(exporter: Exporter, entered: Arc<Semaphore>) -> TestResult<TestServer> {
    TestServer::start(move |request: Request<Incoming>| {
        let exporter = exporter.clone();
        let entered = entered.clone();
        async move {
            match request.uri().path() {
                "/hang-up" => hang_up(entered).await,
                "/timed-out" => match tokio::time::timeout(TIMEOUT, timed_out()).await {
                    Ok(response) => response,
                    Err(_elapsed) => text(StatusCode::GATEWAY_TIMEOUT, "timed out"),
                },
                "/reads-body" => reads_body(entered, request).await,
                "/metrics" => exporter.respond(&request),
                _ => text(StatusCode::NOT_FOUND, "no such route"),
            }
        }
    })
    .await
}

/// Waits until `count` handlers have said they started.
async fn wait_entered(entered: &Semaphore, count: u32) -> TestResult {
    let permits = tokio::time::timeout(PATIENCE, entered.acquire_many(count))
        .await
        .map_err(|_| format!("{count} handlers did not start within {PATIENCE:?}"))??;
    permits.forget();
    Ok(())
}

/// Scrapes until `handler`'s in-flight gauge reads 0; returns that scrape.
async fn scrape_when_idle(server: &TestServer, handler: HandlerSeries) -> TestResult<Exposition> {
    let client = server.client();
    eventually(
        &format!("{}'s in-flight gauge to return to 0", handler.name),
        PATIENCE,
        || {
            let client = client.clone();
            async move {
                let metrics = client.scrape().await.ok()?;
                (handler.in_flight(&metrics) == Some(0.0)).then_some(metrics)
            }
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_hanging_up_mid_request_are_counted_cancelled() -> TestResult {
    const CLIENTS: u32 = 20;
    /// How long the requests stay in flight before the clients hang up, at least.
    const HELD: Duration = Duration::from_millis(250);

    let entered = Arc::new(Semaphore::new(0));
    let server = start(routemeter::install()?, entered.clone()).await?;
    let before = server.client().scrape().await?;

    let mut streams = Vec::new();
    for _ in 0..CLIENTS {
        let mut stream = TcpStream::connect(server.addr()).await?;
        stream
            .write_all(b"GET /hang-up HTTP/1.1\r\nHost: test\r\n\r\n")
            .await?;
        streams.push(stream);
    }
    wait_entered(&entered, CLIENTS).await?;
    let during = server.client().scrape().await?;
    assert_eq!(
        HANG_UP.in_flight(&during),
        Some(f64::from(CLIENTS)),
        "every request in flight"
    );
    tokio::time::sleep(HELD).await;
    // Hang up: close every connection without reading an answer.
    drop(streams);

    let after = scrape_when_idle(&server, HANG_UP).await?;
    // All cancelled (no handler finished), and each request was timed.
    HANG_UP.assert_counted_as(&before, &after, "cancelled", f64::from(CLIENTS));
    // None has a size, and each was timed for at least as long as it was held.
    assert_eq!(
        HANG_UP.count(&after, "size") - HANG_UP.count(&before, "size"),
        0.0
    );
    let seconds = HANG_UP.sum(&after, "duration") - HANG_UP.sum(&before, "duration");
    assert!(
        seconds >= f64::from(CLIENTS) * HELD.as_secs_f64() && seconds < f64::from(CLIENTS) * 60.0,
        "duration sum grew by {seconds} s for {CLIENTS} requests held {HELD:?}"
    );
    println!(
        "{CLIENTS} clients hung up; cancelled +{CLIENTS}, duration sum +{seconds:.3} s, in-flight 0"
    );
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_dropping_the_handler_is_counted_cancelled() -> TestResult {
    const REQUESTS: usize = 5;
    let server = start(routemeter::install()?, Arc::new(Semaphore::new(0))).await?;
    let client = server.client();
    let before = client.scrape().await?;

    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..REQUESTS {
        let client = client.clone();
        tasks.spawn(async move { client.get("/timed-out").await });
    }
    while let Some(joined) = tasks.join_next().await {
        let reply = joined??;
        assert_eq!(
            reply.status,
            StatusCode::GATEWAY_TIMEOUT,
            "{}",
            reply.text()
        );
    }

    // The wrapper answered only after dropping the handler's future, so all is recorded already.
    let after = client.scrape().await?;
    let requests = REQUESTS as f64;
    assert_eq!(TIMED_OUT.in_flight(&after), Some(0.0));
    TIMED_OUT.assert_counted_as(&before, &after, "cancelled", requests);
    assert_eq!(
        TIMED_OUT.count(&after, "size") - TIMED_OUT.count(&before, "size"),
        0.0
    );
    // Each ran for about the timeout: the timer starts a moment before the handler's first poll, hence the margin.
    let seconds = TIMED_OUT.sum(&after, "duration") - TIMED_OUT.sum(&before, "duration");
    let least = requests * (TIMEOUT.as_secs_f64() - 0.05);
    assert!(
        seconds >= least && seconds < requests * 60.0,
        "duration sum grew by {seconds} s for {REQUESTS} requests timed out after {TIMEOUT:?}"
    );
    println!(
        "{REQUESTS} timeouts; cancelled +{REQUESTS}, duration sum +{seconds:.3} s, in-flight 0"
    );
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_hanging_up_mid_body_is_counted_once() -> TestResult {
    let entered = Arc::new(Semaphore::new(0));
    let server = start(routemeter::install()?, entered.clone()).await?;
    let before = server.client().scrape().await?;

    // A thousand bytes announced, ten sent: the handler is reading the body when the client goes.
    let mut stream = TcpStream::connect(server.addr()).await?;
    stream
        .write_all(
            b"POST /reads-body HTTP/1.1\r\nHost: test\r\nContent-Length: 1000\r\n\r\n0123456789",
        )
        .await?;
    wait_entered(&entered, 1).await?;
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(stream);

    let after = scrape_when_idle(&server, READS_BODY).await?;
    // Whether hyper drops the handler first or the handler sees the broken body first is a race; either way
    // the request is counted exactly once, as cancelled or as the handler's own answer.
    let codes: Vec<(String, f64)> = READS_BODY
        .requests_by_code(&after)
        .into_iter()
        .map(|(code, count)| {
            let earlier = READS_BODY.requests(&before, &code);
            (code, count - earlier)
        })
        .filter(|(_, delta)| *delta != 0.0)
        .collect();
    assert!(
        codes == [("cancelled".to_owned(), 1.0)] || codes == [("400".to_owned(), 1.0)],
        "{codes:?}"
    );
    assert_eq!(
        READS_BODY.count(&after, "duration") - READS_BODY.count(&before, "duration"),
        1.0
    );
    println!("a client hung up mid-body: counted as {codes:?}");
    server.stop().await
}
