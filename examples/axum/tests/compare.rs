//! The hyper example and this one side by side: the same requests get the same statuses, bodies and
//! `Content-Type`, and leave the same counts in `/metrics`; the generated dashboard and rules are the same.
//!
//! The hyper example runs in this process (this is the one test binary that links it); the axum one as its binary,
//! in a process of its own, since both report under the same metric names.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use common::child::{run_to_end, Running};
use common::{scrape, scrape_until, send, Metrics, Reply, TestResult};
use http::{Method, StatusCode};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// One request of the comparison: method, path, `Content-Type` (if any) and body.
type Exchange = (Method, &'static str, Option<&'static str>, &'static str);

const JSON: Option<&str> = Some("application/json");

/// Every route, with good and bad input, in an order that leaves both stores alike.
const EXCHANGES: &[Exchange] = &[
    (Method::GET, "/accounts/10001", None, ""),
    (Method::GET, "/accounts/1", None, ""),
    (Method::GET, "/accounts/abc", None, ""),
    (Method::GET, "/accounts/export", None, ""),
    (Method::GET, "/accounts/export?pace_ms=1", None, ""),
    (Method::GET, "/accounts/export?pace_ms=5000", None, ""),
    (Method::POST, "/accounts", JSON, r#"{"name":"Ada"}"#),
    (Method::POST, "/accounts", None, r#"{"name":"Linus"}"#),
    (Method::GET, "/accounts/10100", None, ""),
    (Method::POST, "/accounts", JSON, r#"{"name":""}"#),
    (Method::POST, "/accounts", JSON, "{\"name\":"),
    (Method::POST, "/accounts", JSON, "[1, 2]"),
    (Method::POST, "/accounts", JSON, "  "),
    (Method::POST, "/accounts", Some("text/plain"), "Ada"),
    (
        Method::PUT,
        "/accounts",
        JSON,
        r#"{"id":"10002","name":"B"}"#,
    ),
    (Method::PUT, "/accounts", JSON, r#"{"id":10003,"name":"C"}"#),
    (Method::GET, "/accounts/10002", None, ""),
    (Method::PUT, "/accounts", JSON, r#"{"name":"B"}"#),
    (Method::PUT, "/accounts", JSON, r#"{"id":"10002"}"#),
    (Method::PUT, "/accounts", JSON, r#"{"id":"7","name":"B"}"#),
    (Method::PUT, "/accounts", JSON, r#"{"id":"x","name":"B"}"#),
    (
        Method::POST,
        "/graphql",
        JSON,
        r#"{"query":"{ Account(id: \"10001\") { id name servedBy quote(language: \"sv\") { quote language } events { eventName } imageData { url } } }"}"#,
    ),
    (
        Method::POST,
        "/graphql",
        JSON,
        r#"{"query":"{ Account(name: \"Person_7\") { id } }"}"#,
    ),
    (
        Method::POST,
        "/graphql",
        JSON,
        r#"{"query":"{ Account(id: \"x\") { id } }"}"#,
    ),
    (Method::POST, "/graphql", JSON, r#"{"query":"{ nope }"}"#),
    (Method::POST, "/graphql", JSON, r#"{"variables":{}}"#),
    (Method::GET, "/health", None, ""),
    (Method::GET, "/testability/healthy/false", None, ""),
    (Method::GET, "/health", None, ""),
    (Method::GET, "/testability/healthy/perhaps", None, ""),
    (Method::GET, "/testability/healthy/true", None, ""),
    (Method::GET, "/nowhere", None, ""),
    (Method::GET, "/accounts/1/2", None, ""),
    (Method::DELETE, "/accounts", None, ""),
    (Method::GET, "/graphql", None, ""),
];

/// Whether a request reaches one of the five monitored handlers (the rest are counted nowhere).
fn is_monitored(method: &Method, path: &str) -> bool {
    let path = path.split('?').next().unwrap_or_default();
    let one_segment_under_accounts = path
        .strip_prefix("/accounts/")
        .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'));
    match *method {
        Method::GET => one_segment_under_accounts,
        Method::POST => path == "/accounts" || path == "/graphql",
        Method::PUT => path == "/accounts",
        _ => false,
    }
}

/// The hyper example in this process, until the sender is used or dropped.
async fn start_hyper_example() -> TestResult<(SocketAddr, oneshot::Sender<()>)> {
    let exporter = routemeter::install()?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(accountservice::serve(
        listener,
        exporter,
        accountservice::Options::default(),
        async move {
            let _ = stopped.await;
        },
    ));
    Ok((addr, stop))
}

/// A body made comparable: each server's address replaced by `ADDR`, and the times of events (which carry the
/// second they happened) blanked.
fn comparable(reply: &Reply, addr: SocketAddr) -> Value {
    let text = reply.text().replace(&addr.to_string(), "ADDR");
    let is_json = reply
        .header("content-type")
        .is_some_and(|content_type| content_type.contains("json"));
    if !is_json {
        return Value::String(text);
    }
    let mut documents: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or(Value::String(line.to_owned())))
        .collect();
    for document in &mut documents {
        blank_times(document);
    }
    Value::Array(documents)
}

fn blank_times(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            for (name, field) in fields.iter_mut() {
                if name == "created" {
                    *field = Value::Null;
                } else {
                    blank_times(field);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(blank_times),
        _ => {}
    }
}

/// The request counts of every monitored handler, by handler, method, route and code.
fn counts(metrics: &Metrics) -> Vec<(Vec<(String, String)>, f64)> {
    let mut counts: Vec<_> = metrics
        .samples
        .iter()
        .filter(|sample| sample.name == "accountservice_requests_total" && sample.value > 0.0)
        .map(|sample| (sample.labels.clone(), sample.value))
        .collect();
    counts.sort_by(|a, b| a.0.cmp(&b.0));
    counts
}

#[tokio::test]
async fn the_hyper_and_axum_examples_answer_and_count_alike() -> TestResult {
    let (hyper_addr, stop_hyper) = start_hyper_example().await?;
    let axum = Running::start(false).await?;
    let axum_addr = axum.addr;

    let hyper_first = scrape(hyper_addr).await?;
    let axum_first = scrape(axum_addr).await?;
    let help = |metrics: &Metrics| -> Vec<String> {
        let mut lines: Vec<String> = metrics
            .text
            .lines()
            .filter(|line| {
                line.starts_with("# HELP accountservice_")
                    || line.starts_with("# TYPE accountservice_")
            })
            .map(str::to_owned)
            .collect();
        lines.sort();
        lines
    };
    assert_eq!(
        help(&hyper_first),
        help(&axum_first),
        "the same families, with the same HELP and TYPE"
    );

    for (method, path, content_type, body) in EXCHANGES {
        let headers: Vec<(&str, &str)> = content_type
            .iter()
            .map(|value| ("content-type", *value))
            .collect();
        let body = Bytes::from_static(body.as_bytes());
        let hyper = send(hyper_addr, method.clone(), path, &headers, body.clone()).await?;
        let axum = send(axum_addr, method.clone(), path, &headers, body).await?;
        let request = format!("{method} {path}");
        assert_eq!(
            hyper.status,
            axum.status,
            "{request}: status ({})",
            axum.text()
        );
        assert_eq!(
            hyper.header("content-type"),
            axum.header("content-type"),
            "{request}: content type"
        );
        assert_eq!(
            hyper.header("location"),
            axum.header("location"),
            "{request}: location"
        );
        assert_eq!(
            comparable(&hyper, hyper_addr),
            comparable(&axum, axum_addr),
            "{request}: body"
        );
        if hyper.status == StatusCode::METHOD_NOT_ALLOWED {
            let methods = |reply: &Reply| -> Vec<String> {
                let allow = reply.header("allow").unwrap_or_default();
                let mut methods: Vec<String> = allow
                    .split(',')
                    .map(|method| method.trim().to_owned())
                    .filter(|method| method != "HEAD")
                    .collect();
                methods.sort();
                methods
            };
            // axum writes `GET,HEAD` where the hyper example writes `GET`.
            assert_eq!(
                methods(&hyper),
                methods(&axum),
                "{request}: allowed methods"
            );
        }
    }

    // Bodies are counted when they end: wait until both have counted every monitored request.
    let monitored = |metrics: &Metrics| counts(metrics).iter().map(|(_, count)| count).sum::<f64>();
    let expected = EXCHANGES
        .iter()
        .filter(|(method, path, _, _)| is_monitored(method, path))
        .count() as f64;
    let hyper_after = scrape_until(
        hyper_addr,
        "the hyper example counted",
        Duration::from_secs(5),
        |metrics| monitored(metrics) == expected,
    )
    .await?;
    let axum_after = scrape_until(
        axum_addr,
        "the axum example counted",
        Duration::from_secs(5),
        |metrics| monitored(metrics) == expected,
    )
    .await?;
    assert_eq!(
        counts(&hyper_after),
        counts(&axum_after),
        "the same counts by handler, route and code"
    );
    for handler in [
        "GetAccount",
        "StoreAccount",
        "UpdateAccount",
        "ExportAccounts",
        "GraphQL",
    ] {
        for service in ["duration", "size"] {
            assert_eq!(
                hyper_after.count(handler, service),
                axum_after.count(handler, service),
                "{handler} {service} observations"
            );
        }
        assert_eq!(axum_after.in_flight(handler), Some(0.0));
    }

    drop(axum);
    let _ = stop_hyper.send(());
    Ok(())
}

#[tokio::test]
async fn the_binary_prints_the_hyper_examples_dashboard_and_rules() -> TestResult {
    let exporter = routemeter::install()?;
    for (flag, expected) in [
        (
            "--print-dashboard",
            routemeter_ops::grafana_dashboard(&exporter, "accountservice"),
        ),
        (
            "--print-rules",
            routemeter_ops::prometheus_rules(&exporter, routemeter_ops::AlertThresholds::default()),
        ),
    ] {
        let (status, printed) = run_to_end(&[flag], Duration::from_secs(10)).await?;
        assert!(status.success(), "{flag}: {status}");
        assert_eq!(printed, expected, "{flag}");
    }
    Ok(())
}
