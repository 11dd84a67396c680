//! The limits of routemeter's server, in this process on 127.0.0.1, with short timeouts so each test takes a
//! second or two: the stand-alone `/metrics` server (`Exporter::serve_with`) and the accountservice, which runs
//! its routes on the same server (`routemeter::serve_connections`). The attacks at full scale, against the
//! release example with a descriptor limit, are in `hostile_clients.rs`.

use std::time::{Duration, Instant};

use accountservice::Options;
use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use routemeter::ServeOptions;
use routemeter_tests::client::{Client, Reply};
use routemeter_tests::metrics_server::MetricsServer;
use routemeter_tests::raw::{self, closed_within};
use routemeter_tests::service::{exporter, TestService};
use routemeter_tests::TestResult;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The short timeout the tests configure.
const SHORT: Duration = Duration::from_millis(400);
/// How long a test waits for something that should happen after `SHORT`: generous, the machine may be busy.
const PATIENCE: Duration = Duration::from_secs(5);

/// The HTTP/2 connection preface.
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// An empty SETTINGS frame.
const EMPTY_SETTINGS: [u8; 9] = [0, 0, 0, 4, 0, 0, 0, 0, 0];

async fn metrics_server(options: ServeOptions) -> TestResult<MetricsServer> {
    MetricsServer::start(exporter()?, options).await
}

fn expect_status(reply: &Reply, status: StatusCode) -> TestResult {
    if reply.status != status {
        return Err(format!("expected {status}, got {}: {}", reply.status, reply.text()).into());
    }
    Ok(())
}

/// Asserts that the server closes `stream` after about `timeout`: not before, and well within `PATIENCE`.
async fn assert_closed_after(stream: &mut TcpStream, timeout: Duration, what: &str) -> TestResult {
    let started = Instant::now();
    let closed = closed_within(stream, PATIENCE).await;
    let elapsed = started.elapsed();
    assert!(closed.is_some(), "{what}: still open after {elapsed:?}");
    assert!(
        elapsed + Duration::from_millis(50) >= timeout,
        "{what}: closed after {elapsed:?}, before the timeout of {timeout:?}"
    );
    Ok(())
}

#[tokio::test]
async fn connections_that_send_no_request_are_closed_after_the_first_request_timeout() -> TestResult
{
    let options = ServeOptions::default().first_request_timeout(SHORT);
    let metrics = metrics_server(options.clone()).await?;
    let service = TestService::start_with(Options::default().server(options)).await?;
    for (server, addr) in [
        ("/metrics", metrics.addr()),
        ("accountservice", service.addr()),
    ] {
        // Nothing at all: the server does not even know the protocol yet.
        let mut silent = TcpStream::connect(addr).await?;
        assert_closed_after(&mut silent, SHORT, &format!("{server}: silent")).await?;
        // Half of the HTTP/2 preface.
        let mut partial = TcpStream::connect(addr).await?;
        partial.write_all(&PREFACE[..12]).await?;
        assert_closed_after(&mut partial, SHORT, &format!("{server}: half a preface")).await?;
        // The whole preface and SETTINGS, then no stream.
        let mut no_stream = TcpStream::connect(addr).await?;
        no_stream.write_all(PREFACE).await?;
        no_stream.write_all(&EMPTY_SETTINGS).await?;
        assert_closed_after(
            &mut no_stream,
            SHORT,
            &format!("{server}: HTTP/2, no stream"),
        )
        .await?;
        // A request line without the end of its headers.
        let mut headers = TcpStream::connect(addr).await?;
        headers
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: t\r\n")
            .await?;
        assert_closed_after(
            &mut headers,
            SHORT,
            &format!("{server}: unfinished headers"),
        )
        .await?;
    }
    // Clients that send a request are served as usual.
    expect_status(
        &Client::new(metrics.addr()).get("/metrics").await?,
        StatusCode::OK,
    )?;
    expect_status(&service.client().get("/health").await?, StatusCode::OK)?;
    metrics.stop().await?;
    service.stop().await
}

#[tokio::test]
async fn idle_keep_alive_connections_are_closed_after_the_idle_timeout() -> TestResult {
    let options = ServeOptions::default().idle_timeout(SHORT);
    let metrics = metrics_server(options.clone()).await?;
    let service = TestService::start_with(Options::default().server(options)).await?;
    for (addr, path) in [(metrics.addr(), "/metrics"), (service.addr(), "/health")] {
        // HTTP/1.1: one request, its answer, then silence on the kept-alive connection.
        let mut stream = TcpStream::connect(addr).await?;
        stream
            .write_all(format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes())
            .await?;
        let mut head = [0_u8; 12];
        stream.read_exact(&mut head).await?;
        assert_eq!(&head, b"HTTP/1.1 200", "{path}");
        assert_closed_after(&mut stream, SHORT, &format!("HTTP/1.1 idle after {path}")).await?;

        // HTTP/2: one request, then an idle connection; the client's connection task ends when the server closes.
        let stream = TcpStream::connect(addr).await?;
        let (mut sender, connection) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
                .await?;
        let driver = tokio::spawn(connection);
        let request = Request::get(format!("http://{addr}{path}")).body(Empty::<Bytes>::new())?;
        let response = sender.send_request(request).await?;
        assert_eq!(response.status(), StatusCode::OK, "{path} over HTTP/2");
        response.into_body().collect().await?;
        let started = Instant::now();
        let ended = tokio::time::timeout(PATIENCE, driver).await;
        let elapsed = started.elapsed();
        assert!(
            ended.is_ok(),
            "HTTP/2 connection to {path} still open after {elapsed:?}"
        );
        assert!(
            elapsed + Duration::from_millis(50) >= SHORT,
            "HTTP/2 connection to {path} closed after {elapsed:?}"
        );
    }
    metrics.stop().await?;
    service.stop().await
}

/// The settings (identifier, value) of the first SETTINGS frame the server sends on `stream`.
async fn server_settings(stream: &mut TcpStream) -> TestResult<Vec<(u16, u32)>> {
    let mut header = [0_u8; 9];
    stream.read_exact(&mut header).await?;
    if header[3] != 4 {
        return Err(format!("the server's first frame is not SETTINGS: {header:?}").into());
    }
    let length =
        usize::from(header[0]) << 16 | usize::from(header[1]) << 8 | usize::from(header[2]);
    let mut payload = vec![0_u8; length];
    stream.read_exact(&mut payload).await?;
    Ok(payload
        .chunks_exact(6)
        .map(|entry| {
            (
                u16::from_be_bytes([entry[0], entry[1]]),
                u32::from_be_bytes([entry[2], entry[3], entry[4], entry[5]]),
            )
        })
        .collect())
}

#[tokio::test]
async fn http2_streams_per_connection_and_header_sizes_are_capped() -> TestResult {
    const MAX_CONCURRENT_STREAMS: u16 = 0x3;
    const MAX_HEADER_LIST_SIZE: u16 = 0x6;
    let metrics = metrics_server(
        ServeOptions::default()
            .max_streams_per_connection(7)
            .max_header_bytes(16 * 1024),
    )
    .await?;
    let default_service = TestService::start().await?;
    for (addr, streams, header_bytes) in [
        (metrics.addr(), 7, 16 * 1024),
        (default_service.addr(), 100, 32 * 1024),
    ] {
        let mut stream = TcpStream::connect(addr).await?;
        stream.write_all(PREFACE).await?;
        stream.write_all(&EMPTY_SETTINGS).await?;
        let settings = server_settings(&mut stream).await?;
        let value = |id| {
            settings
                .iter()
                .find(|(known, _)| *known == id)
                .map(|(_, value)| *value)
        };
        assert_eq!(
            value(MAX_CONCURRENT_STREAMS),
            Some(streams),
            "{addr}: {settings:?}"
        );
        assert_eq!(
            value(MAX_HEADER_LIST_SIZE),
            Some(header_bytes),
            "{addr}: {settings:?}"
        );
    }
    // An HTTP/1 head over the limit is refused with 431.
    let big_header = format!(
        "GET /metrics HTTP/1.1\r\nHost: t\r\nX-Filler: {}\r\n\r\n",
        "x".repeat(20 * 1024)
    );
    let reply = raw::exchange(metrics.addr(), big_header.as_bytes(), PATIENCE).await?;
    assert_eq!(reply.status(), Some(431), "{}", reply.text());
    metrics.stop().await?;
    default_service.stop().await
}

/// Connects `count` sockets that send nothing, one after the other, so the first is the one quiet longest.
async fn idle_sockets(addr: std::net::SocketAddr, count: usize) -> TestResult<Vec<TcpStream>> {
    let mut sockets = Vec::new();
    for _ in 0..count {
        sockets.push(TcpStream::connect(addr).await?);
        // Accepted in this order by the server, so "quiet longest" is well defined.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(sockets)
}

#[tokio::test]
async fn a_full_server_closes_the_connection_quiet_longest_and_serves_the_newcomer() -> TestResult {
    let metrics = metrics_server(ServeOptions::default().max_connections(4)).await?;
    let mut sockets = idle_sockets(metrics.addr(), 4).await?;
    // A fifth connection, one that sends a request, is served...
    let reply = raw::exchange(
        metrics.addr(),
        b"GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        PATIENCE,
    )
    .await?;
    assert_eq!(reply.status(), Some(200), "{}", reply.text());
    // ... by closing the first idle socket, and only that one.
    assert!(
        closed_within(&mut sockets[0], PATIENCE).await.is_some(),
        "the connection quiet longest was not closed"
    );
    for (index, socket) in sockets.iter_mut().enumerate().skip(1) {
        assert!(
            closed_within(socket, Duration::from_millis(200))
                .await
                .is_none(),
            "idle connection {index} was closed too"
        );
    }
    metrics.stop().await
}

#[tokio::test]
async fn a_running_request_is_not_closed_while_an_idle_connection_can_go() -> TestResult {
    let server = ServeOptions::default().max_connections(3);
    let service = TestService::start_with(Options::default().server(server)).await?;
    let addr = service.addr();
    // The oldest connection has a request running: a body announced but not all sent.
    let mut busy = TcpStream::connect(addr).await?;
    busy.write_all(
        b"POST /accounts HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n{\"na",
    )
    .await?;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut idle = idle_sockets(addr, 2).await?;
    let reply = raw::exchange(
        addr,
        b"GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        PATIENCE,
    )
    .await?;
    assert_eq!(reply.status(), Some(200), "{}", reply.text());
    assert!(
        closed_within(&mut idle[0], PATIENCE).await.is_some(),
        "the older idle connection was not closed"
    );
    assert!(
        closed_within(&mut busy, Duration::from_millis(200))
            .await
            .is_none(),
        "the connection with a running request was closed"
    );
    // Its request still completes.
    busy.write_all(b"me\":\"Busy Bee\"}    ").await?;
    let mut answer = [0_u8; 12];
    busy.read_exact(&mut answer).await?;
    assert_eq!(&answer, b"HTTP/1.1 201");
    service.stop().await
}

#[tokio::test]
async fn bodies_beyond_the_budget_get_503_with_retry_after() -> TestResult {
    let budget = 64 * 1024;
    let service = TestService::start_with(Options::default().body_budget(budget)).await?;
    let addr = service.addr();
    // Two bodies of 100 kB announced, 30 kB of each sent, then held: their buffers (30 to 32 KiB each, depending
    // on how the bytes arrive) take all but at most 5.5 KiB of the budget.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(addr).await?;
        stream
            .write_all(
                b"POST /accounts HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n\
                  Content-Length: 100000\r\n\r\n",
            )
            .await?;
        stream.write_all(&vec![b' '; 30_000]).await?;
        held.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // A body of 10 kB needs at least 8 KiB.
    let late = format!(r#"{{"name":"Late Comer"}}{}"#, " ".repeat(10_000));
    let reply = service
        .client()
        .send_json(Method::POST, "/accounts", &late)
        .await?;
    expect_status(&reply, StatusCode::SERVICE_UNAVAILABLE)?;
    assert_eq!(reply.header("retry-after"), Some("1"));
    assert!(
        reply.text().contains("too many request bodies"),
        "{}",
        reply.text()
    );
    // The held bodies are still being received.
    for stream in &mut held {
        assert!(closed_within(stream, Duration::from_millis(100))
            .await
            .is_none());
    }
    // Routes without a body are not affected.
    expect_status(
        &service.client().get("/accounts/10001").await?,
        StatusCode::OK,
    )?;
    // Once the held body is gone, its share of the budget is back.
    drop(held);
    let created =
        routemeter_tests::process::eventually("the budget to come back", PATIENCE, || async {
            let reply = service
                .client()
                .send_json(Method::POST, "/accounts", &late)
                .await
                .ok()?;
            (reply.status == StatusCode::CREATED).then_some(reply)
        })
        .await?;
    expect_status(&created, StatusCode::CREATED)?;
    service.stop().await
}

#[tokio::test]
async fn error_answers_quote_only_a_short_escaped_excerpt() -> TestResult {
    let service = TestService::start().await?;
    let client = service.client();
    let long = "7".repeat(20 * 1024);
    let short = |reply: &Reply| reply.body.len() < 200;

    // A request head over the limit (32 KiB by default) is refused with nothing echoed.
    let reply = client.get(&format!("/{}", "7".repeat(60 * 1024))).await?;
    expect_status(&reply, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)?;
    assert!(short(&reply), "431 of {} bytes", reply.body.len());

    let reply = client.get(&format!("/{long}")).await?;
    expect_status(&reply, StatusCode::NOT_FOUND)?;
    assert!(short(&reply), "404 of {} bytes", reply.body.len());
    assert!(reply.text().starts_with("no route for /777"));

    let reply = client.get(&format!("/accounts/x{long}")).await?;
    expect_status(&reply, StatusCode::BAD_REQUEST)?;
    assert!(short(&reply), "400 of {} bytes", reply.body.len());

    let reply = client.get(&format!("/testability/healthy/{long}")).await?;
    expect_status(&reply, StatusCode::BAD_REQUEST)?;
    assert!(short(&reply), "400 of {} bytes", reply.body.len());

    let method = Method::from_bytes("M".repeat(4 * 1024).as_bytes())?;
    let reply = client.request(method, "/accounts", &[], "").await?;
    expect_status(&reply, StatusCode::METHOD_NOT_ALLOWED)?;
    assert!(short(&reply), "405 of {} bytes", reply.body.len());

    let content_type = format!("text/{}", "x".repeat(20 * 1024));
    let reply = client
        .request(
            Method::POST,
            "/accounts",
            &[("content-type", &content_type)],
            "{}",
        )
        .await?;
    expect_status(&reply, StatusCode::UNSUPPORTED_MEDIA_TYPE)?;
    assert!(short(&reply), "415 of {} bytes", reply.body.len());

    // GraphQL errors quote the query and its variables; each is cut short.
    let field = "f".repeat(10 * 1024);
    let query = serde_json::json!({ "query": format!("{{ {field} }}") }).to_string();
    let reply = client.send_json(Method::POST, "/graphql", &query).await?;
    expect_status(&reply, StatusCode::OK)?;
    assert!(
        reply.body.len() < 1024,
        "GraphQL error of {} bytes",
        reply.body.len()
    );
    let query = serde_json::json!({
        "query": "query($id: String) { Account(id: $id) { id } }",
        "variables": { "id": format!("x{long}") },
    })
    .to_string();
    let reply = client.send_json(Method::POST, "/graphql", &query).await?;
    expect_status(&reply, StatusCode::OK)?;
    assert!(
        reply.body.len() < 1024,
        "GraphQL error of {} bytes",
        reply.body.len()
    );
    assert!(reply.text().contains("decimal number"), "{}", reply.text());
    service.stop().await
}
