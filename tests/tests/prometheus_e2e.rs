//! End to end with a real Prometheus: the release accountservice is scraped through the tutorial's
//! file_sd target file, and every query of the tutorial, every dashboard panel and the generated rules
//! are evaluated by Prometheus itself.

use std::time::Duration;

use routemeter_tests::client::Client;
use routemeter_tests::process::{
    eventually, release_accountservice, required_program, start_accountservice, workspace_root,
};
use routemeter_tests::prometheus::Prometheus;
use routemeter_tests::TestResult;
use serde_json::Value;

const FOUND: u64 = 200;
const MISSING: u64 = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_the_accountservice_and_answers_the_tutorial_queries() -> TestResult {
    let Some(prometheus_binary) = required_program("prometheus", "prometheus")? else {
        return Ok(());
    };
    let executable = release_accountservice()?;
    let (_service, addr) = start_accountservice(&executable)?;

    // The deployment files are generated from the example's handlers; they must not drift.
    let root = workspace_root();
    let dashboard =
        std::fs::read_to_string(root.join("deploy/grafana/dashboards/accountservice.json"))?;
    let rules = std::fs::read_to_string(root.join("deploy/prometheus/rules.yml"))?;
    assert_eq!(
        dashboard,
        generated(&executable, "--print-dashboard")?,
        "regenerate the dashboard (see README)"
    );
    assert_eq!(
        rules,
        generated(&executable, "--print-rules")?,
        "regenerate the rules (see README)"
    );

    // The tutorial's target file and job, with a short scrape interval.
    let targets = format!(r#"[{{"targets": ["{addr}"], "labels": {{"task": "accountservice"}}}}]"#);
    let config =
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: [rules.yml]\n\
                  scrape_configs:\n  - job_name: swarm-service-endpoints\n    file_sd_configs:\n\
                  \x20     - files: [swarm-endpoints.json]\n        refresh_interval: 1s\n";
    let prometheus = Prometheus::start(
        &prometheus_binary,
        config,
        &[("swarm-endpoints.json", &targets), ("rules.yml", &rules)],
    )
    .await?;
    eventually(
        "the accountservice target to be up",
        Duration::from_secs(30),
        || async {
            let data = prometheus.api("/api/v1/targets").await.ok()?;
            let targets = data["activeTargets"].as_array()?;
            targets
                .iter()
                .any(|target| {
                    target["health"] == "up" && target["labels"]["task"] == "accountservice"
                })
                .then_some(())
        },
    )
    .await?;

    // The tutorial's load, faster: found and unknown accounts, spread over a few scrapes.
    let client = Client::new(addr);
    for i in 0..FOUND + MISSING {
        let path = if i < FOUND {
            format!("/accounts/{}", 10_000 + i % 100)
        } else {
            format!("/accounts/{}", 90_000 + i)
        };
        let reply = client.get(&path).await?;
        assert_eq!(
            reply.status.as_u16(),
            if i < FOUND { 200 } else { 404 },
            "{path}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // Query 1: the count equals the requests sent, once Prometheus has scraped them all.
    let total = (FOUND + MISSING) as f64;
    let count = eventually(
        "the scraped count to reach the requests sent",
        Duration::from_secs(30),
        || async {
            let samples = prometheus
                .query("accountservice_GetAccount_count{service=\"duration\"}")
                .await
                .ok()?;
            samples.into_iter().find(|(_, value)| *value == total)
        },
    )
    .await?;
    assert_eq!(count.0["task"], "accountservice");
    assert_eq!(count.0["job"], "swarm-service-endpoints");
    assert_eq!(count.0["instance"], addr.to_string());

    let by_code = |code: &'static str| {
        let prometheus = &prometheus;
        async move {
            let query =
                format!("accountservice_requests_total{{handler=\"GetAccount\",code=\"{code}\"}}");
            let samples = prometheus.query(&query).await?;
            TestResult::Ok(samples.first().map(|(_, value)| *value))
        }
    };
    assert_eq!(by_code("200").await?, Some(FOUND as f64));
    assert_eq!(by_code("404").await?, Some(MISSING as f64));

    // Query 2: latency quantiles in milliseconds, positive and ordered.
    let mut quantiles = prometheus
        .query("accountservice_GetAccount{service=\"duration\"} * 1000")
        .await?
        .into_iter()
        .map(|(labels, value)| {
            (
                labels["quantile"].as_str().unwrap_or_default().to_owned(),
                value,
            )
        })
        .collect::<Vec<_>>();
    quantiles.sort_by(|a, b| a.0.cmp(&b.0));
    let names: Vec<&str> = quantiles.iter().map(|(q, _)| q.as_str()).collect();
    assert_eq!(names, ["0.5", "0.9", "0.99"]);
    let values: Vec<f64> = quantiles.iter().map(|(_, value)| *value).collect();
    assert!(
        values
            .iter()
            .all(|ms| ms.is_finite() && *ms > 0.0 && *ms < 1000.0),
        "{values:?}"
    );
    assert!(
        values[0] <= values[1] && values[1] <= values[2],
        "{values:?}"
    );

    // Query 3: average latency over one minute, in milliseconds.
    let average = prometheus
        .query(
            "avg_over_time(accountservice_GetAccount_sum{service=\"duration\"}[1m]) / \
             avg_over_time(accountservice_GetAccount_count{service=\"duration\"}[1m]) * 1000",
        )
        .await?;
    assert_eq!(average.len(), 1, "{average:?}");
    assert!(
        average[0].1.is_finite() && average[0].1 > 0.0,
        "{average:?}"
    );

    // Query 4, for a Rust service: resident memory in MB per instance.
    let memory = prometheus
        .query("process_resident_memory_bytes{task=\"accountservice\"} / 1000000")
        .await?;
    assert_eq!(memory.len(), 1, "{memory:?}");
    assert!(memory[0].1 > 1.0 && memory[0].1 < 1000.0, "{memory:?}");

    // Every dashboard panel's query returns data.
    let dashboard: Value = serde_json::from_str(&dashboard)?;
    let panels = dashboard["panels"]
        .as_array()
        .ok_or("the dashboard has no panels")?;
    assert!(panels.len() >= 7, "{} panels", panels.len());
    for panel in panels {
        let targets = panel["targets"]
            .as_array()
            .ok_or("a panel has no targets")?;
        assert!(!targets.is_empty(), "{}", panel["title"]);
        for target in targets {
            let expr = target["expr"].as_str().ok_or("a target has no expr")?;
            let samples = prometheus.query(expr).await?;
            assert!(
                !samples.is_empty(),
                "panel {} query {expr} returned no data",
                panel["title"]
            );
        }
    }

    // The generated rules load and evaluate without error.
    let rule_groups = eventually(
        "the rules to be evaluated",
        Duration::from_secs(30),
        || async {
            let data = prometheus.api("/api/v1/rules").await.ok()?;
            let groups = data["groups"].as_array()?.clone();
            let evaluated = groups
                .iter()
                .flat_map(|group| group["rules"].as_array().cloned().unwrap_or_default())
                .all(|rule| rule["health"] == "ok");
            (evaluated && !groups.is_empty()).then_some(groups)
        },
    )
    .await?;
    let rule_count: usize = rule_groups
        .iter()
        .map(|group| group["rules"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(rule_count, 5);
    let recorded = prometheus.query("accountservice:requests:rate1m").await?;
    assert!(
        !recorded.is_empty(),
        "the recording rule has produced nothing"
    );
    Ok(())
}

/// What the example prints with `flag`.
fn generated(executable: &std::path::Path, flag: &str) -> TestResult<String> {
    let output = std::process::Command::new(executable).arg(flag).output()?;
    if !output.status.success() {
        return Err(format!(
            "accountservice {flag} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(String::from_utf8(output.stdout)?)
}
