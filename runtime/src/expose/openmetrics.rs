//! OpenMetrics text 1.0.0: the families of the text format, with what OpenMetrics adds: a
//! counter's family is named without `_total`, every counter, summary and histogram series has a
//! `_created` sample (when the handler's metrics were created), the histogram has its `UNIT`,
//! `le` and `quantile` are canonical numbers, exemplars follow their samples (feature
//! `exemplars`), and `# EOF` ends the exposition.

use prometheus::proto::{Metric, MetricFamily, MetricType};

use crate::expose::catalog::RegisteredHandler;
use crate::expose::families::{
    service_version, Family, HandlerHistogram, Source, StreamFamily, SummaryReader,
    BUILD_INFO_HELP, IN_FLIGHT_HELP, REQUESTS_HELP, SCRAPE_IN_FLIGHT_HELP, SCRAPE_REQUESTS_HELP,
};
use crate::expose::scrapes::ScrapeStats;
use crate::expose::text::{
    escape_label, push_all, push_build_info, push_canonical_float, push_code, push_float,
    push_integer, push_unix_seconds,
};
#[cfg(feature = "exemplars")]
use crate::record::exemplars::Exemplar;
use crate::record::metrics::{HandlerMetrics, Measure};
use crate::record::outcome::Code;

/// The content type of OpenMetrics text 1.0.0.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Writes every family of `families`, the summaries reporting `quantiles` of their windows at
/// `now` on the process clock.
pub(crate) fn render(
    families: &[Family<'_>],
    scrapes: &ScrapeStats,
    quantiles: &[f64],
    now: u64,
) -> String {
    let mut context = Context {
        scrapes,
        quantiles: quantiles
            .iter()
            .map(|quantile| {
                let mut label = String::from(",quantile=\"");
                push_canonical_float(&mut label, *quantile);
                label.push_str("\"} ");
                label
            })
            .collect(),
        summaries: SummaryReader::new(families, quantiles.len(), now),
        codes: Vec::new(),
    };
    let mut out = String::with_capacity(2560 * families.len());
    for family in families {
        write(family, &mut out, &mut context);
    }
    out.push_str("# EOF\n");
    out
}

/// What every family of one scrape shares.
struct Context<'a> {
    scrapes: &'a ScrapeStats,
    /// `,quantile="0.5"} ` for each configured quantile, written once per scrape.
    quantiles: Vec<String>,
    summaries: SummaryReader<'a>,
    /// Where each handler's request counts are collected, one handler at a time.
    codes: Vec<(Code, u64)>,
}

fn write(family: &Family<'_>, out: &mut String, context: &mut Context<'_>) {
    let name = &*family.name;
    match &family.source {
        Source::Summary(entry) => write_summary(out, name, entry, context),
        Source::Requests(entries) => {
            let name = counter_family(name);
            header(out, name, "counter", &escape_label(REQUESTS_HELP));
            for entry in *entries {
                let metrics = entry.handler.metrics();
                metrics.collect_codes(&mut context.codes);
                for &(code, count) in &context.codes {
                    for (suffix, created) in [("_total{", false), ("_created{", true)] {
                        push_all(out, &[name, suffix, &entry.labels, ",code=\""]);
                        push_code(out, code);
                        out.push_str("\"} ");
                        if created {
                            push_unix_seconds(out, metrics.created);
                        } else {
                            push_integer(out, count);
                            push_request_exemplar(out, metrics, code);
                        }
                        out.push('\n');
                    }
                }
            }
        }
        Source::InFlight(entries) => {
            header(out, name, "gauge", &escape_label(IN_FLIGHT_HELP));
            for entry in *entries {
                push_all(out, &[name, "{", &entry.handler_label, "} "]);
                push_integer(out, entry.handler.metrics().in_flight());
                out.push('\n');
            }
        }
        Source::Histogram(entries, kind) => write_histogram(out, name, entries, *kind),
        Source::Streams(entries, family) => write_streams(out, name, entries, *family),
        Source::BuildInfo(entries) => {
            header(out, name, "gauge", &escape_label(BUILD_INFO_HELP));
            push_build_info(out, name, service_version(entries));
        }
        Source::ScrapeRequests => {
            let name = counter_family(name);
            header(out, name, "counter", &escape_label(SCRAPE_REQUESTS_HELP));
            for (status, count) in &context.scrapes.requests {
                for suffix in ["_total{code=\"", "_created{code=\""] {
                    push_all(out, &[name, suffix]);
                    push_integer(out, *status);
                    out.push_str("\"} ");
                    if suffix.starts_with("_total") {
                        push_integer(out, *count);
                    } else {
                        push_unix_seconds(out, context.scrapes.created);
                    }
                    out.push('\n');
                }
            }
        }
        Source::ScrapeInFlight => {
            header(out, name, "gauge", &escape_label(SCRAPE_IN_FLIGHT_HELP));
            push_all(out, &[name, " "]);
            push_integer(out, context.scrapes.in_flight);
            out.push('\n');
        }
        Source::Registry(family) => write_registry_family(out, family),
    }
}

/// A counter's family name: its samples' name without `_total`.
fn counter_family(name: &str) -> &str {
    name.strip_suffix("_total").unwrap_or(name)
}

/// `# TYPE` and `# HELP` lines; `help` is escaped already.
fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    push_all(
        out,
        &[
            "# TYPE ",
            name,
            " ",
            kind,
            "\n# HELP ",
            name,
            " ",
            help,
            "\n",
        ],
    );
}

/// The tutorial's summary, with a `_created` sample per `service`.
fn write_summary(
    out: &mut String,
    name: &str,
    entry: &RegisteredHandler,
    context: &mut Context<'_>,
) {
    let metrics = entry.handler.metrics();
    header(out, name, "summary", &entry.openmetrics_help);
    for measure in Measure::ALL {
        let service = measure.label();
        let (reading, values) = context.summaries.read(metrics.summary(measure));
        for (label, value) in context.quantiles.iter().zip(values) {
            push_all(out, &[name, "{service=\"", service, "\"", label]);
            push_float(out, *value);
            out.push('\n');
        }
        push_all(out, &[name, "_sum{service=\"", service, "\"} "]);
        push_float(out, reading.sum);
        push_all(out, &["\n", name, "_count{service=\"", service, "\"} "]);
        push_integer(out, reading.count);
        push_all(out, &["\n", name, "_created{service=\"", service, "\"} "]);
        push_unix_seconds(out, metrics.created);
        out.push('\n');
    }
}

fn write_histogram(
    out: &mut String,
    name: &str,
    entries: &[RegisteredHandler],
    kind: HandlerHistogram,
) {
    header(out, name, "histogram", &escape_label(kind.help()));
    push_all(out, &["# UNIT ", name, " ", kind.unit(), "\n"]);
    for entry in entries {
        let metrics = entry.handler.metrics();
        let Some(histogram) = kind.of(metrics) else {
            continue;
        };
        let snapshot = histogram.snapshot();
        let labels = &entry.labels;
        let bounds = snapshot.bounds.iter().chain([&f64::INFINITY]);
        for (index, (bound, count)) in bounds.zip(&snapshot.cumulative).enumerate() {
            push_all(out, &[name, "_bucket{", labels, ",le=\""]);
            push_canonical_float(out, *bound);
            out.push_str("\"} ");
            push_integer(out, *count);
            if kind == HandlerHistogram::Latency {
                push_bucket_exemplar(out, metrics, index);
            }
            out.push('\n');
        }
        let total = snapshot.cumulative.last().copied().unwrap_or(0);
        push_all(out, &[name, "_sum{", labels, "} "]);
        push_float(out, snapshot.sum);
        push_all(out, &["\n", name, "_count{", labels, "} "]);
        push_integer(out, total);
        push_all(out, &["\n", name, "_created{", labels, "} "]);
        push_unix_seconds(out, metrics.created);
        out.push('\n');
    }
}

/// A long-lived route's family: the open-streams gauge, the lifetimes (a summary without
/// quantiles) or the bytes sent (a counter).
fn write_streams(
    out: &mut String,
    name: &str,
    entries: &[RegisteredHandler],
    family: StreamFamily,
) {
    let name = counter_family(name);
    header(out, name, family.kind(), &escape_label(family.help()));
    for entry in entries {
        let metrics = entry.handler.metrics();
        let Some(streams) = &metrics.streams else {
            continue;
        };
        let streams = streams.read();
        match family {
            StreamFamily::Open => {
                push_all(out, &[name, "{", &entry.handler_label, "} "]);
                push_integer(out, streams.open);
                out.push('\n');
                continue;
            }
            StreamFamily::Duration => {
                push_all(out, &[name, "_sum{", &entry.labels, "} "]);
                push_float(out, streams.lifetimes);
                push_all(out, &["\n", name, "_count{", &entry.labels, "} "]);
                push_integer(out, streams.closed);
            }
            StreamFamily::Sent => {
                push_all(out, &[name, "_total{", &entry.labels, "} "]);
                push_integer(out, streams.sent);
            }
        }
        push_all(out, &["\n", name, "_created{", &entry.labels, "} "]);
        push_unix_seconds(out, metrics.created);
        out.push('\n');
    }
}

/// The exemplar of the requests that ended with `code`, if any.
#[cfg(feature = "exemplars")]
fn push_request_exemplar(out: &mut String, metrics: &HandlerMetrics, code: Code) {
    if let Some(exemplar) = metrics.exemplars().and_then(|found| found.request(code)) {
        push_exemplar(out, &exemplar);
    }
}

/// The exemplar of classic bucket `bucket` (the last one is `+Inf`), if any.
#[cfg(feature = "exemplars")]
fn push_bucket_exemplar(out: &mut String, metrics: &HandlerMetrics, bucket: usize) {
    if let Some(exemplar) = metrics.exemplars().and_then(|found| found.bucket(bucket)) {
        push_exemplar(out, &exemplar);
    }
}

/// ` # {trace_id="..."} value timestamp`, after the sample it belongs to.
#[cfg(feature = "exemplars")]
fn push_exemplar(out: &mut String, exemplar: &Exemplar) {
    push_all(out, &[" # {trace_id=\"", &exemplar.trace.hex(), "\"} "]);
    push_float(out, exemplar.value);
    out.push(' ');
    push_unix_seconds(out, exemplar.at);
}

/// Without the `exemplars` feature, samples have none.
#[cfg(not(feature = "exemplars"))]
fn push_request_exemplar(_: &mut String, _: &HandlerMetrics, _: Code) {}

/// Without the `exemplars` feature, samples have none.
#[cfg(not(feature = "exemplars"))]
fn push_bucket_exemplar(_: &mut String, _: &HandlerMetrics, _: usize) {}

/// A family of a `prometheus` registry, in OpenMetrics: untyped families are `unknown`, a
/// counter's family loses `_total` and its samples gain it, a histogram gets its `+Inf` bucket.
fn write_registry_family(out: &mut String, family: &MetricFamily) {
    let help = escape_label(family.help());
    let kind = family.get_field_type();
    let name = match kind {
        MetricType::COUNTER => counter_family(family.name()),
        _ => family.name(),
    };
    let type_name = match kind {
        MetricType::COUNTER => "counter",
        MetricType::GAUGE => "gauge",
        MetricType::SUMMARY => "summary",
        MetricType::HISTOGRAM => "histogram",
        MetricType::UNTYPED => "unknown",
    };
    header(out, name, type_name, &help);
    for metric in family.get_metric() {
        let labels = labels_of(metric);
        let sample = |out: &mut String, suffix: &str, extra: &str, value: &dyn Fn(&mut String)| {
            push_all(out, &[name, suffix]);
            match (labels.is_empty(), extra.is_empty()) {
                (true, true) => {}
                (true, false) => push_all(out, &["{", extra, "}"]),
                (false, true) => push_all(out, &["{", &labels, "}"]),
                (false, false) => push_all(out, &["{", &labels, ",", extra, "}"]),
            }
            out.push(' ');
            value(out);
            if metric.timestamp_ms() != 0 {
                out.push(' ');
                push_float(out, metric.timestamp_ms() as f64 / 1000.0);
            }
            out.push('\n');
        };
        match kind {
            MetricType::COUNTER => {
                let value = metric.get_counter().get_value();
                sample(out, "_total", "", &|out| push_float(out, value));
            }
            MetricType::GAUGE => {
                let value = metric.get_gauge().get_value();
                sample(out, "", "", &|out| push_float(out, value));
            }
            MetricType::UNTYPED => {
                #[allow(deprecated)] // the plain model keeps untyped values for encoders only
                let value = metric.get_untyped().get_value();
                sample(out, "", "", &|out| push_float(out, value));
            }
            MetricType::SUMMARY => {
                let summary = metric.get_summary();
                for quantile in summary.get_quantile() {
                    let mut extra = String::from("quantile=\"");
                    push_canonical_float(&mut extra, quantile.quantile());
                    extra.push('"');
                    sample(out, "", &extra, &|out| push_float(out, quantile.value()));
                }
                sample(out, "_sum", "", &|out| {
                    push_float(out, summary.sample_sum())
                });
                sample(out, "_count", "", &|out| {
                    push_integer(out, summary.sample_count());
                });
            }
            MetricType::HISTOGRAM => {
                let histogram = metric.get_histogram();
                let mut infinite = false;
                for bucket in histogram.get_bucket() {
                    infinite |= bucket.upper_bound() == f64::INFINITY;
                    let mut extra = String::from("le=\"");
                    push_canonical_float(&mut extra, bucket.upper_bound());
                    extra.push('"');
                    sample(out, "_bucket", &extra, &|out| {
                        push_integer(out, bucket.cumulative_count());
                    });
                }
                let count = histogram.get_sample_count();
                if !infinite {
                    sample(out, "_bucket", "le=\"+Inf\"", &|out| {
                        push_integer(out, count)
                    });
                }
                sample(out, "_sum", "", &|out| {
                    push_float(out, histogram.get_sample_sum());
                });
                sample(out, "_count", "", &|out| push_integer(out, count));
            }
        }
    }
}

/// A registry metric's labels, `a="x",b="y"`, escaped.
fn labels_of(metric: &Metric) -> String {
    let mut labels = String::new();
    for (index, pair) in metric.get_label().iter().enumerate() {
        if index > 0 {
            labels.push(',');
        }
        push_all(
            &mut labels,
            &[pair.name(), "=\"", &escape_label(pair.value()), "\""],
        );
    }
    labels
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expose::catalog::Catalog;
    use crate::expose::families::gather;
    use crate::record::handler::Handler;
    use crate::record::handler_info::{HandlerInfo, HistogramKind};
    use crate::record::outcome::Classification;

    #[test]
    fn openmetrics_adds_created_units_canonical_labels_and_eof() {
        let handler: &'static Handler = Box::leak(Box::new(Handler::new(HandlerInfo {
            namespace: Some("om_test"),
            histogram: Some(HistogramKind::Native),
            crate_version: Some("1.2.3"),
            ..HandlerInfo::plain("Get", "GET", "/q\"uote/{id}")
        })));
        let metrics = handler.metrics();
        metrics.start();
        metrics.record(
            3_000_000,
            10_000_000_000,
            Classification {
                code: Code::Status(200),
                size: Some(10),
            },
        );
        let catalog = Catalog::build([handler].into_iter(), None);
        let families = gather(&catalog, &[]);
        let stats = ScrapeStats {
            requests: vec![(200, 2)],
            in_flight: 1,
            created: 1_700_000_000_000_000_000,
        };
        let text = render(&families, &stats, &[0.5, 1.0], 10_000_000_000);
        let mut created = String::new();
        push_unix_seconds(&mut created, metrics.created);
        let labels = "handler=\"Get\",method=\"GET\",route=\"/q\\\"uote/{id}\"";
        assert!(text.contains("om_test_Get{service=\"duration\",quantile=\"1.0\"} 0.00"));
        for line in [
            "# TYPE om_test_Get summary".to_owned(),
            "# HELP om_test_Get GET /q\\\"uote/{id}".to_owned(),
            "om_test_Get_sum{service=\"duration\"} 0.003".to_owned(),
            "om_test_Get_count{service=\"duration\"} 1".to_owned(),
            format!("om_test_Get_created{{service=\"size\"}} {created}"),
            "# TYPE om_test_requests counter".to_owned(),
            format!("om_test_requests_total{{{labels},code=\"200\"}} 1"),
            format!("om_test_requests_created{{{labels},code=\"200\"}} {created}"),
            "# TYPE om_test_request_duration_seconds histogram".to_owned(),
            "# UNIT om_test_request_duration_seconds seconds".to_owned(),
            format!("om_test_request_duration_seconds_bucket{{{labels},le=\"0.005\"}} 1"),
            format!("om_test_request_duration_seconds_bucket{{{labels},le=\"1.0\"}} 1"),
            format!("om_test_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} 1"),
            format!("om_test_request_duration_seconds_created{{{labels}}} {created}"),
            "# TYPE routemeter_metrics_handler_requests counter".to_owned(),
            "routemeter_metrics_handler_requests_total{code=\"200\"} 2".to_owned(),
            "routemeter_metrics_handler_requests_created{code=\"200\"} 1700000000".to_owned(),
        ] {
            assert!(
                text.lines().any(|written| written == line),
                "no line {line}\n{text}"
            );
        }
        assert!(text.ends_with("\n# EOF\n"), "{text}");
        assert!(!text.contains("\n\n"), "a blank line is invalid: {text}");
    }
}
