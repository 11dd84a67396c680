//! The accountservice's streamed route, `GET /accounts/export`: every account as one line of JSON per frame,
//! measured to the last line (the service meters response bodies), paced with `?pace_ms=N`, and counted
//! `aborted` when the client leaves mid-export; over HTTP/1.1 and HTTP/2.

use std::time::{Duration, Instant};

use accountservice::Options;
use routemeter_tests::exposition::Exposition;
use routemeter_tests::process::eventually;
use routemeter_tests::series::HandlerSeries;
use routemeter_tests::service::TestService;
use routemeter_tests::streaming::{collect, get, read, PROTOCOLS};
use routemeter_tests::TestResult;

const EXPORT: HandlerSeries = HandlerSeries::new(
    "accountservice",
    "ExportAccounts",
    "GET",
    "/accounts/export",
);

/// The seeded store's accounts.
const ACCOUNTS: usize = 100;

const PATIENCE: Duration = Duration::from_secs(15);

/// Waits until the export has one more request ended with `code` than `before` shows, with its size observed and
/// nothing in flight.
async fn ended(service: &TestService, before: &Exposition, code: &str) -> TestResult<Exposition> {
    let wanted = EXPORT.requests(before, code) + 1.0;
    let sized = EXPORT.count(before, "size") + 1.0;
    eventually(
        &format!("the export to end with {code}"),
        PATIENCE,
        || async {
            let now = service.client().scrape().await.ok()?;
            (EXPORT.requests(&now, code) == wanted
                && EXPORT.count(&now, "size") == sized
                && EXPORT.in_flight(&now) == Some(0.0))
            .then_some(now)
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_export_streams_every_account_and_is_measured_to_its_last_line() -> TestResult {
    let service = TestService::start_exclusive(Options::default()).await?;
    for protocol in PROTOCOLS {
        // Whole and unpaced: one JSON account per line, the size recorded is the body's.
        let before = service.client().scrape().await?;
        let mut receiving = get(service.addr(), protocol, "/accounts/export").await?;
        assert_eq!(receiving.status, 200, "{protocol:?}");
        assert_eq!(
            receiving.headers.get("content-type").map(|v| v.as_bytes()),
            Some(&b"application/x-ndjson"[..])
        );
        let body = collect(&mut receiving, None).await?;
        let lines: Vec<serde_json::Value> = body
            .split(|byte| *byte == b'\n')
            .filter(|line| !line.is_empty())
            .map(serde_json::from_slice)
            .collect::<Result<_, _>>()?;
        assert_eq!(lines.len(), ACCOUNTS, "{protocol:?}");
        assert_eq!(lines[0]["id"], "10000");
        assert_eq!(lines[ACCOUNTS - 1]["name"], "Person_99");
        let after = ended(&service, &before, "200").await?;
        let size = EXPORT.sum(&after, "size") - EXPORT.sum(&before, "size");
        assert_eq!(size, body.len() as f64, "{protocol:?}");

        // Paced: the duration covers every pause between the lines.
        let before = after;
        let started = Instant::now();
        let mut receiving = get(service.addr(), protocol, "/accounts/export?pace_ms=5").await?;
        assert_eq!(
            read(&mut receiving, None).await?,
            body.len(),
            "{protocol:?}"
        );
        let took = started.elapsed();
        let after = ended(&service, &before, "200").await?;
        let duration = EXPORT.sum(&after, "duration") - EXPORT.sum(&before, "duration");
        let pauses = Duration::from_millis(5) * (ACCOUNTS as u32 - 1);
        assert!(
            duration >= pauses.as_secs_f64() && duration <= took.as_secs_f64(),
            "{protocol:?}: {duration} s recorded, {pauses:?} of pauses, {took:?} seen by the client"
        );

        // Abandoned after three lines: aborted, with the bytes sent so far.
        let before = after;
        let mut receiving = get(service.addr(), protocol, "/accounts/export?pace_ms=20").await?;
        let first = read(&mut receiving, Some(3)).await?;
        drop(receiving);
        let after = ended(&service, &before, "aborted").await?;
        let size = EXPORT.sum(&after, "size") - EXPORT.sum(&before, "size");
        assert!(
            size >= first as f64 && size < body.len() as f64,
            "{protocol:?}: {size} bytes recorded, {first} read before leaving, {} in all",
            body.len()
        );
    }
    // A pace out of range is refused before anything is streamed.
    let reply = service
        .client()
        .get("/accounts/export?pace_ms=5000")
        .await?;
    assert_eq!(reply.status, 400);
    assert!(reply.text().contains("pace_ms"), "{}", reply.text());
    service.stop().await
}
