//! Responses measured to the end of their body, through `routemeter::Metered`, over HTTP/1.1 and HTTP/2: a paced
//! stream is timed to its last frame with the exact bytes sent; a client that goes away mid-body is counted
//! `aborted`; a body that fails is `body_error`; a body of exact length that is never polled past its last frame
//! still ends; the in-flight gauge covers the body and returns to zero.
//!
//! A real hyper server on 127.0.0.1 serves handlers instrumented in this file (namespace `body_end`), each used by
//! one test only, so every count compared before and after a request is exact.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use http_body::{Body, Frame, SizeHint};
use http_body_util::Full;
use hyper::body::Incoming;
use routemeter::Exporter;
use routemeter_tests::body_checks;
use routemeter_tests::exposition::Exposition;
use routemeter_tests::paced::{Paced, FRAME};
use routemeter_tests::process::eventually;
use routemeter_tests::series::{ended, metrics, HandlerSeries};
use routemeter_tests::server::TestServer;
use routemeter_tests::streaming::{get, read, PROTOCOLS};
use routemeter_tests::TestResult;

/// How long a test waits for something that should happen at once.
const PATIENCE: Duration = Duration::from_secs(15);

const PACED: HandlerSeries = HandlerSeries::new("body_end", "Paced", "GET", "/paced");
const ABANDONED: HandlerSeries = HandlerSeries::new("body_end", "Abandoned", "GET", "/abandoned");
const FAILING: HandlerSeries = HandlerSeries::new("body_end", "Failing", "GET", "/failing");
const EXACT: HandlerSeries = HandlerSeries::new("body_end", "Exact", "GET", "/exact");

/// One frame of a length announced in advance, after which it never says it has ended: a server that trusts the
/// length stops polling it, and the meter must see the end anyway.
struct ExactThenSilent {
    data: Option<Bytes>,
    length: u64,
}

impl Body for ExactThenSilent {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.data.take() {
            Some(data) => Poll::Ready(Some(Ok(Frame::data(data)))),
            None => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        false
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.length)
    }
}

type Answer = Response<http_body_util::Either<Paced, ExactThenSilent>>;

#[routemeter::instrumented(name = "Paced", route = "GET /paced")]
async fn paced(frames: usize, pace: Duration) -> Answer {
    Response::new(http_body_util::Either::Left(Paced::new(frames, pace, None)))
}

#[routemeter::instrumented(name = "Abandoned", route = "GET /abandoned")]
async fn abandoned(frames: usize, pace: Duration) -> Answer {
    Response::new(http_body_util::Either::Left(Paced::new(frames, pace, None)))
}

#[routemeter::instrumented(name = "Failing", route = "GET /failing")]
async fn failing(fail_at: usize) -> Answer {
    let body = Paced::new(10, Duration::from_millis(1), Some(fail_at));
    Response::new(http_body_util::Either::Left(body))
}

#[routemeter::instrumented(name = "Exact", route = "GET /exact")]
async fn exact(length: usize) -> Answer {
    Response::new(http_body_util::Either::Right(ExactThenSilent {
        data: Some(Bytes::from(vec![b'y'; length])),
        length: length as u64,
    }))
}

#[routemeter::instrumented(name = "Events", route = "GET /events", stream = true)]
async fn events(frames: usize, pace: Duration) -> Answer {
    Response::new(http_body_util::Either::Left(Paced::new(frames, pace, None)))
}

#[routemeter::instrumented(
    name = "Upload",
    route = "POST /upload",
    time_to_headers = true,
    request_size = true
)]
async fn upload(frames: usize, pace: Duration) -> Answer {
    Response::new(http_body_util::Either::Left(Paced::new(frames, pace, None)))
}

/// Routes by path; the query says how many frames, how fast, where to fail.
async fn route(request: Request<Incoming>) -> Answer {
    let query = request.uri().query().unwrap_or_default().to_owned();
    let number = |key: &str, default: usize| {
        query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(name, _)| *name == key)
            .and_then(|(_, value)| value.parse().ok())
            .unwrap_or(default)
    };
    let pace = Duration::from_millis(number("pace_ms", 0) as u64);
    match request.uri().path() {
        "/paced" => paced(number("frames", 1), pace).await,
        "/abandoned" => abandoned(number("frames", 1), pace).await,
        "/failing" => failing(number("fail_at", 0)).await,
        "/events" => events(number("frames", 1), pace).await,
        "/upload" => upload(number("frames", 1), pace).await,
        _ => exact(number("length", 0)).await,
    }
}

async fn server() -> TestResult<(Exporter, TestServer)> {
    let exporter = routemeter::install()?;
    Ok((exporter, TestServer::start_metered(route).await?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paced_body_is_timed_to_its_last_frame_with_the_bytes_sent() -> TestResult {
    let (exporter, server) = server().await?;
    let path = "/paced?frames=5&pace_ms=40";
    body_checks::paced_body_is_timed_to_its_last_frame(
        &exporter,
        server.addr(),
        PACED,
        path,
        5,
        Duration::from_millis(40),
    )
    .await?;
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_leaves_mid_body_is_counted_aborted() -> TestResult {
    let (exporter, server) = server().await?;
    let path = "/abandoned?frames=200&pace_ms=20";
    body_checks::client_leaving_mid_body_is_aborted(&exporter, server.addr(), ABANDONED, path, 200)
        .await?;
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_fails_is_counted_body_error() -> TestResult {
    let (exporter, server) = server().await?;
    body_checks::failing_body_is_body_error(
        &exporter,
        server.addr(),
        FAILING,
        "/failing?fail_at=2",
    )
    .await?;
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_of_exact_length_ends_without_a_final_poll() -> TestResult {
    let (exporter, server) = server().await?;
    for protocol in PROTOCOLS {
        let before = metrics(&exporter)?;
        let mut receiving = get(server.addr(), protocol, "/exact?length=4321").await?;
        assert_eq!(read(&mut receiving, Some(1)).await?, 4321);
        // The server never polls the body again; the request must still end as a 200 of 4321 bytes, while the
        // connection is still open.
        let after = ended(&exporter, EXACT, &before, "200").await?;
        let size = EXACT.sum(&after, "size") - EXACT.sum(&before, "size");
        assert_eq!(size, 4321.0, "{protocol:?}");
        assert_eq!(EXACT.requests(&after, "aborted"), 0.0, "{protocol:?}");
        drop(receiving);
    }
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_bodies_are_counted_as_without_the_meter() -> TestResult {
    let exporter = routemeter::install()?;
    let series = HandlerSeries::new("body_end", "Whole", "GET", "/whole");
    let plain = TestServer::start(|_| whole()).await?;
    let metered = TestServer::start_metered(|_| whole()).await?;
    for server in [&plain, &metered] {
        let before = metrics(&exporter)?;
        let reply = server.client().get("/whole").await?;
        assert_eq!(reply.text(), "whole");
        let after = ended(&exporter, series, &before, "200").await?;
        assert_eq!(
            series.sum(&after, "size") - series.sum(&before, "size"),
            5.0
        );
    }
    plain.stop().await?;
    metered.stop().await
}

#[routemeter::instrumented(name = "Whole", route = "GET /whole")]
async fn whole() -> Response<Full<Bytes>> {
    Response::new(Full::new(Bytes::from_static(b"whole")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_lived_route_counts_its_streams_apart_from_its_latency() -> TestResult {
    let (exporter, server) = server().await?;
    let events = HandlerSeries::new("body_end", "Events", "GET", "/events");
    let open = |metrics: &Exposition| {
        metrics.value_or_zero("body_end_streams_open", &[("handler", "Events")])
    };
    for protocol in PROTOCOLS {
        let before = metrics(&exporter)?;
        let mut receiving = get(server.addr(), protocol, "/events?frames=500&pace_ms=10").await?;
        let first = read(&mut receiving, Some(5)).await?;
        // Open: the request was counted at the headers, the stream is not over.
        let during = metrics(&exporter)?;
        assert_eq!(open(&during), 1.0, "{protocol:?}");
        assert_eq!(events.in_flight(&during), Some(0.0), "{protocol:?}");
        assert_eq!(
            events.requests(&during, "200"),
            events.requests(&before, "200") + 1.0
        );
        let held = Instant::now();
        tokio::time::sleep(Duration::from_millis(100)).await;
        drop(receiving);
        let lasted = held.elapsed();
        let after = eventually("the stream to close", PATIENCE, || async {
            let now = metrics(&exporter).ok()?;
            (open(&now) == 0.0).then_some(now)
        })
        .await?;
        let delta = |sample: &str| events.value(&after, sample) - events.value(&before, sample);
        assert_eq!(delta("stream_duration_seconds_count"), 1.0, "{protocol:?}");
        let lifetime = delta("stream_duration_seconds_sum");
        assert!(
            lifetime >= lasted.as_secs_f64(),
            "{protocol:?}: {lifetime} s < {lasted:?}"
        );
        let sent = delta("stream_sent_bytes_total");
        assert!(
            sent >= first as f64,
            "{protocol:?}: {sent} bytes sent, {first} read"
        );
        // The route's latency is the time to its headers, not its lifetime.
        let duration = events.sum(&after, "duration") - events.sum(&before, "duration");
        assert!(duration < lifetime, "{protocol:?}: {duration} s");
        assert_eq!(events.requests(&after, "aborted"), 0.0);
    }
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_to_headers_and_request_size_are_recorded_when_asked_for() -> TestResult {
    let (exporter, server) = server().await?;
    let upload = HandlerSeries::new("body_end", "Upload", "POST", "/upload");
    let before = metrics(&exporter)?;
    let reply = server
        .client()
        .request(
            http::Method::POST,
            "/upload?frames=3&pace_ms=50",
            &[],
            vec![b'z'; 1234],
        )
        .await?;
    assert_eq!(reply.body.len(), 3 * FRAME);
    let after = ended(&exporter, upload, &before, "200").await?;
    let delta = |sample: &str| upload.value(&after, sample) - upload.value(&before, sample);
    assert_eq!(delta("request_size_bytes_count"), 1.0);
    assert_eq!(delta("request_size_bytes_sum"), 1234.0);
    assert_eq!(delta("time_to_headers_seconds_count"), 1.0);
    let headers = delta("time_to_headers_seconds_sum");
    let duration = upload.sum(&after, "duration") - upload.sum(&before, "duration");
    // The body took three pauses of 50 ms after the headers.
    assert!(
        headers >= 0.0 && headers + 0.1 <= duration,
        "{headers} s to the headers, {duration} s to the end"
    );
    server.stop().await
}

#[routemeter::instrumented(
    name = "WholeUpload",
    route = "POST /whole-upload",
    time_to_headers = true,
    request_size = true
)]
async fn whole_upload() -> Response<Full<Bytes>> {
    Response::new(Full::new(Bytes::from_static(b"taken")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_body_still_gets_what_only_the_meter_records() -> TestResult {
    // A `Full` body ends with its response, so its handler records itself, unless it asks for
    // what only the meter sees: then the meter takes it, as for a streamed body.
    let exporter = routemeter::install()?;
    let server = TestServer::start_metered(|_| whole_upload()).await?;
    let series = HandlerSeries::new("body_end", "WholeUpload", "POST", "/whole-upload");
    let before = metrics(&exporter)?;
    let reply = server
        .client()
        .request(http::Method::POST, "/whole-upload", &[], vec![b'z'; 321])
        .await?;
    assert_eq!(reply.text(), "taken");
    let after = ended(&exporter, series, &before, "200").await?;
    let delta = |sample: &str| series.value(&after, sample) - series.value(&before, sample);
    assert_eq!(delta("request_size_bytes_sum"), 321.0);
    assert_eq!(delta("time_to_headers_seconds_count"), 1.0);
    assert_eq!(
        series.sum(&after, "size") - series.sum(&before, "size"),
        5.0
    );
    server.stop().await
}
