//! The streamed export through the router's `MeteredLayer`: timed to its last frame, and counted `aborted` when its
//! client leaves before the end (over HTTP/1.1 and HTTP/2), with nothing left in flight.
//!
//! One test in this file, so that no other request of the process moves the export's series meanwhile.

mod common;
mod in_process;

use std::time::{Duration, Instant};

use accountservice_core::store::SEEDED_ACCOUNTS;
use bytes::Bytes;
use common::{get, open_with, scrape, scrape_until, Protocol, TestResult, EXCHANGE_TIMEOUT};
use http::{Method, StatusCode};
use http_body_util::BodyExt;
use in_process::Service;

const HANDLER: &str = "ExportAccounts";

#[tokio::test]
async fn the_export_is_measured_to_its_last_frame_and_a_client_leaving_counts_aborted() -> TestResult
{
    let service = Service::start().await?;
    let addr = service.addr();
    let before = scrape(addr).await?;

    // A whole export, 10 ms between frames.
    let pace = Duration::from_millis(10);
    let started = Instant::now();
    let export = get(
        addr,
        &format!("/accounts/export?pace_ms={}", pace.as_millis()),
    )
    .await?;
    let took = started.elapsed();
    assert_eq!(export.status, StatusCode::OK);
    let frames = export.text().lines().count();
    assert_eq!(frames as u64, SEEDED_ACCOUNTS, "one line per account");
    // No pause before the first frame.
    let pauses = pace * (frames as u32 - 1);
    let done = scrape_until(
        addr,
        "the export counted 200",
        EXCHANGE_TIMEOUT,
        |metrics| metrics.requests(HANDLER, "200") == before.requests(HANDLER, "200") + 1.0,
    )
    .await?;
    let duration = done.sum(HANDLER, "duration") - before.sum(HANDLER, "duration");
    assert!(
        duration >= pauses.as_secs_f64(),
        "the duration runs to the last frame: {duration} s recorded, the pauses alone take {pauses:?}"
    );
    assert!(
        duration <= took.as_secs_f64() + 0.1,
        "the duration ends with the body: {duration} s recorded, the client took {took:?}"
    );
    assert_eq!(
        done.sum(HANDLER, "size") - before.sum(HANDLER, "size"),
        export.body.len() as f64,
        "the size is every byte sent"
    );
    assert_eq!(done.in_flight(HANDLER), Some(0.0));

    // An export its client leaves after the first frame, 50 ms between frames (5 s in all), over each protocol:
    // over HTTP/1.1 the connection closes, over HTTP/2 the stream is reset.
    for (abandoned_earlier, protocol) in [Protocol::Http1, Protocol::Http2].into_iter().enumerate()
    {
        let before_aborted = before.requests(HANDLER, "aborted") + abandoned_earlier as f64;
        let response = open_with(
            protocol,
            addr,
            Method::GET,
            "/accounts/export?pace_ms=50",
            &[],
            Bytes::new(),
        )
        .await?;
        assert_eq!(response.status(), StatusCode::OK, "{protocol:?}");
        let mut body = response.into_body();
        let first = tokio::time::timeout(EXCHANGE_TIMEOUT, body.frame())
            .await?
            .ok_or("the export ended before its first frame")??;
        assert!(first.data_ref().is_some_and(|data| !data.is_empty()));
        let during = scrape(addr).await?;
        assert_eq!(
            during.in_flight(HANDLER),
            Some(1.0),
            "a response still sending its body is in flight ({protocol:?})"
        );
        assert_eq!(during.requests(HANDLER, "aborted"), before_aborted);
        drop(body);
        let what = format!("the abandoned export counted aborted ({protocol:?})");
        scrape_until(addr, &what, EXCHANGE_TIMEOUT, |metrics| {
            metrics.requests(HANDLER, "aborted") == before_aborted + 1.0
                && metrics.in_flight(HANDLER) == Some(0.0)
        })
        .await?;
    }
    let left = scrape(addr).await?;
    assert_eq!(
        left.requests(HANDLER, "200"),
        before.requests(HANDLER, "200") + 1.0,
        "the abandoned exports are not counted as served"
    );
    assert_eq!(
        left.count(HANDLER, "duration") - before.count(HANDLER, "duration"),
        3.0,
        "every export is timed"
    );

    service.stop().await
}
