//! The `accountservice-axum` binary as a child process: it starts from its command line, serves the routes and
//! `/metrics` (also on `--metrics-addr`), and stops on SIGTERM. The child is killed when the test ends, whatever
//! its outcome.

mod common;

use std::process::Command;
use std::time::Duration;

use common::child::Running;
use common::{get, TestResult};
use http::StatusCode;

#[tokio::test]
async fn the_binary_serves_the_routes_and_metrics_and_stops_on_sigterm() -> TestResult {
    let mut running = Running::start(true).await?;
    let addr = running.addr;
    let metrics_addr = running.metrics_addr.ok_or("started with --metrics-addr")?;

    let account = get(addr, "/accounts/10001").await?;
    assert_eq!(account.status, StatusCode::OK);
    assert_eq!(account.json()?["servedBy"], addr.to_string());
    let unknown = get(addr, "/accounts/1").await?;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    for metrics_at in [addr, metrics_addr] {
        let metrics = common::scrape_until(
            metrics_at,
            "both requests counted",
            Duration::from_secs(5),
            |metrics| {
                metrics.requests("GetAccount", "200") == 1.0
                    && metrics.requests("GetAccount", "404") == 1.0
            },
        )
        .await?;
        assert_eq!(metrics.in_flight("GetAccount"), Some(0.0));
    }

    // SIGTERM, then a short grace before the guard's SIGKILL.
    let terminated = Command::new("kill")
        .args(["-TERM", &running.pid().to_string()])
        .status()?;
    assert!(terminated.success());
    let status = running.wait_for_exit(Duration::from_secs(5)).await?;
    assert!(status.success(), "it exits cleanly: {status}");
    let last = running.stdout.by_ref().map_while(Result::ok).last();
    assert_eq!(last.as_deref(), Some("accountservice-axum stopped"));
    Ok(())
}
