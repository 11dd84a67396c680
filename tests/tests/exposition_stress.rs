//! `/metrics` under stress: hostile text in HELP and label values, scrapes racing heavy load, and a registry
//! large enough that one scrape takes a while.
//!
//! - Escaping: the only free text routemeter itself writes is the route's path (in HELP and in the `route`
//!   label): the attribute accepts quotes, backslashes and non-ASCII there, but no whitespace, so no newline. A
//!   custom `prometheus` registry served beside (`Config::registry`) brings the rest: a HELP and label values
//!   with quotes, backslashes, newlines, non-ASCII and the text format's own syntax. The whole exposition must
//!   satisfy `promtool check metrics` and the strict parser, and every text must come back exactly.
//! - Concurrent scrapes during heavy load lose no observation: at the end the counts are exact.
//! - A scrape of a large registry does not stop requests from being handled meanwhile.
//!
//! The handlers are instrumented here (namespace `exposition_stress`, the test crate's name) and served by
//! hyper servers on 127.0.0.1; each test has its own handlers and its own exporter.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use prometheus::{IntGaugeVec, Opts, Registry};
use routemeter::Config;
use routemeter_tests::exposition::Exposition;
use routemeter_tests::process::required_program;
use routemeter_tests::series::HandlerSeries;
use routemeter_tests::server::{text, TestServer};
use routemeter_tests::TestResult;

const NAMESPACE: &str = "exposition_stress";

/// The route of [`escapes`], as the attribute's string literal holds it.
const ESCAPES_ROUTE: &str = "/esc/q\"uote/back\\slash/ünï©ødé✓/{id}";
const ESCAPES: HandlerSeries = HandlerSeries::new(NAMESPACE, "Escapes", "GET", ESCAPES_ROUTE);
const LOADED: HandlerSeries = HandlerSeries::new(NAMESPACE, "Loaded", "GET", "/loaded");
const QUICK: HandlerSeries = HandlerSeries::new(NAMESPACE, "Quick", "GET", "/quick");

/// HELP text with everything a writer must escape, or must not.
const TRICKY_HELP: &str = "He said \"hi\" \\ a back\\slash,\na new line\n# TYPE tricky counter\n\
                           and ünï©ødé ✓ \\n (not a new line)";

/// Label values with everything a writer must escape, and the format's own syntax.
const TRICKY_VALUES: [&str; 9] = [
    "q\"uote",
    "back\\slash",
    "new\nline",
    "ünï©ødé ✓ 日本語",
    "all three: \"\\\n\"",
    "ends with a backslash\\",
    "} , = { # not syntax",
    "\\n is not a new line",
    "\"",
];

#[routemeter::instrumented(name = "Escapes", route = "GET /esc/q\"uote/back\\slash/ünï©ødé✓/{id}")]
async fn escapes() -> Response<Full<Bytes>> {
    text(StatusCode::OK, "escaped")
}

/// The answer of [`loaded`]; its length is the size recorded per request.
const LOADED_BODY: &str = "loaded: seventeen";

#[routemeter::instrumented(name = "Loaded", route = "GET /loaded", histogram = true)]
async fn loaded() -> Response<Full<Bytes>> {
    // Yield once, so requests interleave with scrapes inside the handler too.
    tokio::task::yield_now().await;
    text(StatusCode::OK, LOADED_BODY)
}

#[routemeter::instrumented(name = "Quick", route = "GET /quick")]
async fn quick(finished: Arc<Mutex<Vec<Instant>>>) -> Response<Full<Bytes>> {
    if let Ok(mut finished) = finished.lock() {
        finished.push(Instant::now());
    }
    text(StatusCode::OK, "quick")
}

/// A registry whose one family has [`TRICKY_HELP`] and a series per [`TRICKY_VALUES`] (value `n + 1`).
fn tricky_registry() -> TestResult<Registry> {
    let registry = Registry::new();
    let gauge = IntGaugeVec::new(
        Opts::new("stress_tricky_info", TRICKY_HELP),
        &["n", "value"],
    )?;
    for (n, value) in TRICKY_VALUES.iter().enumerate() {
        gauge
            .with_label_values(&[n.to_string().as_str(), value])
            .set(n as i64 + 1);
    }
    registry.register(Box::new(gauge))?;
    Ok(registry)
}

/// Runs `promtool check metrics` on `text`; fails on any complaint but the tutorial's CamelCase family names.
fn promtool_check(promtool: &std::path::Path, text: &str) -> TestResult {
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(text.as_bytes())?;
    }
    let output = child.wait_with_output()?;
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    for line in report.lines().filter(|line| !line.trim().is_empty()) {
        // Handler names are CamelCase like the tutorial's routes; promtool only suggests otherwise.
        let family = line.split_whitespace().next().unwrap_or_default();
        let camel_case = line.contains("camelCase") && family.chars().any(char::is_uppercase);
        if !camel_case {
            return Err(format!("promtool complains: {line}\nfull report:\n{report}").into());
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_help_and_label_values_are_escaped() -> TestResult {
    let exporter = Config::new().registry(tricky_registry()?).install()?;
    let server = TestServer::start(move |request: Request<Incoming>| {
        let exporter = exporter.clone();
        async move {
            match request.uri().path() {
                "/escapes" => escapes().await,
                "/metrics" => exporter.respond(&request),
                _ => text(StatusCode::NOT_FOUND, "no such route"),
            }
        }
    })
    .await?;
    let client = server.client();
    assert_eq!(client.get("/escapes").await?.status, StatusCode::OK);
    let reply = client.get("/metrics").await?;
    assert_eq!(reply.status, StatusCode::OK);
    let text = reply.text();

    // The strict parser reads it all, and every text comes back as it was.
    let metrics = Exposition::parse(&text)?;
    let summary = metrics
        .family(&ESCAPES.summary())
        .ok_or("no Escapes family")?;
    assert_eq!(
        summary.help.as_deref(),
        Some(format!("GET {ESCAPES_ROUTE}").as_str())
    );
    assert_eq!(ESCAPES.requests(&metrics, "200"), 1.0);
    assert_eq!(ESCAPES.in_flight(&metrics), Some(0.0));
    let tricky = metrics
        .family("stress_tricky_info")
        .ok_or("no tricky family")?;
    assert_eq!(tricky.help.as_deref(), Some(TRICKY_HELP));
    assert_eq!(tricky.samples.len(), TRICKY_VALUES.len());
    for (n, value) in TRICKY_VALUES.iter().enumerate() {
        let n_label = n.to_string();
        assert_eq!(
            metrics.value(
                "stress_tricky_info",
                &[("n", n_label.as_str()), ("value", value)]
            ),
            Some(n as f64 + 1.0),
            "label value {value:?}"
        );
    }
    // And the escapes are the text format's, byte for byte (a lenient parser could hide a wrong one).
    for expected in [
        "# HELP exposition_stress_Escapes GET /esc/q\"uote/back\\\\slash/ünï©ødé✓/{id}\n",
        "route=\"/esc/q\\\"uote/back\\\\slash/ünï©ødé✓/{id}\"",
        "# HELP stress_tricky_info He said \"hi\" \\\\ a back\\\\slash,\\na new line\\n# TYPE tricky counter\\n\
         and ünï©ødé ✓ \\\\n (not a new line)\n",
        "value=\"all three: \\\"\\\\\\n\\\"\"",
        "value=\"ends with a backslash\\\\\"",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} not in the exposition:\n{text}"
        );
    }
    // Nothing hostile leaked onto a line of its own.
    assert!(!text.lines().any(|line| line.starts_with("# TYPE tricky")));

    match required_program("promtool", "prometheus")? {
        Some(promtool) => promtool_check(&promtool, &text)?,
        None => eprintln!("promtool missing: checked by the parser only"),
    }
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_scrapes_during_heavy_load_lose_no_observation() -> TestResult {
    const CLIENTS: usize = 8;
    const REQUESTS: usize = 250;
    const SCRAPERS: usize = 3;
    /// Bounds on each scraper's loop, in number and time.
    const MAX_SCRAPES: usize = 5_000;
    const MAX_TIME: Duration = Duration::from_secs(120);

    let exporter = routemeter::install()?;
    let server = TestServer::start(move |request: Request<Incoming>| {
        let exporter = exporter.clone();
        async move {
            match request.uri().path() {
                "/loaded" => loaded().await,
                "/metrics" => exporter.respond(&request),
                _ => text(StatusCode::NOT_FOUND, "no such route"),
            }
        }
    })
    .await?;
    let before = server.client().scrape().await?;
    let started = Instant::now();
    let load_done = Arc::new(AtomicBool::new(false));

    let mut scrapers = tokio::task::JoinSet::new();
    for _ in 0..SCRAPERS {
        let client = server.client();
        let load_done = load_done.clone();
        let before = before.clone();
        scrapers.spawn(async move {
            // Each scrape parses strictly, and nothing a scraper sees ever goes backwards.
            let (mut scrapes, mut last_count, mut last_histogram) = (0, 0.0, 0.0);
            while !load_done.load(Ordering::Relaxed)
                && scrapes < MAX_SCRAPES
                && started.elapsed() < MAX_TIME
            {
                let metrics = client.scrape().await?;
                let count = LOADED.count(&metrics, "duration") - LOADED.count(&before, "duration");
                let histogram = LOADED.histogram_count(&metrics) - LOADED.histogram_count(&before);
                let in_flight = LOADED.in_flight(&metrics).unwrap_or(-1.0);
                if count < last_count || histogram < last_histogram {
                    return Err(format!(
                        "went backwards: count {last_count} -> {count}, histogram {last_histogram} -> {histogram}"
                    )
                    .into());
                }
                if !(0.0..=CLIENTS as f64).contains(&in_flight) {
                    return Err(format!("in-flight gauge at {in_flight}").into());
                }
                (last_count, last_histogram) = (count, histogram);
                scrapes += 1;
            }
            TestResult::Ok(scrapes)
        });
    }

    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..CLIENTS {
        let client = server.client();
        clients.spawn(async move {
            for _ in 0..REQUESTS {
                let reply = client.get("/loaded").await?;
                if reply.status != StatusCode::OK || reply.body != LOADED_BODY.as_bytes() {
                    return Err(
                        format!("unexpected answer {}: {}", reply.status, reply.text()).into(),
                    );
                }
            }
            TestResult::Ok(())
        });
    }
    while let Some(joined) = clients.join_next().await {
        joined??;
    }
    let load_time = started.elapsed();
    load_done.store(true, Ordering::Relaxed);
    let mut scrapes = 0;
    while let Some(joined) = scrapers.join_next().await {
        scrapes += joined??;
    }

    let after = server.client().scrape().await?;
    let sent = (CLIENTS * REQUESTS) as f64;
    let delta = |read: &dyn Fn(&Exposition) -> f64| read(&after) - read(&before);
    assert_eq!(delta(&|m| LOADED.requests(m, "200")), sent);
    assert_eq!(delta(&|m| LOADED.requests_total(m)), sent);
    assert_eq!(delta(&|m| LOADED.count(m, "duration")), sent);
    assert_eq!(delta(&|m| LOADED.count(m, "size")), sent);
    assert_eq!(
        delta(&|m| LOADED.sum(m, "size")),
        sent * LOADED_BODY.len() as f64
    );
    assert_eq!(delta(&|m| LOADED.histogram_count(m)), sent);
    let infinity_bucket = |metrics: &Exposition| {
        metrics.value_or_zero(
            &format!("{NAMESPACE}_request_duration_seconds_bucket"),
            &[
                ("handler", "Loaded"),
                ("method", "GET"),
                ("route", "/loaded"),
                ("le", "+Inf"),
            ],
        )
    };
    assert_eq!(delta(&infinity_bucket), sent);
    assert_eq!(LOADED.in_flight(&after), Some(0.0));
    println!(
        "{sent} requests from {CLIENTS} clients in {load_time:.2?} ({:.0}/s) while {SCRAPERS} scrapers took \
         {scrapes} scrapes: counts exact",
        sent / load_time.as_secs_f64()
    );
    if scrapes < SCRAPERS {
        return Err(format!("only {scrapes} scrapes ran during the load").into());
    }
    server.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_scrape_of_a_large_registry_does_not_block_requests() -> TestResult {
    const SHARDS: usize = 100;
    const ITEMS: usize = 200;
    const SCRAPES: usize = 5;
    const REQUESTERS: usize = 2;
    /// Bounds on each requester's loop, in number and time.
    const MAX_REQUESTS: u64 = 1_000_000;
    const MAX_TIME: Duration = Duration::from_secs(120);

    let registry = Registry::new();
    let gauge = IntGaugeVec::new(
        Opts::new("stress_large_registry", "One of many series."),
        &["shard", "item"],
    )?;
    for shard in 0..SHARDS {
        for item in 0..ITEMS {
            // Fixed width: the prometheus crate (0.14) keys a vec's children by a hash of the label values
            // written one after the other, so ("1", "23") and ("12", "3") would be one series.
            gauge
                .with_label_values(&[format!("{shard:03}"), format!("{item:03}")])
                .set((shard * ITEMS + item) as i64);
        }
    }
    registry.register(Box::new(gauge))?;
    let exporter = Config::new().registry(registry).install()?;

    // Server side: when each render ran, and when each quick handler finished.
    let renders: Arc<Mutex<Vec<(Instant, Instant)>>> = Arc::default();
    let finished: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let server = TestServer::start({
        let (renders, finished) = (renders.clone(), finished.clone());
        move |request: Request<Incoming>| {
            let exporter = exporter.clone();
            let (renders, finished) = (renders.clone(), finished.clone());
            async move {
                match request.uri().path() {
                    "/quick" => quick(finished).await,
                    "/metrics" => {
                        let start = Instant::now();
                        let response = exporter.respond(&request);
                        if let Ok(mut renders) = renders.lock() {
                            renders.push((start, Instant::now()));
                        }
                        response
                    }
                    _ => text(StatusCode::NOT_FOUND, "no such route"),
                }
            }
        }
    })
    .await?;
    let before = server.client().scrape().await?;
    let series = before
        .family("stress_large_registry")
        .map_or(0, |family| family.samples.len());
    assert_eq!(series, SHARDS * ITEMS);
    renders.lock().map_err(|_| "poisoned")?.clear();
    finished.lock().map_err(|_| "poisoned")?.clear();

    let started = Instant::now();
    let scrapes_done = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let slowest = Arc::new(Mutex::new(Duration::ZERO));
    let mut requesters = tokio::task::JoinSet::new();
    for _ in 0..REQUESTERS {
        let client = server.client();
        let (scrapes_done, sent, slowest) = (scrapes_done.clone(), sent.clone(), slowest.clone());
        requesters.spawn(async move {
            while !scrapes_done.load(Ordering::Relaxed)
                && sent.load(Ordering::Relaxed) < MAX_REQUESTS
                && started.elapsed() < MAX_TIME
            {
                let request_started = Instant::now();
                let reply = client.get("/quick").await?;
                if reply.status != StatusCode::OK {
                    return Err(format!("/quick answered {}", reply.status).into());
                }
                sent.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut slowest) = slowest.lock() {
                    *slowest = (*slowest).max(request_started.elapsed());
                }
            }
            TestResult::Ok(())
        });
    }
    let scraper = server.client();
    let mut sizes = Vec::new();
    for _ in 0..SCRAPES {
        let reply = scraper.get("/metrics").await?;
        assert_eq!(reply.status, StatusCode::OK);
        sizes.push(reply.body.len());
    }
    scrapes_done.store(true, Ordering::Relaxed);
    while let Some(joined) = requesters.join_next().await {
        joined??;
    }

    let renders = renders.lock().map_err(|_| "poisoned")?.clone();
    let finished = finished.lock().map_err(|_| "poisoned")?.clone();
    let during = finished
        .iter()
        .filter(|at| renders.iter().any(|(start, end)| start < *at && *at < end))
        .count();
    let mut render_times: Vec<Duration> =
        renders.iter().map(|(start, end)| *end - *start).collect();
    render_times.sort_unstable();
    let median = render_times
        .get(render_times.len() / 2)
        .copied()
        .unwrap_or_default();
    let sent = sent.load(Ordering::Relaxed);
    let slowest = *slowest.lock().map_err(|_| "poisoned")?;
    println!(
        "{SCRAPES} scrapes of {series} series ({} bytes): median render {median:.2?}; {sent} requests meanwhile, \
         {during} of them handled during a render, slowest {slowest:.2?}",
        sizes.first().copied().unwrap_or_default()
    );
    assert_eq!(renders.len(), SCRAPES);
    assert!(
        during > 0,
        "no request was handled while a scrape rendered: renders {render_times:?}, {sent} requests"
    );

    // And every request was counted.
    let after = server.client().scrape().await?;
    assert_eq!(
        QUICK.requests(&after, "200") - QUICK.requests(&before, "200"),
        sent as f64
    );
    assert_eq!(
        QUICK.count(&after, "duration") - QUICK.count(&before, "duration"),
        sent as f64
    );
    server.stop().await
}
