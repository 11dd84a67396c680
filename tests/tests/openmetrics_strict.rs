//! Every format of `/metrics` read by a strict reader of its own: OpenMetrics by the parser of the Python
//! `prometheus_client` (Debian's `python3-prometheus-client`), the text format by `promtool check metrics`, both
//! from one exporter whose handlers keep native and classic histograms and have exemplars, beside a registry
//! with hostile HELP and label values. The exemplars' trace ids must come back out of the OpenMetrics parser.

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use opentelemetry::context::FutureExt as _;
use prometheus::{HistogramOpts, HistogramVec, IntCounter, IntGaugeVec, Opts, Registry};
use routemeter::{Exporter, TEXT_CONTENT_TYPE};
use routemeter_tests::client::Client;
use routemeter_tests::process::required_program;
use routemeter_tests::server::{text, TestServer};
use routemeter_tests::strict::{python_with_the_parser, read_openmetrics, run};
use routemeter_tests::trace::{context_of, traceparent};
use routemeter_tests::TestResult;

#[routemeter::instrumented(name = "get_native", route = "GET /native/{id}", histogram = "native")]
async fn get_native() -> Response<Full<Bytes>> {
    text(StatusCode::OK, "native\n")
}

#[routemeter::instrumented(name = "get_classic", route = "GET /classic", histogram = true)]
async fn get_classic() -> Response<Full<Bytes>> {
    text(StatusCode::NOT_FOUND, "classic\n")
}

#[routemeter::instrumented(name = "post_plain", route = "POST /plain/q\"uote\\back")]
async fn post_plain() -> Response<Full<Bytes>> {
    text(StatusCode::SERVICE_UNAVAILABLE, "plain\n")
}

/// A registry with what a writer must escape, and a counter whose name lacks `_total`.
fn hostile_registry() -> TestResult<Registry> {
    let registry = Registry::new();
    let jobs = IntGaugeVec::new(
        Opts::new(
            "strict_jobs_running",
            "Jobs \"running\" \\ now,\na second line and ünï©ødé ✓",
        ),
        &["queue"],
    )?;
    for queue in ["q\"uote", "back\\slash", "new\nline", "# EOF", "ünï ✓"] {
        jobs.with_label_values(&[queue]).set(3);
    }
    registry.register(Box::new(jobs))?;
    let events = IntCounter::new("strict_events", "Events counted without the _total suffix.")?;
    events.inc_by(7);
    registry.register(Box::new(events))?;
    let latency = HistogramVec::new(
        HistogramOpts::new("strict_job_seconds", "Job latency.").buckets(vec![0.1, 1.0]),
        &["queue"],
    )?;
    latency.with_label_values(&["a"]).observe(0.5);
    registry.register(Box::new(latency))?;
    Ok(registry)
}

async fn serve(exporter: Exporter) -> TestResult<TestServer> {
    TestServer::start(move |request: Request<Incoming>| {
        let exporter = exporter.clone();
        async move {
            let path = request.uri().path().to_owned();
            let context = context_of(request.headers()).unwrap_or_default();
            match path.as_str() {
                "/metrics" => exporter.respond(&request),
                "/classic" => get_classic().with_context(context).await,
                "/plain" => post_plain().with_context(context).await,
                _ => get_native().with_context(context).await,
            }
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openmetrics_passes_a_strict_parser_and_text_passes_promtool() -> TestResult {
    let Some(python) = python_with_the_parser()? else {
        return Ok(());
    };
    let Some(promtool) = required_program("promtool", "prometheus")? else {
        return Ok(());
    };

    let exporter = routemeter::Config::new()
        .registry(hostile_registry()?)
        .install()?;
    let server = serve(exporter).await?;
    let client = Client::new(server.addr());
    let trace = 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736_u128;
    let traced = traceparent(trace);
    for (method, path) in [
        (Method::GET, "/native/1"),
        (Method::GET, "/classic"),
        (Method::POST, "/plain"),
    ] {
        client.request(method.clone(), path, &[], "").await?;
        client
            .request(method, path, &[("traceparent", traced.as_str())], "")
            .await?;
    }

    let (openmetrics, parsed, report) = read_openmetrics(&client, &python).await?;
    assert!(
        parsed,
        "the OpenMetrics parser refused the exposition: {report}\n{}",
        openmetrics.text()
    );
    // Family by family, with its sample count: a summary's 2 x (3 quantiles, sum, count,
    // created); a count and a created sample per code; 12 buckets, sum, count and created per
    // histogram; a registry histogram's 2 buckets and +Inf, sum and count.
    for family in [
        "family openmetrics_strict_get_native summary - 12",
        "family openmetrics_strict_post_plain summary - 12",
        "family openmetrics_strict_requests counter - 6",
        "family openmetrics_strict_request_duration_seconds histogram seconds 30",
        "family openmetrics_strict_requests_in_flight gauge - 3",
        "family openmetrics_strict_build_info gauge - 1",
        "family strict_events counter - 1",
        "family strict_jobs_running gauge - 5",
        "family strict_job_seconds histogram - 5",
        "family routemeter_metrics_handler_requests_in_flight gauge - 1",
    ] {
        assert!(
            report.lines().any(|line| line == family),
            "no `{family}` in:\n{report}"
        );
    }
    // The traced requests' exemplars: on each code's count, and on the histograms' buckets.
    let trace = format!("{trace:032x}");
    for exemplar in [
        format!("exemplar openmetrics_strict_requests_total {trace} 1"),
        format!("exemplar openmetrics_strict_request_duration_seconds_bucket {trace} "),
    ] {
        assert!(report.contains(&exemplar), "no `{exemplar}` in:\n{report}");
    }
    let exemplars = report
        .lines()
        .filter(|line| line.starts_with("exemplar "))
        .count();
    // Three codes (200, 404, 503), and the bucket of each of the two histograms' requests.
    assert_eq!(exemplars, 5, "{report}");

    let text = client.get("/metrics").await?;
    assert_eq!(text.header("content-type"), Some(TEXT_CONTENT_TYPE));
    let (checked, report) = run(&promtool, &["check", "metrics"], &text.body)?;
    // The only complaints allowed: the registry's counter without `_total`, on purpose, and the
    // tutorial's CamelCase names of the accountservice handlers the test helpers link in.
    for line in report.lines().filter(|line| !line.trim().is_empty()) {
        let expected = (line.starts_with("strict_events ") && line.contains("_total"))
            || (line.starts_with("accountservice_") && line.contains("camelCase"));
        assert!(expected, "promtool: {line}\n{report}\n{}", text.text());
    }
    assert!(checked || !report.is_empty(), "{report}");
    server.stop().await
}
