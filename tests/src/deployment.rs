//! A deployment under test, as its users see it: the tutorial's load sent to every replica, and
//! the tutorial's queries and every dashboard panel answered by the deployment's own Prometheus.

use std::time::Duration;

use serde_json::Value;

use crate::docker::{instances, ContainerPrometheus, Replica};
use crate::process::{eventually, workspace_root};
use crate::TestResult;

/// Requests for known accounts each replica gets.
pub const FOUND_PER_REPLICA: u64 = 30;
/// Requests for unknown accounts each replica gets.
pub const MISSING_PER_REPLICA: u64 = 5;

/// Sends every replica the tutorial's load, on its own loopback: known accounts (200) and unknown
/// ones (404).
///
/// # Errors
/// A request fails or is answered with another status.
pub async fn send_load(replicas: &[Replica]) -> TestResult {
    for replica in replicas {
        let service = replica.accountservice();
        for i in 0..FOUND_PER_REPLICA + MISSING_PER_REPLICA {
            let (path, status) = if i < FOUND_PER_REPLICA {
                (format!("/accounts/{}", 10_000 + i % 100), 200)
            } else {
                (format!("/accounts/{}", 90_000 + i), 404)
            };
            let reply = service.get(&path).await?;
            if reply.status.as_u16() != status {
                return Err(format!(
                    "{} {path}: {} {}",
                    replica.instance(),
                    reply.status,
                    reply.text()
                )
                .into());
            }
        }
    }
    Ok(())
}

/// Waits until Prometheus has scraped every replica's requests, then checks the tutorial's four
/// queries per replica.
///
/// # Errors
/// Prometheus does not catch up within a minute, or a query's answer is wrong.
pub async fn check_tutorial_queries(
    prometheus: &ContainerPrometheus,
    replicas: &[Replica],
) -> TestResult {
    let expected = instances(replicas);
    let sent = (FOUND_PER_REPLICA + MISSING_PER_REPLICA) as f64;

    // Query 1: requests served, per replica, once Prometheus has scraped them all.
    let query = "accountservice_GetAccount_count{service=\"duration\"}";
    eventually(
        "Prometheus to scrape every request of every replica",
        Duration::from_secs(60),
        || async {
            let samples = prometheus.query(query).await.ok()?;
            let mut counted: Vec<String> = samples
                .iter()
                .filter(|(labels, value)| *value == sent && labels["task"] == "accountservice")
                .map(|(labels, _)| labels["instance"].as_str().unwrap_or_default().to_owned())
                .collect();
            counted.sort();
            (counted == expected).then_some(())
        },
    )
    .await?;

    // Query 2: latency quantiles in milliseconds, three per replica, positive and finite.
    let quantiles = prometheus
        .query("accountservice_GetAccount{service=\"duration\"} * 1000")
        .await?;
    check_per_replica("quantiles", &quantiles, 3 * replicas.len(), |ms| {
        ms.is_finite() && ms > 0.0 && ms < 1000.0
    })?;

    // Query 3: average latency over one minute, in milliseconds.
    let average = prometheus
        .query(
            "avg_over_time(accountservice_GetAccount_sum{service=\"duration\"}[1m]) / \
             avg_over_time(accountservice_GetAccount_count{service=\"duration\"}[1m]) * 1000",
        )
        .await?;
    check_per_replica("average latency", &average, replicas.len(), |ms| {
        ms.is_finite() && ms > 0.0
    })?;

    // Query 4: resident memory per replica in MB.
    let memory = prometheus
        .query("process_resident_memory_bytes{task=\"accountservice\"} / 1000000")
        .await?;
    check_per_replica("memory", &memory, replicas.len(), |mb| {
        mb > 0.5 && mb < 1000.0
    })?;
    Ok(())
}

/// Checks that `samples` are `count` values, all passing `valid`, covering every replica.
fn check_per_replica(
    what: &str,
    samples: &[(Value, f64)],
    count: usize,
    valid: impl Fn(f64) -> bool,
) -> TestResult {
    if samples.len() != count || !samples.iter().all(|(_, value)| valid(*value)) {
        return Err(format!("{what}: expected {count} valid samples, got {samples:?}").into());
    }
    Ok(())
}

/// Evaluates every panel query of the committed Grafana dashboard; each must return data. Rates
/// need two scrapes of a series, and a status code's series starts with its first request, so a
/// query may take a scrape interval or two to answer.
///
/// # Errors
/// The dashboard cannot be read, or a query returns nothing for 30 seconds.
pub async fn check_dashboard_panels(prometheus: &ContainerPrometheus) -> TestResult<usize> {
    let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(
        workspace_root().join("deploy/grafana/dashboards/accountservice.json"),
    )?)?;
    let mut evaluated = 0;
    for panel in dashboard["panels"].as_array().ok_or("no panels")? {
        for target in panel["targets"]
            .as_array()
            .ok_or("a panel has no targets")?
        {
            let expr = target["expr"].as_str().ok_or("a target has no expr")?;
            eventually(
                &format!("panel {}: {expr} to return data", panel["title"]),
                Duration::from_secs(30),
                || async { (!prometheus.query(expr).await.ok()?.is_empty()).then_some(()) },
            )
            .await?;
            evaluated += 1;
        }
    }
    Ok(evaluated)
}
