//! Operations tooling for [routemeter]: a Grafana dashboard and Prometheus recording and
//! alerting rules, generated from the handlers an [`Exporter`](routemeter::Exporter) reports
//! and the configuration it was installed with.
//!
//! ```no_run
//! let exporter = routemeter::install()?;
//! std::fs::write("dashboard.json", routemeter_ops::grafana_dashboard(&exporter, "shop"))?;
//! let rules = routemeter_ops::prometheus_rules(&exporter, routemeter_ops::AlertThresholds::default());
//! std::fs::write("rules.yml", rules)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Both follow the configuration: a latency alert on the summaries only when they serve the
//! 0.99 quantile, and on the aggregatable histogram for handlers that keep one; a failed request
//! is always [`routemeter::FAILED_CODES`]. This crate is apart from `routemeter` so that services
//! pay for none of it (nor for `serde_json`) at run time.
//!
//! [routemeter]: https://docs.rs/routemeter

mod dashboard;
mod namespaces;
mod rules;

pub use dashboard::{grafana_dashboard, GRAFANA_DATASOURCE_UID};
pub use rules::{prometheus_rules, AlertThresholds};
