//! A Grafana dashboard for every instrumented handler, built from what the exporter reports.

use routemeter::{Exporter, RegisteredHandler, FAILED_CODES};
use serde_json::{json, Value};

use crate::namespaces::{by_namespace, served_quantile};
use crate::rules::p99_across_replicas;

/// The datasource uid the dashboard's panels query; `deploy/grafana` provisions it under this uid.
pub const GRAFANA_DATASOURCE_UID: &str = "prometheus";

/// One panel: a title, a unit and its queries (`(PromQL, legend)`).
struct Panel {
    title: String,
    unit: &'static str,
    queries: Vec<(String, String)>,
}

/// The panels, per namespace: the tutorial's two (average latency, memory per instance), then
/// per-route request rate, error ratio, aborted responses, latency quantiles, in-flight requests
/// and response size, then open streams of long-lived routes and p99 latency across replicas
/// when handlers have them.
fn panels(exporter: &Exporter) -> Vec<Panel> {
    let mut panels = Vec::new();
    // The size panel shows the served quantile nearest the median.
    let size_quantile = exporter
        .quantiles()
        .iter()
        .min_by(|a, b| (*a - 0.5).abs().total_cmp(&(*b - 0.5).abs()))
        .and_then(|nearest| served_quantile(exporter, *nearest));
    let handlers = exporter.handlers();
    for (namespace, entries) in by_namespace(&handlers) {
        let per_handler = |query: &dyn Fn(&RegisteredHandler) -> String| -> Vec<(String, String)> {
            entries
                .iter()
                .map(|entry| (query(entry), entry.name().to_owned()))
                .collect()
        };
        panels.push(Panel {
            title: format!("{namespace}: average latency over 1m"),
            unit: "ms",
            queries: per_handler(&|entry| {
                let metric = entry.metric();
                format!(
                    "avg_over_time({metric}_sum{{service=\"duration\"}}[1m]) / \
                     avg_over_time({metric}_count{{service=\"duration\"}}[1m]) * 1000"
                )
            }),
        });
        panels.push(Panel {
            title: format!("{namespace}: memory per instance"),
            unit: "decmbytes",
            // Joined on the build-info gauge so only this service's instances show.
            queries: vec![(
                format!(
                    "process_resident_memory_bytes * on(instance) group_left() \
                     {namespace}_build_info / 1000000"
                ),
                "{{instance}}".to_owned(),
            )],
        });
        let requests = format!("{namespace}_requests_total");
        panels.push(Panel {
            title: format!("{namespace}: requests per second"),
            unit: "reqps",
            queries: vec![(
                format!("sum by (handler) (rate({requests}[1m]))"),
                "{{handler}}".to_owned(),
            )],
        });
        panels.push(Panel {
            title: format!("{namespace}: error ratio (5xx, error, panic, body_error)"),
            unit: "percentunit",
            // `or ... * 0` keeps a line at zero for routes that have had no errors yet.
            queries: vec![(
                format!(
                    "(sum by (handler) (rate({requests}{{code=~\"{FAILED_CODES}\"}}[1m])) \
                     or sum by (handler) (rate({requests}[1m])) * 0) \
                     / sum by (handler) (rate({requests}[1m]))"
                ),
                "{{handler}}".to_owned(),
            )],
        });
        panels.push(Panel {
            title: format!("{namespace}: responses aborted by the client"),
            unit: "reqps",
            // Bodies dropped before their end, seen by services that serve through `Metered`.
            queries: vec![(
                format!(
                    "sum by (handler) (rate({requests}{{code=\"aborted\"}}[1m])) \
                     or sum by (handler) (rate({requests}[1m])) * 0"
                ),
                "{{handler}}".to_owned(),
            )],
        });
        panels.push(Panel {
            title: format!("{namespace}: latency quantiles"),
            unit: "ms",
            queries: per_handler(&|entry| {
                format!("{}{{service=\"duration\"}} * 1000", entry.metric())
            })
            .into_iter()
            .map(|(query, name)| (query, format!("{name} q{{{{quantile}}}}")))
            .collect(),
        });
        panels.push(Panel {
            title: format!("{namespace}: requests in flight"),
            unit: "short",
            queries: vec![(
                format!("sum by (handler) ({namespace}_requests_in_flight)"),
                "{{handler}}".to_owned(),
            )],
        });
        if let Some(quantile) = &size_quantile {
            panels.push(Panel {
                title: if quantile == "0.5" {
                    format!("{namespace}: median response size")
                } else {
                    format!("{namespace}: response size, quantile {quantile}")
                },
                unit: "bytes",
                queries: per_handler(&|entry| {
                    format!(
                        "{}{{service=\"size\",quantile=\"{quantile}\"}}",
                        entry.metric()
                    )
                }),
            });
        }
        if entries.iter().any(|entry| entry.is_stream()) {
            panels.push(Panel {
                title: format!("{namespace}: open streams"),
                unit: "short",
                queries: vec![(
                    format!("sum by (handler) ({namespace}_streams_open)"),
                    "{{handler}}".to_owned(),
                )],
            });
        }
        let histograms: Vec<&RegisteredHandler> = entries
            .iter()
            .copied()
            .filter(|entry| entry.has_histogram())
            .collect();
        if !histograms.is_empty() {
            panels.push(Panel {
                title: format!("{namespace}: p99 latency across replicas"),
                unit: "ms",
                queries: vec![(
                    format!(
                        "{} * 1000",
                        p99_across_replicas(namespace, &histograms, "handler")
                    ),
                    "{{handler}}".to_owned(),
                )],
            });
        }
    }
    panels
}

/// A Grafana dashboard (its JSON model, as Grafana's provisioning reads it) with a panel set for
/// every namespace of `exporter`: the tutorial's average latency and memory per instance, then
/// request rate, error ratio, aborted responses, latency quantiles, in-flight requests and
/// response size per route, open streams of long-lived routes, and p99 latency across replicas
/// for handlers that keep the histogram. Its panels query the
/// Prometheus datasource with uid [`GRAFANA_DATASOURCE_UID`].
pub fn grafana_dashboard(exporter: &Exporter, title: &str) -> String {
    let panels: Vec<Value> = panels(exporter)
        .into_iter()
        .enumerate()
        .map(|(index, panel)| {
            let id = index + 1;
            let targets: Vec<Value> = panel
                .queries
                .iter()
                .zip(b'A'..=b'Z')
                .map(|((expr, legend), ref_id)| {
                    json!({
                        "datasource": { "type": "prometheus", "uid": GRAFANA_DATASOURCE_UID },
                        "expr": expr,
                        "legendFormat": legend,
                        "refId": char::from(ref_id).to_string(),
                    })
                })
                .collect();
            json!({
                "id": id,
                "type": "timeseries",
                "title": panel.title,
                "datasource": { "type": "prometheus", "uid": GRAFANA_DATASOURCE_UID },
                "gridPos": { "h": 8, "w": 12, "x": (index % 2) * 12, "y": (index / 2) * 8 },
                "fieldConfig": { "defaults": { "unit": panel.unit }, "overrides": [] },
                "targets": targets,
            })
        })
        .collect();
    let dashboard = json!({
        "uid": "routemeter",
        "title": title,
        "tags": ["routemeter"],
        "timezone": "browser",
        "refresh": "5s",
        "schemaVersion": 39,
        "time": { "from": "now-15m", "to": "now" },
        "panels": panels,
    });
    serde_json::to_string_pretty(&dashboard).unwrap_or_default() + "\n"
}
