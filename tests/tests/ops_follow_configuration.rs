//! The generated rules and dashboard follow the configuration: with quantiles 0.9 and 0.999 there
//! is no p99 alert on the summaries, the size panel shows the quantile nearest the median, a
//! handler with the histogram gets the aggregatable p99 alert and panel, and one with a native
//! histogram gets them from its native histogram first. `promtool` checks the rules.

use std::process::Command;

use bytes::Bytes;
use http_body_util::Full;
use hyper::Response;
use routemeter_tests::process::required_program;
use routemeter_tests::TestResult;
use serde_json::Value;

#[routemeter::instrumented(name = "Summarised", route = "GET /summarised", namespace = "shop")]
async fn summarised() -> Response<Full<Bytes>> {
    Response::new(Full::new(Bytes::new()))
}

#[routemeter::instrumented(
    name = "Histogrammed",
    route = "GET /histogrammed",
    namespace = "shop",
    histogram = true
)]
async fn histogrammed() -> Response<Full<Bytes>> {
    Response::new(Full::new(Bytes::new()))
}

#[routemeter::instrumented(
    name = "Native",
    route = "GET /native",
    namespace = "shop",
    histogram = "native"
)]
async fn native() -> Response<Full<Bytes>> {
    Response::new(Full::new(Bytes::new()))
}

#[test]
fn rules_and_dashboard_follow_the_quantiles_and_histograms_in_force() -> TestResult {
    let _ = (summarised, histogrammed, native);
    let exporter = routemeter::Config::new()
        .quantiles(vec![0.9, 0.999])
        .install()?;

    let rules = routemeter_ops::prometheus_rules(&exporter, Default::default());
    assert!(!rules.contains("\"ShopHighLatencyP99\""), "{rules}");
    assert!(!rules.contains("quantile=\\\"0.99\\\""), "{rules}");
    assert!(
        rules.contains("\"ShopHighLatencyP99AcrossReplicas\""),
        "{rules}"
    );
    // Every handler with a histogram from its classic buckets, the native one from its native
    // histogram first.
    assert!(
        rules
            .contains("shop_request_duration_seconds_bucket{handler=~\\\"Histogrammed|Native\\\"}"),
        "{rules}"
    );
    assert!(
        rules.contains(
            "(histogram_quantile(0.99, sum by (job, handler) \
             (rate(shop_request_duration_seconds{handler=~\\\"Native\\\"}[5m]))) or "
        ),
        "{rules}"
    );
    assert!(
        rules.contains(&format!("code=~\\\"{}\\\"", routemeter::FAILED_CODES)),
        "{rules}"
    );
    if let Some(promtool) = required_program("promtool", "prometheus")? {
        let path =
            std::env::temp_dir().join(format!("routemeter-rules-{}.yml", std::process::id()));
        std::fs::write(&path, &rules)?;
        let output = Command::new(promtool)
            .arg("check")
            .arg("rules")
            .arg(&path)
            .output();
        let _ = std::fs::remove_file(&path);
        let output = output?;
        let text = String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{text}\n{rules}");
        // shop's five, and four for the accountservice's handlers that the test helpers link
        // in: neither namespace has a p99 alert on its summaries.
        assert!(text.contains("SUCCESS: 9 rules found"), "{text}");
    }

    let dashboard: Value =
        serde_json::from_str(&routemeter_ops::grafana_dashboard(&exporter, "shop"))?;
    let panels = dashboard["panels"].as_array().ok_or("no panels")?;
    let titled = |title: &str| panels.iter().find(|panel| panel["title"] == title);
    let size = titled("shop: response size, quantile 0.9").ok_or("no size panel")?;
    assert_eq!(
        size["targets"][0]["expr"],
        "shop_Histogrammed{service=\"size\",quantile=\"0.9\"}"
    );
    assert!(titled("shop: median response size").is_none());
    let across = titled("shop: p99 latency across replicas").ok_or("no histogram panel")?;
    let expr = across["targets"][0]["expr"].as_str().unwrap_or_default();
    assert!(
        expr.starts_with(
            "(histogram_quantile(0.99, sum by (handler) \
             (rate(shop_request_duration_seconds{handler=~\"Native\"}[5m]))) or \
             histogram_quantile(0.99, sum by (handler, le)"
        ),
        "{expr}"
    );
    Ok(())
}
