//! The `accountservice-axum` binary as a child process: it starts from its command line, serves the routes and
//! `/metrics` (also on `--metrics-addr`), and stops on SIGTERM. The child is killed when the test ends, whatever
//! its outcome.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{get, TestResult};
use http::StatusCode;

/// The child process, killed (SIGKILL) when dropped if it is still running.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// The address printed on the line `<prefix>http://ADDR...`, from the child's next lines of standard output.
fn address_after(
    lines: &mut impl Iterator<Item = std::io::Result<String>>,
    prefix: &str,
) -> TestResult<SocketAddr> {
    for line in lines {
        let line = line?;
        if let Some(rest) = line.strip_prefix(prefix) {
            let addr = rest.trim_start_matches("http://");
            let addr = addr.split(['/', ' ']).next().unwrap_or_default();
            return Ok(addr.parse()?);
        }
    }
    Err(format!("the program ended without printing {prefix:?}").into())
}

#[tokio::test]
async fn the_binary_serves_the_routes_and_metrics_and_stops_on_sigterm() -> TestResult {
    let child = Command::new(env!("CARGO_BIN_EXE_accountservice-axum"))
        .args(["--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0"])
        .env_remove("ACCOUNTSERVICE_ADDR")
        .env_remove("ACCOUNTSERVICE_METRICS_ADDR")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut running = Running(child);
    let stdout = running
        .0
        .stdout
        .take()
        .ok_or("the child's standard output")?;
    let mut lines = BufReader::new(stdout).lines();
    // The lines come at start-up, read on a thread of their own so that a silent child cannot hang the test.
    let (addr, metrics_addr, lines) = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::task::spawn_blocking(move || -> TestResult<(SocketAddr, SocketAddr, _)> {
            let addr = address_after(&mut lines, "accountservice-axum listening on ")?;
            let metrics_addr = address_after(&mut lines, "metrics served on ")?;
            Ok((addr, metrics_addr, lines))
        }),
    )
    .await???;

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
        .args(["-TERM", &running.0.id().to_string()])
        .status()?;
    assert!(terminated.success());
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(status) = running.0.try_wait()? {
            break status;
        }
        if Instant::now() >= deadline {
            return Err("the service did not stop within 5 s of SIGTERM".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "it exits cleanly: {status}");
    let last = lines.map_while(Result::ok).last();
    assert_eq!(last.as_deref(), Some("accountservice-axum stopped"));
    Ok(())
}
