//! The deployment files are valid: Prometheus configurations and rules by `promtool`, the Grafana
//! dashboard by its structure (Grafana cannot run here; the end-to-end test evaluates every panel's
//! query against a real Prometheus).

use std::process::Command;

use routemeter_tests::process::{required_program, workspace_root};
use routemeter_tests::TestResult;
use serde_json::Value;

fn promtool(args: &[&str]) -> TestResult<Option<String>> {
    let Some(promtool) = required_program("promtool", "prometheus")? else {
        return Ok(None);
    };
    let output = Command::new(promtool)
        .current_dir(workspace_root())
        .args(args)
        .output()?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "promtool {args:?}:\n{text}");
    Ok(Some(text))
}

#[test]
fn prometheus_configurations_are_valid() -> TestResult {
    for config in [
        "deploy/prometheus/prometheus.yml",
        "deploy/prometheus/prometheus-dockerswarm.yml",
        "deploy/prometheus/prometheus-compose.yml",
    ] {
        if let Some(text) = promtool(&["check", "config", config])? {
            assert!(text.contains("SUCCESS"), "{config}: {text}");
        }
    }
    Ok(())
}

#[test]
fn rules_are_valid() -> TestResult {
    if let Some(text) = promtool(&["check", "rules", "deploy/prometheus/rules.yml"])? {
        assert!(text.contains("SUCCESS: 5 rules found"), "{text}");
    }
    Ok(())
}

#[test]
fn dashboard_has_the_tutorial_panels_and_queries_the_provisioned_datasource() -> TestResult {
    let root = workspace_root();
    let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(
        root.join("deploy/grafana/dashboards/accountservice.json"),
    )?)?;
    let datasource = std::fs::read_to_string(
        root.join("deploy/grafana/provisioning/datasources/prometheus.yml"),
    )?;
    assert!(datasource.contains(&format!("uid: {}", routemeter_ops::GRAFANA_DATASOURCE_UID)));

    assert!(dashboard["uid"].is_string() && dashboard["title"].is_string());
    let panels = dashboard["panels"].as_array().ok_or("no panels")?;
    let mut ids = Vec::new();
    for panel in panels {
        let title = panel["title"].as_str().ok_or("a panel has no title")?;
        ids.push(panel["id"].as_u64().ok_or("a panel has no id")?);
        assert_eq!(panel["type"], "timeseries", "{title}");
        for key in ["h", "w", "x", "y"] {
            assert!(panel["gridPos"][key].is_u64(), "{title}: gridPos.{key}");
        }
        assert_eq!(
            panel["datasource"]["uid"],
            routemeter_ops::GRAFANA_DATASOURCE_UID,
            "{title}"
        );
        let targets = panel["targets"]
            .as_array()
            .ok_or("a panel has no targets")?;
        assert!(!targets.is_empty(), "{title}");
        for target in targets {
            assert!(
                target["expr"].as_str().is_some_and(|e| !e.is_empty()),
                "{title}"
            );
            assert!(target["refId"].is_string(), "{title}");
        }
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), panels.len(), "panel ids are unique");

    let exprs: Vec<&str> = panels
        .iter()
        .flat_map(|panel| panel["targets"].as_array().into_iter().flatten())
        .filter_map(|target| target["expr"].as_str())
        .collect();
    // The tutorial's two panels: average latency over 1 m and memory per instance.
    assert!(exprs.contains(
        &"avg_over_time(accountservice_GetAccount_sum{service=\"duration\"}[1m]) / \
          avg_over_time(accountservice_GetAccount_count{service=\"duration\"}[1m]) * 1000"
    ));
    assert!(exprs
        .iter()
        .any(|e| e.starts_with("process_resident_memory_bytes")));
    // Beyond the tutorial: rate, errors, aborted bodies, quantiles, in-flight, size.
    for wanted in [
        "requests_total",
        "code=~",
        "code=\"aborted\"",
        "{service=\"duration\"} * 1000",
        "requests_in_flight",
        "service=\"size\"",
    ] {
        assert!(
            exprs.iter().any(|e| e.contains(wanted)),
            "no panel query with {wanted}"
        );
    }
    Ok(())
}
