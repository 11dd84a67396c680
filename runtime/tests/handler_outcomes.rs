//! How a request ends decides its `code`: status, `error`, `cancelled` or `panic`; the in-flight
//! gauge always returns to zero and every request is timed.

// One handler panics on purpose, and the test's helpers stop loudly.
#![allow(clippy::panic, clippy::expect_used)]

use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Waker};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};

type Reply = Response<Full<Bytes>>;

#[routemeter::instrumented(name = "Answer", route = "GET /answer/{status}")]
async fn answer(status: u16, body: &'static str) -> Result<Reply, Infallible> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    Ok(response)
}

#[routemeter::instrumented(name = "Fails", route = "POST /fails")]
async fn fails() -> Result<Reply, &'static str> {
    Err("no")
}

#[routemeter::instrumented(name = "Panics", route = "POST /panics")]
async fn panics(really: bool) -> Reply {
    if really {
        panic!("handler bug");
    }
    Response::new(Full::new(Bytes::new()))
}

#[routemeter::instrumented(name = "Waits", route = "GET /waits", histogram = true)]
async fn waits(gate: tokio::sync::oneshot::Receiver<()>) -> Reply {
    let _ = gate.await;
    Response::new(Full::new(Bytes::from_static(b"done")))
}

/// The value of the sample whose line starts with `prefix` (labels included), if any.
fn sample(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|line| line.starts_with(prefix) && line[prefix.len()..].starts_with(' '))
        .and_then(|line| line[prefix.len()..].trim().parse().ok())
}

fn run<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(future)
}

#[test]
fn outcomes_are_counted_and_in_flight_returns_to_zero() {
    let exporter = routemeter::install().expect("install");
    let before = exporter.render().expect("render");
    // Series exist before the first request.
    assert_eq!(
        sample(
            &before,
            "handler_outcomes_Answer_count{service=\"duration\"}"
        ),
        Some(0.0)
    );
    assert_eq!(
        sample(
            &before,
            "handler_outcomes_requests_in_flight{handler=\"Waits\"}"
        ),
        Some(0.0)
    );
    assert!(before.contains("handler_outcomes_Answer{service=\"duration\",quantile=\"0.99\"} NaN"));

    run(async {
        answer(200, "hello").await.expect("infallible");
        answer(404, "missing").await.expect("infallible");
        assert!(fails().await.is_err());
        panics(false).await;
    });

    // A panic inside the body unwinds through the instrumented future.
    let unwound = std::panic::catch_unwind(|| run(panics(true)));
    assert!(unwound.is_err());

    // A future dropped while pending is a cancelled request.
    let (_keep, gate) = tokio::sync::oneshot::channel::<()>();
    {
        let mut future = pin!(waits(gate));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(future.as_mut().poll(&mut cx).is_pending());
        let during = exporter.render().expect("render");
        assert_eq!(
            sample(
                &during,
                "handler_outcomes_requests_in_flight{handler=\"Waits\"}"
            ),
            Some(1.0)
        );
    }
    // A future that is never polled never started.
    let (_keep2, gate2) = tokio::sync::oneshot::channel::<()>();
    drop(waits(gate2));

    let text = exporter.render().expect("render");
    let total = |handler: &str, method: &str, route: &str, code: &str| {
        sample(
            &text,
            &format!("handler_outcomes_requests_total{{handler=\"{handler}\",method=\"{method}\",route=\"{route}\",code=\"{code}\"}}"),
        )
    };
    assert_eq!(total("Answer", "GET", "/answer/{status}", "200"), Some(1.0));
    assert_eq!(total("Answer", "GET", "/answer/{status}", "404"), Some(1.0));
    assert_eq!(total("Fails", "POST", "/fails", "error"), Some(1.0));
    assert_eq!(total("Panics", "POST", "/panics", "200"), Some(1.0));
    assert_eq!(total("Panics", "POST", "/panics", "panic"), Some(1.0));
    assert_eq!(total("Waits", "GET", "/waits", "cancelled"), Some(1.0));
    for handler in ["Answer", "Fails", "Panics", "Waits"] {
        let gauge = format!("handler_outcomes_requests_in_flight{{handler=\"{handler}\"}}");
        assert_eq!(sample(&text, &gauge), Some(0.0), "{handler}");
    }
    // Every request is timed; only answers with a known length have a size.
    assert_eq!(
        sample(&text, "handler_outcomes_Answer_count{service=\"duration\"}"),
        Some(2.0)
    );
    assert_eq!(
        sample(&text, "handler_outcomes_Answer_count{service=\"size\"}"),
        Some(2.0)
    );
    assert_eq!(
        sample(&text, "handler_outcomes_Answer_sum{service=\"size\"}"),
        Some(12.0)
    );
    assert_eq!(
        sample(&text, "handler_outcomes_Fails_count{service=\"duration\"}"),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, "handler_outcomes_Fails_count{service=\"size\"}"),
        Some(0.0)
    );
    assert_eq!(
        sample(&text, "handler_outcomes_Panics_count{service=\"duration\"}"),
        Some(2.0)
    );
    assert_eq!(
        sample(&text, "handler_outcomes_Waits_count{service=\"duration\"}"),
        Some(1.0)
    );
    // The cancelled request is in the opt-in histogram too; the others did not opt in.
    assert_eq!(
        sample(&text, "handler_outcomes_request_duration_seconds_count{handler=\"Waits\",method=\"GET\",route=\"/waits\"}"),
        Some(1.0)
    );
    assert!(!text.contains("request_duration_seconds_count{handler=\"Answer\""));
    // The quantiles now have values.
    let median = sample(
        &text,
        "handler_outcomes_Answer{service=\"size\",quantile=\"0.5\"}",
    );
    assert!(
        median.is_some_and(|size| (size - 5.0).abs() <= 0.05 || (size - 7.0).abs() <= 0.07),
        "{median:?}"
    );
}
