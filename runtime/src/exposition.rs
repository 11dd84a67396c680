//! The Prometheus text exposition format 0.0.4: routemeter's families and those of any
//! `prometheus` registry, merged and sorted by family name as Prometheus clients write them.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use crate::clock;
use crate::config::settings;
use crate::handler::HandlerMetrics;
use crate::outcome::Code;
use crate::registry::{Catalog, Entry};
use crate::Error;

/// The content type of the text format.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// One metric family, already written out.
struct Family {
    name: String,
    text: String,
}

/// What the `/metrics` handler reports about itself.
pub(crate) struct ScrapeStats {
    /// `(status, count)` for every status answered so far.
    pub(crate) requests: Vec<(u16, u64)>,
    pub(crate) in_flight: i64,
}

/// Writes every family: the handlers', the registries', and the scrape handler's own.
///
/// A registry family whose name routemeter already writes is left out (two families of one name
/// would make the whole scrape invalid); [`Error::Encode`] when a registry cannot be encoded.
pub(crate) fn render(
    catalog: &Catalog,
    registries: &[prometheus::Registry],
    scrapes: &ScrapeStats,
) -> Result<String, Error> {
    let now = clock::nanos_now();
    let mut families = Vec::with_capacity(catalog.entries().count() + 16);
    for (namespace, entries) in &catalog.namespaces {
        for entry in entries {
            families.push(summary_family(entry, now));
        }
        families.extend(namespace_families(namespace, entries));
    }
    families.extend(scrape_families(scrapes));

    let encoder = prometheus::TextEncoder::new();
    for registry in registries {
        for family in registry.gather() {
            let name = family.name().to_owned();
            if families.iter().any(|own| own.name == name) {
                continue;
            }
            let mut text = String::new();
            encoder
                .encode_utf8(std::slice::from_ref(&family), &mut text)
                .map_err(|err| Error::Encode(err.to_string()))?;
            families.push(Family { name, text });
        }
    }

    families.sort_by(|a, b| a.name.cmp(&b.name));
    let mut out = String::with_capacity(families.iter().map(|f| f.text.len()).sum());
    for family in families {
        out.push_str(&family.text);
    }
    Ok(out)
}

/// The seed's summary: `service="duration"` in seconds and `service="size"` in bytes.
fn summary_family(entry: &Entry, now: u64) -> Family {
    let info = entry.site.info();
    let metrics = entry.site.metrics();
    let name = &entry.metric;
    let mut text = String::with_capacity(1024);
    let help = format!("{} {}", info.method, info.path);
    header(&mut text, name, &help, "summary");
    let quantiles = settings().summary.quantiles();
    for (service, summary) in [("duration", &metrics.duration), ("size", &metrics.size)] {
        let snapshot = summary.snapshot(now);
        for (q, value) in quantiles.iter().zip(snapshot.quantiles.iter()) {
            let _ = write!(text, "{name}{{service=\"{service}\",quantile=\"{q}\"}} ");
            push_float(&mut text, *value);
            text.push('\n');
        }
        let _ = write!(text, "{name}_sum{{service=\"{service}\"}} ");
        push_float(&mut text, snapshot.sum);
        let _ = writeln!(text, "\n{name}_count{{service=\"{service}\"}} {}", snapshot.count);
    }
    Family {
        name: name.clone(),
        text,
    }
}

/// The families shared by every handler of a namespace.
fn namespace_families(namespace: &str, entries: &[Entry]) -> Vec<Family> {
    let mut families = Vec::with_capacity(4);

    let name = format!("{namespace}_requests_total");
    let mut text = String::with_capacity(256 * entries.len());
    header(
        &mut text,
        &name,
        "Requests handled, by outcome: the HTTP status, or error, cancelled or panic.",
        "counter",
    );
    for entry in entries {
        write_codes(&mut text, &name, entry, entry.site.metrics());
    }
    families.push(Family { name, text });

    let name = format!("{namespace}_requests_in_flight");
    let mut text = String::with_capacity(64 * entries.len());
    header(&mut text, &name, "Requests being handled right now.", "gauge");
    for entry in entries {
        let in_flight = entry.site.metrics().in_flight.load(Ordering::Relaxed);
        let _ = writeln!(text, "{name}{{{}}} {in_flight}", entry.handler_label);
    }
    families.push(Family { name, text });

    if entries.iter().any(|entry| entry.site.metrics().histogram.is_some()) {
        families.push(histogram_family(namespace, entries));
    }

    let name = format!("{namespace}_build_info");
    let version = entries
        .iter()
        .find_map(|entry| entry.site.info().crate_version)
        .unwrap_or("unknown");
    let mut text = String::new();
    header(
        &mut text,
        &name,
        "Always 1: the version of the service and of routemeter.",
        "gauge",
    );
    let _ = writeln!(
        text,
        "{name}{{version=\"{}\",routemeter_version=\"{}\"}} 1",
        escape_label(version),
        env!("CARGO_PKG_VERSION")
    );
    families.push(Family { name, text });
    families
}

fn write_codes(text: &mut String, name: &str, entry: &Entry, metrics: &HandlerMetrics) {
    // Sorted by the `code` label value as text, as Prometheus clients sort series:
    // the three-digit statuses, then cancelled, error, panic.
    let statuses = metrics.codes.iter().enumerate().take(Code::Error.slot());
    let outcomes = [Code::Cancelled, Code::Error, Code::Panic]
        .into_iter()
        .filter_map(|code| Some((code.slot(), metrics.codes.get(code.slot())?)));
    for (slot, count) in statuses.chain(outcomes) {
        let count = count.load(Ordering::Relaxed);
        if count > 0 {
            let code = Code::from_slot(slot).label();
            let _ = writeln!(text, "{name}{{{},code=\"{code}\"}} {count}", entry.labels);
        }
    }
}

fn histogram_family(namespace: &str, entries: &[Entry]) -> Family {
    let name = format!("{namespace}_request_duration_seconds");
    let mut text = String::new();
    header(
        &mut text,
        &name,
        "Request latency in seconds; sum it across replicas, unlike the summaries.",
        "histogram",
    );
    for entry in entries {
        let Some(histogram) = &entry.site.metrics().histogram else {
            continue;
        };
        let snapshot = histogram.snapshot();
        let labels = &entry.labels;
        for (bound, count) in snapshot.bounds.iter().zip(&snapshot.cumulative) {
            let _ = write!(text, "{name}_bucket{{{labels},le=\"");
            push_float(&mut text, *bound);
            let _ = writeln!(text, "\"}} {count}");
        }
        let total = snapshot.cumulative.last().copied().unwrap_or(0);
        let _ = writeln!(text, "{name}_bucket{{{labels},le=\"+Inf\"}} {total}");
        let _ = write!(text, "{name}_sum{{{labels}}} ");
        push_float(&mut text, snapshot.sum);
        let _ = writeln!(text, "\n{name}_count{{{labels}}} {total}");
    }
    Family { name, text }
}

fn scrape_families(scrapes: &ScrapeStats) -> [Family; 2] {
    let name = "routemeter_metrics_handler_requests_total".to_owned();
    let mut text = String::new();
    header(&mut text, &name, "Scrapes of /metrics, by HTTP status.", "counter");
    for (status, count) in &scrapes.requests {
        let _ = writeln!(text, "{name}{{code=\"{status}\"}} {count}");
    }
    let requests = Family { name, text };

    let name = "routemeter_metrics_handler_requests_in_flight".to_owned();
    let mut text = String::new();
    header(&mut text, &name, "Scrapes of /metrics being served right now.", "gauge");
    let _ = writeln!(text, "{name} {}", scrapes.in_flight);
    [requests, Family { name, text }]
}

fn header(text: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(text, "# HELP {name} {}", escape_help(help));
    let _ = writeln!(text, "# TYPE {name} {kind}");
}

/// Writes a sample value as Prometheus parsers read it: `NaN`, `+Inf`, `-Inf`, or the shortest
/// decimal that round-trips, with an exponent for very small or large magnitudes.
pub(crate) fn push_float(text: &mut String, value: f64) {
    if value.is_nan() {
        text.push_str("NaN");
    } else if value.is_infinite() {
        text.push_str(if value > 0.0 { "+Inf" } else { "-Inf" });
    } else if value != 0.0 && !(1e-4..1e21).contains(&value.abs()) {
        let _ = write!(text, "{value:e}");
    } else {
        let _ = write!(text, "{value}");
    }
}

/// Escapes a HELP text: backslash and line feed.
pub(crate) fn escape_help(help: &str) -> String {
    help.replace('\\', "\\\\").replace('\n', "\\n")
}

/// Escapes a label value: backslash, double quote and line feed.
pub(crate) fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn float(value: f64) -> String {
        let mut text = String::new();
        push_float(&mut text, value);
        text
    }

    #[test]
    fn floats_are_written_as_prometheus_reads_them() {
        assert_eq!(float(f64::NAN), "NaN");
        assert_eq!(float(f64::INFINITY), "+Inf");
        assert_eq!(float(f64::NEG_INFINITY), "-Inf");
        assert_eq!(float(0.0), "0");
        assert_eq!(float(0.012), "0.012");
        assert_eq!(float(293.0), "293");
        assert_eq!(float(1.5e-7), "1.5e-7");
        assert_eq!(float(2e22), "2e22");
        for value in [0.1, 1.0 / 3.0, 12345.678, 4.9e-324, f64::MAX] {
            assert_eq!(float(value).parse::<f64>().ok(), Some(value));
        }
    }

    #[test]
    fn escaping() {
        assert_eq!(escape_help("a\\b\nc\"d"), "a\\\\b\\nc\"d");
        assert_eq!(escape_label("a\\b\nc\"d é"), "a\\\\b\\nc\\\"d é");
    }
}
