//! The families of long-lived routes and of the opt-in histograms, in the strict formats: OpenMetrics read by
//! the Python client's parser, the text format by `promtool check metrics`. Served through `Metered`, with one
//! stream closed and one still open when scraped.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response};
use http_body::{Body, Frame};
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use routemeter::Exporter;
use routemeter_tests::client::Client;
use routemeter_tests::process::{eventually, required_program};
use routemeter_tests::server::TestServer;
use routemeter_tests::streaming::{get, read, Protocol};
use routemeter_tests::strict::{python_with_the_parser, read_openmetrics, run};
use routemeter_tests::TestResult;

/// One event, then nothing until the client leaves.
struct Endless(Option<Bytes>);

impl Body for Endless {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.0.take() {
            Some(event) => Poll::Ready(Some(Ok(Frame::data(event)))),
            None => Poll::Pending,
        }
    }
}

type Answer = Response<Either<Full<Bytes>, Endless>>;

#[routemeter::instrumented(name = "events", route = "GET /events", stream = true)]
async fn events() -> Answer {
    Response::new(Either::Right(Endless(Some(Bytes::from_static(
        b"data: one\n\n",
    )))))
}

#[routemeter::instrumented(
    name = "upload",
    route = "POST /upload",
    time_to_headers = true,
    request_size = true
)]
async fn upload() -> Answer {
    Response::new(Either::Left(Full::new(Bytes::from_static(b"stored\n"))))
}

async fn serve(exporter: Exporter) -> TestResult<TestServer> {
    TestServer::start_metered(move |request: Request<Incoming>| {
        let exporter = exporter.clone();
        async move {
            match request.uri().path() {
                "/metrics" => exporter.respond(&request).map(Either::Left),
                "/events" => events().await,
                _ => upload().await,
            }
        }
    })
    .await
}

fn open_streams(text: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix("stream_families_streams_open{handler=\"events\"} "))
        .and_then(|value| value.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_and_opt_in_families_pass_the_strict_readers() -> TestResult {
    let Some(python) = python_with_the_parser()? else {
        return Ok(());
    };
    let Some(promtool) = required_program("promtool", "prometheus")? else {
        return Ok(());
    };
    let exporter = routemeter::install()?;
    let server = serve(exporter).await?;
    let client = Client::new(server.addr());
    client
        .request(Method::POST, "/upload", &[], vec![b'u'; 300])
        .await?;
    // One stream that ends (its client leaves), one still open while the formats are read.
    let mut closed = get(server.addr(), Protocol::Http1, "/events").await?;
    read(&mut closed, Some(1)).await?;
    drop(closed);
    let mut open = get(server.addr(), Protocol::Http2, "/events").await?;
    read(&mut open, Some(1)).await?;
    eventually("one stream open", Duration::from_secs(15), || async {
        let text = client.get("/metrics").await.ok()?.text();
        (open_streams(&text) == Some(1.0) && text.contains("stream_duration_seconds_count"))
            .then_some(())
    })
    .await?;

    let (openmetrics, parsed, report) = read_openmetrics(&client, &python).await?;
    assert!(parsed, "{report}\n{}", openmetrics.text());
    for family in [
        "family stream_families_streams_open gauge - 1",
        "family stream_families_stream_duration_seconds summary - 3",
        "family stream_families_stream_sent_bytes counter - 2",
        "family stream_families_time_to_headers_seconds histogram seconds 15",
        "family stream_families_request_size_bytes histogram bytes 14",
    ] {
        assert!(
            report.lines().any(|line| line == family),
            "no `{family}` in:\n{report}\n{}",
            openmetrics.text()
        );
    }

    let text = client.get("/metrics").await?;
    let (checked, report) = run(&promtool, &["check", "metrics"], &text.body)?;
    // The tutorial's CamelCase names of the accountservice handlers the helpers link in are
    // the only complaint allowed.
    for line in report.lines().filter(|line| !line.trim().is_empty()) {
        assert!(
            line.starts_with("accountservice_") && line.contains("camelCase"),
            "promtool: {line}\n{report}\n{}",
            text.text()
        );
    }
    assert!(checked || !report.is_empty(), "{report}");
    drop(open);
    server.stop().await
}
