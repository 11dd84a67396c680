//! Behaviour tests of the accountservice example: real HTTP against the service running in this process on
//! 127.0.0.1:<ephemeral port>, and exact assertions on what `/metrics` reports.
//!
//! Every test starts its own service (its own store and health flag), but the metrics are process-wide: tests
//! that assert counts start theirs with `start_exclusive` and compare scrapes taken before and after (see
//! `routemeter_tests::service`).

use std::collections::BTreeSet;
use std::io::Read;
use std::time::{Duration, Instant};

use accountservice::{Instrumentation, Options, DEFAULT_BODY_LIMIT};
use http::{Method, StatusCode};
use routemeter_tests::client::{Client, Reply};
use routemeter_tests::exposition::Exposition;
use routemeter_tests::raw;
use routemeter_tests::service::{first_scrape, TestService};
use routemeter_tests::TestResult;
use serde_json::json;

/// The monitored routes: name and HELP text (the tutorial's four, and the streamed export).
const MONITORED: [(&str, &str); 5] = [
    ("GetAccount", "GET /accounts/{accountId}"),
    ("ExportAccounts", "GET /accounts/export"),
    ("StoreAccount", "POST /accounts"),
    ("UpdateAccount", "PUT /accounts"),
    ("GraphQL", "POST /graphql"),
];

const QUANTILES: [&str; 3] = ["0.5", "0.9", "0.99"];

const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

fn summary(name: &str) -> String {
    format!("accountservice_{name}")
}

/// `requests_total` of one handler and status.
fn requests(metrics: &Exposition, handler: &str, code: &str) -> f64 {
    let (method, route) = MONITORED
        .iter()
        .find(|(name, _)| *name == handler)
        .and_then(|(_, help)| help.split_once(' '))
        .unwrap_or(("", ""));
    metrics.value_or_zero(
        "accountservice_requests_total",
        &[
            ("handler", handler),
            ("method", method),
            ("route", route),
            ("code", code),
        ],
    )
}

fn count(metrics: &Exposition, handler: &str, service: &str) -> f64 {
    metrics.value_or_zero(
        &format!("{}_count", summary(handler)),
        &[("service", service)],
    )
}

fn sum(metrics: &Exposition, handler: &str, service: &str) -> f64 {
    metrics.value_or_zero(
        &format!("{}_sum", summary(handler)),
        &[("service", service)],
    )
}

/// How far a summary's `_count` moved between two scrapes, for the exact-metrics tests.
fn count_delta(before: &Exposition, after: &Exposition, handler: &str, service: &str) -> f64 {
    count(after, handler, service) - count(before, handler, service)
}

/// How far a summary's `_sum` moved between two scrapes, for the exact-metrics tests.
fn sum_delta(before: &Exposition, after: &Exposition, handler: &str, service: &str) -> f64 {
    sum(after, handler, service) - sum(before, handler, service)
}

/// How far `requests_total` of one handler and status moved between two scrapes, for the exact-metrics tests.
fn requests_delta(before: &Exposition, after: &Exposition, handler: &str, code: &str) -> f64 {
    requests(after, handler, code) - requests(before, handler, code)
}

/// Asserts that no summary `_count` of `handlers` moved between two scrapes: for traffic that must not be counted.
#[track_caller]
fn assert_counts_unchanged(
    before: &Exposition,
    after: &Exposition,
    handlers: &[&str],
    services: &[&str],
) {
    for handler in handlers {
        for service in services {
            assert_eq!(
                count(after, handler, service),
                count(before, handler, service),
                "{handler} {service}"
            );
        }
    }
}

/// Starts a service alone with `options` and scrapes the baseline: how each exact-metrics test begins.
async fn start_exclusive_with_baseline(options: Options) -> TestResult<(TestService, Exposition)> {
    let service = TestService::start_exclusive(options).await?;
    let before = service.client().scrape().await?;
    Ok((service, before))
}

fn expect_status(reply: &Reply, status: StatusCode) -> TestResult {
    if reply.status == status {
        Ok(())
    } else {
        Err(format!("expected {status}, got {}: {}", reply.status, reply.text()).into())
    }
}

async fn post_account(client: &Client, json: &str) -> TestResult<Reply> {
    client.send_json(Method::POST, "/accounts", json).await
}

// ---------------------------------------------------------------------------------------------------------------
// Metrics at start-up

#[tokio::test]
async fn series_exist_at_zero_before_the_first_request() -> TestResult {
    let text = first_scrape().await?;
    let metrics = Exposition::parse(&text)?;
    for (name, help) in MONITORED {
        let family_name = summary(name);
        let family = metrics
            .family(&family_name)
            .ok_or_else(|| format!("{family_name} missing from the first scrape:\n{text}"))?;
        assert_eq!(family.help.as_deref(), Some(help), "{family_name}");
        assert_eq!(family.kind.as_deref(), Some("summary"), "{family_name}");
        assert_eq!(
            family.samples.len(),
            10,
            "{family_name}: 2 × (3 quantiles + sum + count)"
        );
        for service in ["duration", "size"] {
            assert_eq!(
                count(&metrics, name, service),
                0.0,
                "{family_name} {service}"
            );
            let count_sample =
                metrics.value(&format!("{family_name}_count"), &[("service", service)]);
            assert_eq!(
                count_sample,
                Some(0.0),
                "{family_name}_count{{service={service:?}}} present"
            );
            assert_eq!(
                metrics.value(&format!("{family_name}_sum"), &[("service", service)]),
                Some(0.0)
            );
            for quantile in QUANTILES {
                let value = metrics.value(
                    &family_name,
                    &[("service", service), ("quantile", quantile)],
                );
                assert!(
                    value.is_some_and(f64::is_nan),
                    "{family_name} {service} {quantile}: {value:?}"
                );
            }
        }
        assert_eq!(
            metrics.value("accountservice_requests_in_flight", &[("handler", name)]),
            Some(0.0),
            "in-flight gauge of {name}"
        );
    }
    // The unmonitored routes have no summary.
    for name in ["HealthCheck", "Testability", "Prometheus"] {
        assert!(metrics.family(&summary(name)).is_none(), "{name}");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// The REST routes

#[tokio::test]
async fn get_account_answers_the_tutorial_json() -> TestResult {
    let service = TestService::start().await?;
    let reply = service.client().get("/accounts/10001").await?;
    expect_status(&reply, StatusCode::OK)?;
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.content_length(), Some(reply.body.len() as u64));
    let served_by = service.addr().to_string();
    let expected = json!({
        "id": "10001",
        "name": "Person_1",
        "servedBy": served_by,
        "quote": {"quote": "Better late than never.", "l": served_by, "language": "en"},
        "imageData": {
            "id": "10001",
            "url": "https://images.example.org/accounts/10001.png",
            "servedBy": served_by
        },
        "accountEvents": [{"ID": "1", "eventName": "CREATED", "created": "2018-01-04T00:07:00"}]
    });
    assert_eq!(reply.json()?, expected);

    // The tutorial's 100 accounts, 10000..=10099, Person_0..=Person_99.
    for (id, name) in [
        (10_000, "Person_0"),
        (10_050, "Person_50"),
        (10_099, "Person_99"),
    ] {
        let reply = service.client().get(&format!("/accounts/{id}")).await?;
        expect_status(&reply, StatusCode::OK)?;
        assert_eq!(reply.json()?["name"], name);
    }
    service.stop().await
}

#[tokio::test]
async fn get_account_rejects_unknown_and_malformed_ids() -> TestResult {
    let service = TestService::start().await?;
    let client = service.client();
    for (path, status, body) in [
        (
            "/accounts/10100",
            StatusCode::NOT_FOUND,
            "Account identified by '10100' not found\n",
        ),
        (
            "/accounts/9999",
            StatusCode::NOT_FOUND,
            "Account identified by '9999' not found\n",
        ),
        (
            "/accounts/184467440737095516160000",
            StatusCode::NOT_FOUND,
            "Account identified by '184467440737095516160000' not found\n",
        ),
        (
            "/accounts/abc",
            StatusCode::BAD_REQUEST,
            "Account id must be a decimal number, got 'abc'\n",
        ),
        (
            "/accounts/-1",
            StatusCode::BAD_REQUEST,
            "Account id must be a decimal number, got '-1'\n",
        ),
        (
            "/accounts/1e5",
            StatusCode::BAD_REQUEST,
            "Account id must be a decimal number, got '1e5'\n",
        ),
    ] {
        let reply = client.get(path).await?;
        assert_eq!(reply.status, status, "{path}");
        assert_eq!(reply.text(), body, "{path}");
        assert_eq!(
            reply.header("content-type"),
            Some("text/plain; charset=utf-8"),
            "{path}"
        );
        assert_eq!(
            reply.content_length(),
            Some(reply.body.len() as u64),
            "{path}"
        );
    }
    // An id far longer than any number still gets a 404, not an error.
    let long = "9".repeat(4_000);
    expect_status(
        &client.get(&format!("/accounts/{long}")).await?,
        StatusCode::NOT_FOUND,
    )?;
    service.stop().await
}

#[tokio::test]
async fn store_account_assigns_the_next_id() -> TestResult {
    let service = TestService::start().await?;
    let client = service.client();
    let reply = post_account(client, r#"{"name": "Alice"}"#).await?;
    expect_status(&reply, StatusCode::CREATED)?;
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.header("location"), Some("/accounts/10100"));
    assert_eq!(reply.json()?, json!({"ID": "10100"}));

    // A whole account, as the tutorial's clients send it: only the name is used.
    let full = r#"{"id": "1", "name": "Bob", "servedBy": "x", "quote": {"quote": "q", "l": "", "language": "en"},
                   "imageData": {"id": "1", "url": "u", "servedBy": "x"}, "accountEvents": []}"#;
    let reply = post_account(client, full).await?;
    expect_status(&reply, StatusCode::CREATED)?;
    assert_eq!(reply.json()?, json!({"ID": "10101"}));

    let stored = client.get("/accounts/10101").await?;
    expect_status(&stored, StatusCode::OK)?;
    let stored = stored.json()?;
    assert_eq!(stored["name"], "Bob");
    assert_eq!(stored["accountEvents"][0]["eventName"], "CREATED");
    service.stop().await
}

#[tokio::test]
async fn store_account_rejects_bad_bodies() -> TestResult {
    let service = TestService::start().await?;
    let client = service.client();
    for (body, message) in [
        (
            r#"{"id": "1"}"#,
            "POST body is missing required field: name\n",
        ),
        (
            r#"{"name": "   "}"#,
            "POST body is missing required field: name\n",
        ),
        ("", "request body is empty; expected a JSON object\n"),
    ] {
        let reply = post_account(client, body).await?;
        expect_status(&reply, StatusCode::BAD_REQUEST)?;
        assert_eq!(reply.text(), message, "{body:?}");
    }
    for broken in [
        r#"{"name": "#,
        "name=Alice",
        "[1, 2]",
        r#"{"name": 5}"#,
        "null",
    ] {
        let reply = post_account(client, broken).await?;
        expect_status(&reply, StatusCode::BAD_REQUEST)?;
        assert!(
            reply
                .text()
                .starts_with("request body is not valid JSON for this route: "),
            "{broken:?}: {}",
            reply.text()
        );
    }
    // A form post (curl -d without a content type of JSON) is a 415 that names the accepted type.
    let reply = client
        .request(
            Method::POST,
            "/accounts",
            &[("content-type", "application/x-www-form-urlencoded")],
            "name=Alice",
        )
        .await?;
    expect_status(&reply, StatusCode::UNSUPPORTED_MEDIA_TYPE)?;
    assert_eq!(reply.header("accept"), Some("application/json"));
    // No content type at all is read as JSON.
    let reply = client
        .request(Method::POST, "/accounts", &[], r#"{"name": "Untyped"}"#)
        .await?;
    expect_status(&reply, StatusCode::CREATED)?;
    // JSON with parameters is JSON.
    let reply = client
        .request(
            Method::POST,
            "/accounts",
            &[("content-type", "application/json; charset=utf-8")],
            r#"{"name": "Charset"}"#,
        )
        .await?;
    expect_status(&reply, StatusCode::CREATED)?;
    service.stop().await
}

#[tokio::test]
async fn update_account_renames_and_returns_the_account() -> TestResult {
    let service = TestService::start().await?;
    let client = service.client();
    let reply = client
        .send_json(
            Method::PUT,
            "/accounts",
            r#"{"id": "10003", "name": "Carol"}"#,
        )
        .await?;
    expect_status(&reply, StatusCode::OK)?;
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let account = reply.json()?;
    assert_eq!(account["id"], "10003");
    assert_eq!(account["name"], "Carol");
    assert_eq!(account["servedBy"], service.addr().to_string());
    assert_eq!(account["accountEvents"][1]["eventName"], "UPDATED");
    assert_eq!(account["accountEvents"][1]["ID"], "2");
    assert_eq!(
        client.get("/accounts/10003").await?.json()?["name"],
        "Carol"
    );

    // A numeric id is understood as well.
    let reply = client
        .send_json(Method::PUT, "/accounts", r#"{"id": 10004, "name": "Dave"}"#)
        .await?;
    expect_status(&reply, StatusCode::OK)?;
    assert_eq!(reply.json()?["name"], "Dave");
    service.stop().await
}

#[tokio::test]
async fn update_account_rejects_bad_bodies() -> TestResult {
    let service = TestService::start().await?;
    let client = service.client();
    for (body, status, message) in [
        (
            r#"{"name": "X"}"#,
            StatusCode::BAD_REQUEST,
            "PUT body is missing required field: ID\n",
        ),
        (
            r#"{"id": "", "name": "X"}"#,
            StatusCode::BAD_REQUEST,
            "PUT body is missing required field: ID\n",
        ),
        (
            r#"{"id": "10001"}"#,
            StatusCode::BAD_REQUEST,
            "PUT body is missing required field: name\n",
        ),
        (
            r#"{"id": "20000", "name": "X"}"#,
            StatusCode::NOT_FOUND,
            "Account identified by '20000' not found\n",
        ),
        (
            r#"{"id": "x1", "name": "X"}"#,
            StatusCode::BAD_REQUEST,
            "Account id must be a decimal number, got 'x1'\n",
        ),
    ] {
        let reply = client.send_json(Method::PUT, "/accounts", body).await?;
        assert_eq!(reply.status, status, "{body}");
        assert_eq!(reply.text(), message, "{body}");
    }
    let reply = client.send_json(Method::PUT, "/accounts", "{").await?;
    expect_status(&reply, StatusCode::BAD_REQUEST)?;
    assert!(
        reply.text().contains("EOF while parsing"),
        "{}",
        reply.text()
    );
    // Nothing changed.
    assert_eq!(
        client.get("/accounts/10001").await?.json()?["name"],
        "Person_1"
    );
    service.stop().await
}

// ---------------------------------------------------------------------------------------------------------------
// GraphQL

#[tokio::test]
async fn graphql_answers_the_tutorial_query() -> TestResult {
    let service = TestService::start().await?;
    let client = service.client();
    let query =
        json!({"query": r#"{ Account(id: "10001") { id name quote { quote } } }"#}).to_string();
    let reply = client.send_json(Method::POST, "/graphql", &query).await?;
    expect_status(&reply, StatusCode::OK)?;
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(
        reply.json()?,
        json!({"data": {"Account": {"id": "10001", "name": "Person_1", "quote": {"quote": "Better late than never."}}}})
    );

    // Variables, every field, the field arguments.
    let query = json!({
        "query": r#"query ($id: String) { Account(id: $id) { id name servedBy
            quote(language: "sv") { quote l language }
            events(eventName: "CREATED") { ID eventName created }
            imageData { id url servedBy } } }"#,
        "variables": {"id": "10002"}
    })
    .to_string();
    let reply = client.send_json(Method::POST, "/graphql", &query).await?;
    expect_status(&reply, StatusCode::OK)?;
    let served_by = service.addr().to_string();
    assert_eq!(
        reply.json()?,
        json!({"data": {"Account": {
            "id": "10002", "name": "Person_2", "servedBy": served_by,
            "quote": {"quote": "Många händer gör arbetet lätt.", "l": served_by, "language": "sv"},
            "events": [{"ID": "1", "eventName": "CREATED", "created": "2018-01-07T00:14:00"}],
            "imageData": {"id": "10002", "url": "https://images.example.org/accounts/10002.png", "servedBy": served_by}
        }}})
    );

    // By name, and an unknown account is null.
    let query =
        json!({"query": r#"{ a: Account(name: "Person_7") { id } b: Account(id: "1") { id } }"#});
    let reply = client
        .send_json(Method::POST, "/graphql", &query.to_string())
        .await?;
    assert_eq!(
        reply.json()?,
        json!({"data": {"a": {"id": "10007"}, "b": null}})
    );
    service.stop().await
}

#[tokio::test]
async fn graphql_reports_errors() -> TestResult {
    let service = TestService::start().await?;
    let client = service.client();
    // A query GraphQL rejects is a 200 with `errors`, as GraphQL over HTTP has it.
    let query = json!({"query": "{ Account(id: \"10001\") { nope } }"}).to_string();
    let reply = client.send_json(Method::POST, "/graphql", &query).await?;
    expect_status(&reply, StatusCode::OK)?;
    let errors = reply.json()?["errors"].clone();
    assert!(
        errors[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("nope")),
        "{errors}"
    );
    // A body that is not a GraphQL request is a 400.
    expect_status(
        &client.send_json(Method::POST, "/graphql", "[]").await?,
        StatusCode::BAD_REQUEST,
    )?;
    for body in [
        "{",
        r#"{"query": 1}"#,
        r#"{"query": "{ x }", "variables": 7}"#,
    ] {
        let reply = client.send_json(Method::POST, "/graphql", body).await?;
        expect_status(&reply, StatusCode::BAD_REQUEST)?;
        assert!(
            reply
                .text()
                .starts_with("request body is not valid JSON for this route: "),
            "{body}"
        );
    }
    let reply = client
        .send_json(Method::POST, "/graphql", r#"{"variables": {}}"#)
        .await?;
    expect_status(&reply, StatusCode::BAD_REQUEST)?;
    assert_eq!(
        reply.text(),
        "GraphQL request body is missing required field: query\n"
    );
    let reply = client
        .request(
            Method::POST,
            "/graphql",
            &[("content-type", "application/graphql")],
            "{ x }",
        )
        .await?;
    expect_status(&reply, StatusCode::UNSUPPORTED_MEDIA_TYPE)?;
    service.stop().await
}

// ---------------------------------------------------------------------------------------------------------------
// Health

#[tokio::test]
async fn health_follows_the_testability_switch() -> TestResult {
    let service = TestService::start().await?;
    let client = service.client();
    let health = client.get("/health").await?;
    expect_status(&health, StatusCode::OK)?;
    assert_eq!(health.json()?, json!({"status": "UP"}));
    assert_eq!(health.header("content-type"), Some("application/json"));

    expect_status(
        &client.get("/testability/healthy/false").await?,
        StatusCode::OK,
    )?;
    let health = client.get("/health").await?;
    expect_status(&health, StatusCode::SERVICE_UNAVAILABLE)?;
    assert_eq!(health.json()?, json!({"status": "DOWN"}));

    for bad in ["maybe", "TRUE", "1"] {
        let reply = client.get(&format!("/testability/healthy/{bad}")).await?;
        expect_status(&reply, StatusCode::BAD_REQUEST)?;
    }
    expect_status(
        &client.get("/health").await?,
        StatusCode::SERVICE_UNAVAILABLE,
    )?;

    let reply = client.get("/testability/healthy/true").await?;
    expect_status(&reply, StatusCode::OK)?;
    assert_eq!(reply.json()?, json!({"status": "UP"}));
    expect_status(&client.get("/health").await?, StatusCode::OK)?;
    service.stop().await
}

// ---------------------------------------------------------------------------------------------------------------
// Bad input

#[tokio::test]
async fn unknown_routes_and_methods_create_no_series() -> TestResult {
    let service = TestService::start_exclusive(Options::default()).await?;
    let client = service.client();
    // Two scrapes first, so the scrape handler's own series exist before the baseline.
    client.scrape().await?;
    let before = client.scrape().await?;

    for path in [
        "/",
        "/nope",
        "/accounts/",
        "/accounts/10001/extra",
        "/account/10001",
        "/HEALTH",
        "/metrics/",
    ] {
        let reply = client.get(path).await?;
        expect_status(&reply, StatusCode::NOT_FOUND)?;
        assert_eq!(reply.text(), format!("no route for {path}\n"));
    }
    for i in 0..50 {
        expect_status(
            &client.get(&format!("/random/{i}/path")).await?,
            StatusCode::NOT_FOUND,
        )?;
    }
    for (method, path, allow) in [
        (Method::GET, "/accounts", "POST, PUT"),
        (Method::DELETE, "/accounts", "POST, PUT"),
        (Method::POST, "/accounts/10001", "GET"),
        (Method::DELETE, "/accounts/10001", "GET"),
        (Method::HEAD, "/accounts/10001", "GET"),
        (Method::GET, "/graphql", "POST"),
        (Method::POST, "/health", "GET"),
        (Method::PATCH, "/metrics", "GET"),
        (Method::PUT, "/testability/healthy/true", "GET"),
    ] {
        let reply = client.request(method.clone(), path, &[], "").await?;
        assert_eq!(
            reply.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert_eq!(reply.header("allow"), Some(allow), "{method} {path}");
    }

    let after = client.scrape().await?;
    let new: BTreeSet<_> = after
        .series()
        .difference(&before.series())
        .cloned()
        .collect();
    assert!(new.is_empty(), "new series: {new:?}");
    assert_counts_unchanged(
        &before,
        &after,
        &MONITORED.map(|(name, _)| name),
        &["duration"],
    );
    service.stop().await
}

#[tokio::test]
async fn oversized_bodies_get_413() -> TestResult {
    let service = TestService::start().await?;
    let addr = service.addr();
    let wait = Duration::from_secs(10);

    // Announced too large: refused from the headers, before any of the body is sent.
    let announced = format!(
        "POST /accounts HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        DEFAULT_BODY_LIMIT + 1
    );
    let reply = raw::exchange(addr, announced.as_bytes(), wait).await?;
    assert_eq!(reply.status(), Some(413), "{}", reply.text());
    // The body will not be read, so the connection is closed rather than left waiting for it.
    assert!(
        reply.closed && reply.elapsed < Duration::from_secs(5),
        "{reply:?}"
    );
    assert!(reply
        .text()
        .ends_with("request body is larger than the limit of 1048576 bytes\n"));

    // Chunked, so the size shows only while reading.
    let mut chunked = b"PUT /accounts HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n\
                        Transfer-Encoding: chunked\r\n\r\n"
        .to_vec();
    let chunk = vec![b' '; DEFAULT_BODY_LIMIT];
    chunked.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
    chunked.extend_from_slice(&chunk);
    chunked.extend_from_slice(b"\r\n1\r\n{\r\n0\r\n\r\n");
    let reply = raw::exchange(addr, &chunked, wait).await?;
    assert_eq!(reply.status(), Some(413), "{}", reply.text());

    // Exactly at the limit is accepted.
    let name = "n".repeat(DEFAULT_BODY_LIMIT - r#"{"name":""}"#.len());
    let body = format!(r#"{{"name":"{name}"}}"#);
    assert_eq!(body.len(), DEFAULT_BODY_LIMIT);
    expect_status(
        &post_account(service.client(), &body).await?,
        StatusCode::CREATED,
    )?;

    // The service still serves.
    expect_status(&service.client().get("/health").await?, StatusCode::OK)?;
    service.stop().await
}

#[tokio::test]
async fn body_limit_is_configurable() -> TestResult {
    let service = TestService::start_with(Options::default().body_limit(16)).await?;
    let client = service.client();
    expect_status(
        &post_account(client, r#"{"name":"Al"}"#).await?,
        StatusCode::CREATED,
    )?;
    let reply = post_account(client, r#"{"name":"Alexander"}"#).await?;
    expect_status(&reply, StatusCode::PAYLOAD_TOO_LARGE)?;
    assert_eq!(
        reply.text(),
        "request body is larger than the limit of 16 bytes\n"
    );
    service.stop().await
}

#[tokio::test]
async fn slow_bodies_get_408() -> TestResult {
    let timeout = Duration::from_millis(300);
    let service = TestService::start_with(Options::default().body_read_timeout(timeout)).await?;
    // Ten bytes announced, two sent, then nothing.
    let request = b"POST /accounts HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n\
                    Content-Length: 10\r\n\r\n{\"";
    let reply = raw::exchange(service.addr(), request, Duration::from_secs(10)).await?;
    assert_eq!(reply.status(), Some(408), "{}", reply.text());
    assert!(
        reply
            .text()
            .ends_with("request body not received within 300ms\n"),
        "{}",
        reply.text()
    );
    assert!(
        reply.closed && reply.elapsed < Duration::from_secs(5),
        "{reply:?}"
    );
    service.stop().await
}

#[tokio::test]
async fn malformed_http_gets_400_and_the_service_keeps_serving() -> TestResult {
    let service = TestService::start().await?;
    let wait = Duration::from_secs(5);
    for garbage in [
        &b"THIS IS NOT HTTP\r\n\r\n"[..],
        b"GET /health HTTP/1.1\r\nHost: t\r\nBad Header\r\n\r\n",
        b"GET /health HTTP/9.9\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
    ] {
        let reply = raw::exchange(service.addr(), garbage, wait).await?;
        assert!(reply.closed, "{garbage:?} left the connection open");
        assert!(
            matches!(reply.status(), None | Some(400) | Some(505)),
            "{garbage:?}: {}",
            reply.text()
        );
    }
    expect_status(&service.client().get("/health").await?, StatusCode::OK)?;
    service.stop().await
}

#[tokio::test]
async fn slow_headers_are_cut_off() -> TestResult {
    let timeout = Duration::from_millis(500);
    let service = TestService::start_with(Options::default().header_read_timeout(timeout)).await?;
    let started = Instant::now();
    let reply = raw::exchange(
        service.addr(),
        b"GET /health HTTP/1.1\r\nHost: t\r\n",
        Duration::from_secs(10),
    )
    .await?;
    let elapsed = started.elapsed();
    assert!(reply.closed, "the connection stayed open for {elapsed:?}");
    assert!(
        elapsed >= timeout - Duration::from_millis(50),
        "closed after {elapsed:?}"
    );
    assert!(
        elapsed < Duration::from_secs(5),
        "closed only after {elapsed:?}"
    );
    assert!(
        matches!(reply.status(), None | Some(408)),
        "{}",
        reply.text()
    );
    // A complete request on a fresh connection is served as usual.
    expect_status(&service.client().get("/health").await?, StatusCode::OK)?;
    service.stop().await
}

// ---------------------------------------------------------------------------------------------------------------
// Exact metrics

#[tokio::test]
async fn get_account_metrics_are_exact() -> TestResult {
    let (service, before) = start_exclusive_with_baseline(Options::default()).await?;
    let client = service.client();

    let paths: Vec<String> = (0..12)
        .map(|i| format!("/accounts/{}", 10_000 + i * 9)) // 200s with names of 1 and 2 digits
        .chain((0..4).map(|i| format!("/accounts/{}", 20_000 + i))) // 404s
        .chain(["/accounts/x".to_owned(), "/accounts/1-2".to_owned()]) // 400s
        .collect();
    let mut sizes = 0_u64;
    let mut tasks = tokio::task::JoinSet::new();
    for path in paths.clone() {
        let client = client.clone();
        tasks.spawn(async move { client.get(&path).await });
    }
    let mut statuses = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let reply = joined??;
        sizes += reply.content_length().ok_or("no Content-Length")?;
        statuses.push(reply.status.as_u16());
    }
    statuses.sort_unstable();
    let n = |code: u16| statuses.iter().filter(|status| **status == code).count() as f64;
    assert_eq!((n(200), n(404), n(400)), (12.0, 4.0, 2.0));

    let after = client.scrape().await?;
    let total = paths.len() as f64;
    assert_eq!(
        count_delta(&before, &after, "GetAccount", "duration"),
        total
    );
    assert_eq!(count_delta(&before, &after, "GetAccount", "size"), total);
    assert_eq!(
        sum_delta(&before, &after, "GetAccount", "size"),
        sizes as f64
    );
    let duration = sum_delta(&before, &after, "GetAccount", "duration");
    assert!(
        duration > 0.0 && duration < 60.0,
        "duration sum grew by {duration}"
    );
    for (code, expected) in [("200", 12.0), ("404", 4.0), ("400", 2.0)] {
        let delta = requests_delta(&before, &after, "GetAccount", code);
        assert_eq!(delta, expected, "code {code}");
    }
    assert_eq!(
        after.value(
            "accountservice_requests_in_flight",
            &[("handler", "GetAccount")]
        ),
        Some(0.0)
    );
    // The window now holds observations, so the quantiles are numbers, in order. (Their exact values are not
    // asserted: the window is process-wide and also holds other tests' requests, e.g. a 4 kB 404.)
    for service in ["duration", "size"] {
        let mut previous = 0.0;
        for quantile in QUANTILES {
            let labels = [("service", service), ("quantile", quantile)];
            let value = after
                .value(&summary("GetAccount"), &labels)
                .ok_or("quantile missing")?;
            assert!(
                value.is_finite() && value >= previous,
                "{service} q{quantile}: {value}"
            );
            previous = value;
        }
    }
    // The other routes saw nothing.
    let others = ["StoreAccount", "UpdateAccount", "GraphQL"];
    assert_counts_unchanged(&before, &after, &others, &["duration"]);
    service.stop().await
}

#[tokio::test]
async fn every_monitored_route_counts_exactly() -> TestResult {
    let (service, before) = start_exclusive_with_baseline(Options::default()).await?;
    let client = service.client();

    let mut sizes = std::collections::BTreeMap::<&str, u64>::new();
    let mut record = |handler: &'static str, reply: Reply| -> TestResult<Reply> {
        *sizes.entry(handler).or_default() += reply.content_length().ok_or("no Content-Length")?;
        Ok(reply)
    };
    expect_status(
        &record(
            "StoreAccount",
            post_account(client, r#"{"name":"A"}"#).await?,
        )?,
        StatusCode::CREATED,
    )?;
    expect_status(
        &record(
            "StoreAccount",
            post_account(client, r#"{"name":"B"}"#).await?,
        )?,
        StatusCode::CREATED,
    )?;
    expect_status(
        &record("StoreAccount", post_account(client, "{").await?)?,
        StatusCode::BAD_REQUEST,
    )?;
    let form = client
        .request(
            Method::POST,
            "/accounts",
            &[("content-type", "text/plain")],
            "A",
        )
        .await?;
    expect_status(
        &record("StoreAccount", form)?,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
    )?;
    let put = client
        .send_json(Method::PUT, "/accounts", r#"{"id":"10001","name":"Z"}"#)
        .await?;
    expect_status(&record("UpdateAccount", put)?, StatusCode::OK)?;
    let put = client
        .send_json(Method::PUT, "/accounts", r#"{"name":"Z"}"#)
        .await?;
    expect_status(&record("UpdateAccount", put)?, StatusCode::BAD_REQUEST)?;
    let query = json!({"query": r#"{ Account(id: "10001") { name } }"#}).to_string();
    for _ in 0..3 {
        let reply = client.send_json(Method::POST, "/graphql", &query).await?;
        expect_status(&record("GraphQL", reply)?, StatusCode::OK)?;
    }
    // Unmonitored routes leave every summary alone.
    client.get("/health").await?;
    client.get("/testability/healthy/true").await?;

    let after = client.scrape().await?;
    for (handler, calls, codes) in [
        (
            "StoreAccount",
            4.0,
            &[("201", 2.0), ("400", 1.0), ("415", 1.0)][..],
        ),
        ("UpdateAccount", 2.0, &[("200", 1.0), ("400", 1.0)][..]),
        ("GraphQL", 3.0, &[("200", 3.0)][..]),
        ("GetAccount", 0.0, &[("200", 0.0)][..]),
    ] {
        for service in ["duration", "size"] {
            let delta = count_delta(&before, &after, handler, service);
            assert_eq!(delta, calls, "{handler} {service}");
        }
        let size = sum_delta(&before, &after, handler, "size");
        assert_eq!(
            size,
            sizes.get(handler).copied().unwrap_or(0) as f64,
            "{handler} size sum"
        );
        for (code, expected) in codes {
            let delta = requests_delta(&before, &after, handler, code);
            assert_eq!(delta, *expected, "{handler} {code}");
        }
        assert_eq!(
            after.value("accountservice_requests_in_flight", &[("handler", handler)]),
            Some(0.0),
            "{handler}"
        );
    }
    service.stop().await
}

#[tokio::test]
async fn instrumentation_off_serves_the_same_and_records_nothing() -> TestResult {
    let off = Options::default().instrumentation(Instrumentation::Off);
    let (service, before) = start_exclusive_with_baseline(off).await?;
    let client = service.client();

    let reply = client.get("/accounts/10001").await?;
    expect_status(&reply, StatusCode::OK)?;
    assert_eq!(reply.json()?["name"], "Person_1");
    expect_status(&client.get("/accounts/5").await?, StatusCode::NOT_FOUND)?;
    expect_status(
        &post_account(client, r#"{"name":"Off"}"#).await?,
        StatusCode::CREATED,
    )?;
    let put = client
        .send_json(
            Method::PUT,
            "/accounts",
            r#"{"id":"10100","name":"Still off"}"#,
        )
        .await?;
    expect_status(&put, StatusCode::OK)?;
    let query = json!({"query": r#"{ Account(id: "10100") { name } }"#}).to_string();
    let reply = client.send_json(Method::POST, "/graphql", &query).await?;
    assert_eq!(
        reply.json()?,
        json!({"data": {"Account": {"name": "Still off"}}})
    );

    let after = client.scrape().await?;
    let services = ["duration", "size"];
    assert_counts_unchanged(&before, &after, &MONITORED.map(|(name, _)| name), &services);
    let requests_total = |metrics: &Exposition| -> Vec<_> {
        metrics
            .samples()
            .filter(|s| s.name == "accountservice_requests_total")
            .cloned()
            .collect()
    };
    assert_eq!(requests_total(&after), requests_total(&before));
    service.stop().await
}

#[tokio::test]
async fn handwritten_instrumentation_counts_in_its_own_registry_and_not_in_routemeter() -> TestResult
{
    let handwritten = Options::default().instrumentation(Instrumentation::Handwritten);
    let service = TestService::start_exclusive(handwritten).await?;
    let client = service.client();
    let routemeter_before = Exposition::parse(&routemeter_tests::service::exporter()?.render()?)?;
    let before = client.scrape().await?;
    assert_eq!(count(&before, "GetAccount", "duration"), 0.0);

    let found = client.get("/accounts/10001").await?;
    expect_status(&found, StatusCode::OK)?;
    assert_eq!(found.json()?["name"], "Person_1");
    let missing = client.get("/accounts/5").await?;
    expect_status(&missing, StatusCode::NOT_FOUND)?;

    let after = client.scrape().await?;
    assert_eq!(count(&after, "GetAccount", "duration"), 2.0);
    assert_eq!(count(&after, "GetAccount", "size"), 2.0);
    let sizes = [&found, &missing].map(|reply| reply.content_length().unwrap_or(0) as f64);
    assert_eq!(sum(&after, "GetAccount", "size"), sizes[0] + sizes[1]);
    assert!(sum(&after, "GetAccount", "duration") > 0.0);
    for (code, expected) in [("200", 1.0), ("404", 1.0)] {
        let labels = [("handler", "GetAccount"), ("code", code)];
        assert_eq!(
            after.value_or_zero("accountservice_requests_total", &labels),
            expected,
            "{code}"
        );
    }
    assert_eq!(
        after.value(
            "accountservice_in_flight_requests",
            &[("handler", "GetAccount")]
        ),
        Some(0.0)
    );
    let routemeter_after = Exposition::parse(&routemeter_tests::service::exporter()?.render()?)?;
    assert_counts_unchanged(
        &routemeter_before,
        &routemeter_after,
        &MONITORED.map(|(name, _)| name),
        &["duration", "size"],
    );
    service.stop().await
}

// ---------------------------------------------------------------------------------------------------------------
// The /metrics answer

#[tokio::test]
async fn metrics_have_the_text_format_content_type_and_gzip() -> TestResult {
    let service = TestService::start_exclusive(Options::default()).await?;
    let client = service.client();
    expect_status(&client.get("/accounts/10001").await?, StatusCode::OK)?;

    let plain = client.get("/metrics").await?;
    expect_status(&plain, StatusCode::OK)?;
    assert_eq!(plain.header("content-type"), Some(METRICS_CONTENT_TYPE));
    assert_eq!(plain.header("content-encoding"), None);
    let plain = Exposition::parse(&plain.text())?;
    // The layout of the tutorial: families sorted by name, and a summary's samples in the client libraries' order.
    let family_names: Vec<&str> = plain.families.iter().map(|f| f.name.as_str()).collect();
    let mut sorted = family_names.clone();
    sorted.sort_unstable();
    assert_eq!(family_names, sorted);
    let layout: Vec<String> = plain
        .family("accountservice_GetAccount")
        .ok_or("no GetAccount family")?
        .samples
        .iter()
        .map(|sample| sample.series())
        .collect();
    let mut expected = Vec::new();
    for service in ["duration", "size"] {
        for quantile in QUANTILES {
            expected.push(format!(
                "accountservice_GetAccount{{quantile=\"{quantile}\",service=\"{service}\"}}"
            ));
        }
        expected.push(format!(
            "accountservice_GetAccount_sum{{service=\"{service}\"}}"
        ));
        expected.push(format!(
            "accountservice_GetAccount_count{{service=\"{service}\"}}"
        ));
    }
    assert_eq!(layout, expected);

    let zipped = client
        .request(Method::GET, "/metrics", &[("accept-encoding", "gzip")], "")
        .await?;
    expect_status(&zipped, StatusCode::OK)?;
    assert_eq!(zipped.header("content-type"), Some(METRICS_CONTENT_TYPE));
    assert_eq!(zipped.header("content-encoding"), Some("gzip"));
    let mut text = String::new();
    flate2::read::GzDecoder::new(&zipped.body[..]).read_to_string(&mut text)?;
    let unzipped = Exposition::parse(&text)?;

    let names = |metrics: &Exposition| -> Vec<(String, Option<String>, Option<String>)> {
        let families = metrics.families.iter();
        families
            .map(|f| (f.name.clone(), f.help.clone(), f.kind.clone()))
            .collect()
    };
    assert_eq!(names(&unzipped), names(&plain));
    // Nothing was requested in between, so the request metrics match to the last sample.
    for name in ["accountservice_requests_total", "accountservice_GetAccount"] {
        assert_eq!(
            unzipped.family(name).map(|f| f.samples.len()),
            plain.family(name).map(|f| f.samples.len()),
            "{name}"
        );
    }
    assert_eq!(
        unzipped.value("accountservice_GetAccount_count", &[("service", "size")]),
        plain.value("accountservice_GetAccount_count", &[("service", "size")])
    );
    service.stop().await
}

#[tokio::test]
async fn promtool_accepts_the_exposition() -> TestResult {
    let Some(promtool) = find_on_path("promtool") else {
        if std::env::var_os("CI").is_some() {
            return Err(
                "promtool is not installed, and CI is set: install the Debian package `prometheus`"
                    .into(),
            );
        }
        eprintln!("skipped: promtool is not on PATH (install the Debian package `prometheus`)");
        return Ok(());
    };
    let service = TestService::start().await?;
    let client = service.client();
    // Some traffic first, so counters and quantiles have values as well as the zero state.
    expect_status(&client.get("/accounts/10001").await?, StatusCode::OK)?;
    expect_status(&client.get("/accounts/1").await?, StatusCode::NOT_FOUND)?;
    let text = client.get("/metrics").await?.text();
    service.stop().await?;

    let mut child = std::process::Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        std::io::Write::write_all(&mut stdin, text.as_bytes())?;
    }
    let output = child.wait_with_output()?;
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // The tutorial's route names are CamelCase; that warning is expected, and only for those families.
    let camel_case: Vec<String> = MONITORED.iter().map(|(name, _)| summary(name)).collect();
    for line in report.lines().filter(|line| !line.trim().is_empty()) {
        let expected = line.contains("camelCase")
            && camel_case
                .iter()
                .any(|family| line.trim_start().starts_with(&format!("{family} ")));
        assert!(
            expected,
            "unexpected promtool complaint: {line}\nfull report:\n{report}"
        );
    }
    // And promtool did read the text: it found each of them.
    for family in &camel_case {
        assert!(
            report.contains(&format!("{family} ")),
            "promtool did not lint {family}:\n{report}"
        );
    }
    Ok(())
}

fn find_on_path(program: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

// ---------------------------------------------------------------------------------------------------------------
// Lifecycle

#[tokio::test]
async fn shutdown_is_graceful_and_prompt() -> TestResult {
    let service = TestService::start().await?;
    let addr = service.addr();
    // A pooled keep-alive connection stays open after this request; shutdown must close it, not wait for it.
    expect_status(&service.client().get("/health").await?, StatusCode::OK)?;
    let started = Instant::now();
    service.stop().await?;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "stopping took {:?}",
        started.elapsed()
    );
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still accepting after shutdown"
    );
    Ok(())
}

#[tokio::test]
async fn http2_prior_knowledge_is_served() -> TestResult {
    let service = TestService::start().await?;
    // The HTTP/2 connection preface, then an empty SETTINGS frame: an HTTP/2 server answers with its SETTINGS.
    let mut preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    preface.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
    let reply = raw::exchange(service.addr(), &preface, Duration::from_millis(500)).await?;
    assert_eq!(
        reply.bytes.get(3),
        Some(&4),
        "no SETTINGS frame: {:?}",
        reply.bytes
    );
    service.stop().await
}
