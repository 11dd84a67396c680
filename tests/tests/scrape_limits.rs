//! The scrape limits of routemeter's stand-alone `/metrics` server, as promhttp's `Timeout` and
//! `MaxRequestsInFlight`: a scrape that renders too long, and one more than may render at once, are answered 503
//! with `Retry-After` and counted under `code="503"`. A registry whose collector can be made slow stands for an
//! expensive exposition; it is installed in this test binary's own process.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::StatusCode;
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{IntGauge, Registry};
use routemeter::{Config, ServeOptions};
use routemeter_tests::client::Client;
use routemeter_tests::metrics_server::MetricsServer;
use routemeter_tests::TestResult;

/// How long a slow collection takes.
const SLOW: Duration = Duration::from_millis(1500);
/// The scrape timeout the test sets.
const TIMEOUT: Duration = Duration::from_millis(300);

/// A gauge whose collection takes [`SLOW`] while `slow` is set.
struct SlowCollector {
    gauge: IntGauge,
    slow: Arc<AtomicBool>,
}

impl Collector for SlowCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.gauge.desc()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        if self.slow.load(Ordering::SeqCst) {
            std::thread::sleep(SLOW);
        }
        self.gauge.collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_surplus_scrapes_get_503_and_are_counted() -> TestResult {
    let slow = Arc::new(AtomicBool::new(true));
    let registry = Registry::new();
    registry.register(Box::new(SlowCollector {
        gauge: IntGauge::new("slow_gauge", "A gauge that takes long to collect.")?,
        slow: slow.clone(),
    }))?;
    let exporter = Config::new().registry(registry).install()?;
    let options = ServeOptions::default()
        .scrape_timeout(TIMEOUT)
        .max_concurrent_scrapes(1);
    let server = MetricsServer::start(exporter, options).await?;
    let client = Client::new(server.addr());

    // Too slow: 503 once the timeout passes, not when the rendering ends.
    let started = Instant::now();
    let reply = client.get("/metrics").await?;
    let elapsed = started.elapsed();
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        reply.text()
    );
    assert_eq!(reply.header("retry-after"), Some("1"));
    assert!(
        reply.text().contains("took longer than"),
        "{}",
        reply.text()
    );
    assert!(
        elapsed >= TIMEOUT && elapsed < SLOW,
        "answered after {elapsed:?}"
    );

    // The rendering still runs and holds the only place: the next scrape is refused at once.
    let started = Instant::now();
    let reply = client.get("/metrics").await?;
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        reply.text()
    );
    assert_eq!(reply.header("retry-after"), Some("1"));
    assert!(
        reply
            .text()
            .contains("too many scrapes in progress (the limit is 1)"),
        "{}",
        reply.text()
    );
    assert!(
        started.elapsed() < TIMEOUT,
        "refused after {:?}",
        started.elapsed()
    );

    // Once the rendering is over and collection is fast again, scrapes are served, and the refusals counted.
    slow.store(false, Ordering::SeqCst);
    let refused_meanwhile = AtomicU64::new(0);
    let metrics = routemeter_tests::process::eventually(
        "a scrape to be served again",
        Duration::from_secs(10),
        || async {
            let reply = client.get("/metrics").await.ok()?;
            if reply.status == StatusCode::SERVICE_UNAVAILABLE {
                refused_meanwhile.fetch_add(1, Ordering::SeqCst);
            }
            (reply.status == StatusCode::OK).then_some(reply)
        },
    )
    .await?;
    let text = metrics.text();
    let refused = 2 + refused_meanwhile.load(Ordering::SeqCst);
    assert!(
        text.contains(&format!(
            "routemeter_metrics_handler_requests_total{{code=\"503\"}} {refused}\n"
        )),
        "{text}"
    );
    assert!(text.contains("slow_gauge 0"), "{text}");
    server.stop().await
}
