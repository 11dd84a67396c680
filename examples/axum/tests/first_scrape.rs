//! `/metrics` of a fresh process: every handler's series at zero before any request, then each request counted by
//! the status of the response axum made of its handler's output, and only the monitored routes counted.
//!
//! One test in this file: it needs a process in which nothing was recorded before it.

mod common;
mod in_process;

use std::time::Duration;

use common::{get, scrape, send, send_json, TestResult};
use http::{Method, StatusCode};
use in_process::Service;

/// The monitored handlers, their routes and methods, as the hyper example names them.
const HANDLERS: [(&str, &str, &str); 5] = [
    ("GetAccount", "GET", "/accounts/{accountId}"),
    ("StoreAccount", "POST", "/accounts"),
    ("UpdateAccount", "PUT", "/accounts"),
    ("ExportAccounts", "GET", "/accounts/export"),
    ("GraphQL", "POST", "/graphql"),
];

#[tokio::test]
async fn every_handler_starts_at_zero_then_counts_by_the_converted_status() -> TestResult {
    let service = Service::start().await?;
    let addr = service.addr();

    let first = scrape(addr).await?;
    for (handler, method, route) in HANDLERS {
        let family = format!("accountservice_{handler}");
        assert!(
            first
                .text
                .contains(&format!("# HELP {family} {method} {route}\n")),
            "{family} has the route as its HELP"
        );
        assert!(first.text.contains(&format!("# TYPE {family} summary\n")));
        for service in ["duration", "size"] {
            for quantile in ["0.5", "0.9", "0.99"] {
                let value = first.value(&family, &[("service", service), ("quantile", quantile)]);
                assert!(
                    value.is_some_and(f64::is_nan),
                    "{family}{{service={service},quantile={quantile}}} is NaN before any request, got {value:?}"
                );
            }
            assert_eq!(
                first.value(&format!("{family}_sum"), &[("service", service)]),
                Some(0.0)
            );
            assert_eq!(
                first.value(&format!("{family}_count"), &[("service", service)]),
                Some(0.0)
            );
        }
        assert_eq!(first.in_flight(handler), Some(0.0), "{handler} in flight");
    }
    assert!(
        first
            .samples
            .iter()
            .all(|sample| sample.name != "accountservice_requests_total" || sample.value == 0.0),
        "no request counted before the first request"
    );

    // Requests to every monitored route, with the statuses the hyper example answers.
    let found = get(addr, "/accounts/10001").await?;
    assert_eq!(found.status, StatusCode::OK);
    let found_again = get(addr, "/accounts/10002").await?;
    let unknown = get(addr, "/accounts/1").await?;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let invalid = get(addr, "/accounts/abc").await?;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
    let created = send_json(addr, Method::POST, "/accounts", r#"{"name":"Ada"}"#).await?;
    assert_eq!(created.status, StatusCode::CREATED);
    let not_json = send(
        addr,
        Method::POST,
        "/accounts",
        &[("content-type", "text/plain")],
        "Ada",
    )
    .await?;
    assert_eq!(not_json.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let nameless = send_json(addr, Method::POST, "/accounts", "{}").await?;
    assert_eq!(nameless.status, StatusCode::BAD_REQUEST);
    let updated = send_json(
        addr,
        Method::PUT,
        "/accounts",
        r#"{"id":"10003","name":"B"}"#,
    )
    .await?;
    assert_eq!(updated.status, StatusCode::OK);
    let query = r#"{"query":"{ Account(id: \"10001\") { id } }"}"#;
    let graphql = send_json(addr, Method::POST, "/graphql", query).await?;
    assert_eq!(graphql.status, StatusCode::OK);
    let export = get(addr, "/accounts/export").await?;
    assert_eq!(export.status, StatusCode::OK);
    let bad_pace = get(addr, "/accounts/export?pace_ms=soon").await?;
    assert_eq!(bad_pace.status, StatusCode::BAD_REQUEST);
    // Not monitored: routes without the attribute, unknown paths, wrong methods.
    for path in [
        "/health",
        "/testability/healthy/true",
        "/nowhere",
        "/accounts/1/2",
    ] {
        get(addr, path).await?;
    }
    send(addr, Method::DELETE, "/accounts/10001", &[], "").await?;

    // The counts land when each body has ended, which for these whole bodies is with the last byte received;
    // wait a little for the export's.
    let expected = [
        ("GetAccount", "200", 2.0),
        ("GetAccount", "404", 1.0),
        ("GetAccount", "400", 1.0),
        ("StoreAccount", "201", 1.0),
        ("StoreAccount", "415", 1.0),
        ("StoreAccount", "400", 1.0),
        ("UpdateAccount", "200", 1.0),
        ("GraphQL", "200", 1.0),
        ("ExportAccounts", "200", 1.0),
        ("ExportAccounts", "400", 1.0),
    ];
    let after = common::scrape_until(
        addr,
        "every request counted",
        Duration::from_secs(5),
        |metrics| {
            expected
                .iter()
                .all(|(handler, code, count)| metrics.requests(handler, code) == *count)
        },
    )
    .await?;
    let counted: Vec<(String, f64)> = after
        .samples
        .iter()
        .filter(|sample| sample.name == "accountservice_requests_total" && sample.value > 0.0)
        .map(|sample| {
            (
                sample
                    .labels
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(","),
                sample.value,
            )
        })
        .collect();
    assert_eq!(
        counted.len(),
        expected.len(),
        "nothing else was counted: {counted:#?}"
    );
    for (handler, method, route) in HANDLERS {
        for sample in after.samples.iter().filter(|sample| {
            sample.name == "accountservice_requests_total"
                && sample
                    .labels
                    .iter()
                    .any(|(k, v)| k == "handler" && v == handler)
        }) {
            assert!(sample
                .labels
                .contains(&("method".to_owned(), method.to_owned())));
            assert!(sample
                .labels
                .contains(&("route".to_owned(), route.to_owned())));
        }
        assert_eq!(
            after.in_flight(handler),
            Some(0.0),
            "{handler} in flight after"
        );
    }

    // The size summary holds the bytes of the bodies sent, the duration summary one observation per request.
    let get_account_bytes: usize = [&found, &found_again, &unknown, &invalid]
        .iter()
        .map(|reply| reply.body.len())
        .sum();
    assert_eq!(after.sum("GetAccount", "size"), get_account_bytes as f64);
    assert_eq!(after.count("GetAccount", "duration"), 4.0);
    assert_eq!(
        after.sum("ExportAccounts", "size"),
        (export.body.len() + bad_pace.body.len()) as f64
    );
    assert_eq!(after.count("ExportAccounts", "size"), 2.0);

    service.stop().await
}
