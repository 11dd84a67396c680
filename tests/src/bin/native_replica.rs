//! One replica of a service with native histograms on, for the end-to-end test that has a real
//! Prometheus scrape three of them (`tests/native_histograms_e2e.rs`).
//!
//! - `GET /sleep/{micros}` sleeps that long and answers 200 with `x-elapsed-ns`: how long the
//!   handler's body took by its own clock, so the test knows every duration observed;
//! - `GET /classic` answers at once, from a handler with classic buckets only, in the same
//!   histogram family;
//! - `GET /metrics` is routemeter's exporter.
//!
//! A request with a `traceparent` header runs in that trace's context, as behind a tracing
//! middleware, so its exemplar carries the trace id. The replica prints
//! `listening on http://ADDR` once it accepts connections, and serves until it is killed.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use opentelemetry::context::FutureExt as _;
use routemeter_tests::server::{text, TestServer};
use routemeter_tests::trace::context_of;
use routemeter_tests::TestResult;

#[routemeter::instrumented(name = "Sleep", route = "GET /sleep/{micros}")]
async fn sleep(micros: u64) -> Response<Full<Bytes>> {
    let started = Instant::now();
    tokio::time::sleep(Duration::from_micros(micros)).await;
    let elapsed = started.elapsed().as_nanos().to_string();
    let mut response = text(StatusCode::OK, "slept\n");
    if let Ok(value) = elapsed.parse() {
        response.headers_mut().insert("x-elapsed-ns", value);
    }
    response
}

#[routemeter::instrumented(name = "Classic", route = "GET /classic", histogram = true)]
async fn classic() -> Response<Full<Bytes>> {
    text(StatusCode::OK, "classic\n")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> TestResult {
    let exporter = routemeter::Config::new().native_histogram(true).install()?;
    let server = TestServer::start(move |request: Request<Incoming>| {
        let exporter = exporter.clone();
        async move {
            let path = request.uri().path().to_owned();
            if path == "/metrics" {
                return exporter.respond(&request);
            }
            let context = context_of(request.headers()).unwrap_or_default();
            if path == "/classic" {
                return classic().with_context(context).await;
            }
            match path.strip_prefix("/sleep/").map(str::parse::<u64>) {
                Some(Ok(micros)) => sleep(micros).with_context(context).await,
                _ => text(StatusCode::NOT_FOUND, "not found\n"),
            }
        }
    })
    .await?;
    println!("listening on http://{}", server.addr());
    std::future::pending::<()>().await;
    Ok(())
}
