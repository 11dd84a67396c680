//! A Grafana dashboard for every instrumented handler, built from what the program knows of them.

use serde_json::{json, Value};

use crate::registry::{Catalog, Entry};

/// The datasource uid the dashboard's panels query; `deploy/grafana` provisions it under this uid.
pub const GRAFANA_DATASOURCE_UID: &str = "prometheus";

/// One panel: a title, a unit and its queries (`(PromQL, legend)`).
pub(crate) struct Panel {
    pub(crate) title: String,
    pub(crate) unit: &'static str,
    pub(crate) queries: Vec<(String, String)>,
}

/// The panels: the tutorial's two (average latency, memory per instance), then per-route request rate,
/// error ratio, latency quantiles, in-flight requests and response size.
pub(crate) fn panels(catalog: &Catalog) -> Vec<Panel> {
    let mut panels = Vec::new();
    for (namespace, entries) in &catalog.namespaces {
        let per_handler = |query: &dyn Fn(&Entry) -> String| -> Vec<(String, String)> {
            entries
                .iter()
                .map(|entry| (query(entry), entry.site.info().name.to_owned()))
                .collect()
        };
        panels.push(Panel {
            title: format!("{namespace}: average latency over 1m"),
            unit: "ms",
            queries: per_handler(&|entry| {
                let metric = &entry.metric;
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
            title: format!("{namespace}: error ratio (5xx, error, panic)"),
            unit: "percentunit",
            // `or ... * 0` keeps a line at zero for routes that have had no errors yet.
            queries: vec![(
                format!(
                    "(sum by (handler) (rate({requests}{{code=~\"5..|error|panic\"}}[1m])) \
                     or sum by (handler) (rate({requests}[1m])) * 0) \
                     / sum by (handler) (rate({requests}[1m]))"
                ),
                "{{handler}}".to_owned(),
            )],
        });
        panels.push(Panel {
            title: format!("{namespace}: latency quantiles"),
            unit: "ms",
            queries: per_handler(&|entry| {
                format!("{}{{service=\"duration\"}} * 1000", entry.metric)
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
        panels.push(Panel {
            title: format!("{namespace}: median response size"),
            unit: "bytes",
            queries: per_handler(&|entry| {
                format!("{}{{service=\"size\",quantile=\"0.5\"}}", entry.metric)
            }),
        });
    }
    panels
}

/// The dashboard's JSON model, as Grafana's provisioning reads it.
pub(crate) fn dashboard_json(catalog: &Catalog, title: &str) -> String {
    let panels: Vec<Value> = panels(catalog)
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
