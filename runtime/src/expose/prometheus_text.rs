//! The Prometheus text exposition format 0.0.4, the default: routemeter's families and those of
//! any `prometheus` registry, sorted by family name as Prometheus clients write them.

use crate::expose::catalog::RegisteredHandler;
use crate::expose::families::{
    service_version, Family, HandlerHistogram, Source, StreamFamily, SummaryReader,
    BUILD_INFO_HELP, IN_FLIGHT_HELP, REQUESTS_HELP, SCRAPE_IN_FLIGHT_HELP, SCRAPE_REQUESTS_HELP,
};
use crate::expose::scrapes::ScrapeStats;
use crate::expose::text::{header, push_all, push_build_info, push_code, push_float, push_integer};
use crate::record::metrics::Measure;
use crate::record::outcome::Code;
use crate::Error;

/// The content type of the text format.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Writes every family of `families` (see [`gather`](crate::expose::families::gather)), the
/// summaries reporting `quantiles` of their windows as they stand at `now` on the process clock.
///
/// # Errors
/// [`Error::Encode`] when a registry's family cannot be encoded.
pub(crate) fn render(
    families: &[Family<'_>],
    scrapes: &ScrapeStats,
    quantiles: &[f64],
    now: u64,
) -> Result<String, Error> {
    let mut context = Context {
        scrapes,
        measures: Measure::ALL.map(Measure::label).map(|service| MeasureText {
            quantiles: quantiles
                .iter()
                .map(|q| format!("{{service=\"{service}\",quantile=\"{q}\"}} "))
                .collect(),
            sum: format!("_sum{{service=\"{service}\"}} "),
            count: format!("_count{{service=\"{service}\"}} "),
        }),
        summaries: SummaryReader::new(families, quantiles.len(), now),
        codes: Vec::new(),
        encoder: prometheus::TextEncoder::new(),
    };
    let mut out = String::with_capacity(2048 * families.len());
    for family in families {
        write(family, &mut out, &mut context)?;
    }
    Ok(out)
}

/// What every family of one scrape shares.
struct Context<'a> {
    scrapes: &'a ScrapeStats,
    /// What follows a summary's name on each of its lines, for `service="duration"` then
    /// `service="size"`, written once per scrape.
    measures: [MeasureText; 2],
    summaries: SummaryReader<'a>,
    /// Where each handler's request counts are collected, one handler at a time.
    codes: Vec<(Code, u64)>,
    encoder: prometheus::TextEncoder,
}

/// The text after a summary's name on its lines for one measure (`service` label).
struct MeasureText {
    /// `{service="duration",quantile="0.5"} ` for each configured quantile.
    quantiles: Vec<String>,
    /// `_sum{service="duration"} `.
    sum: String,
    /// `_count{service="duration"} `.
    count: String,
}

fn write(family: &Family<'_>, out: &mut String, context: &mut Context<'_>) -> Result<(), Error> {
    let name = &*family.name;
    match &family.source {
        Source::Summary(entry) => write_summary(out, name, entry, context),
        Source::Requests(entries) => {
            header(out, name, REQUESTS_HELP, "counter");
            for entry in *entries {
                entry.handler.metrics().collect_codes(&mut context.codes);
                for &(code, count) in &context.codes {
                    push_all(out, &[name, "{", &entry.labels, ",code=\""]);
                    push_code(out, code);
                    out.push_str("\"} ");
                    push_integer(out, count);
                    out.push('\n');
                }
            }
        }
        Source::InFlight(entries) => {
            header(out, name, IN_FLIGHT_HELP, "gauge");
            for entry in *entries {
                push_all(out, &[name, "{", &entry.handler_label, "} "]);
                push_integer(out, entry.handler.metrics().in_flight());
                out.push('\n');
            }
        }
        Source::Histogram(entries, kind) => write_histogram(out, name, entries, *kind),
        Source::Streams(entries, family) => write_streams(out, name, entries, *family),
        Source::BuildInfo(entries) => {
            header(out, name, BUILD_INFO_HELP, "gauge");
            push_build_info(out, name, service_version(entries));
        }
        Source::ScrapeRequests => {
            header(out, name, SCRAPE_REQUESTS_HELP, "counter");
            for (status, count) in &context.scrapes.requests {
                push_all(out, &[name, "{code=\""]);
                push_integer(out, *status);
                out.push_str("\"} ");
                push_integer(out, *count);
                out.push('\n');
            }
        }
        Source::ScrapeInFlight => {
            header(out, name, SCRAPE_IN_FLIGHT_HELP, "gauge");
            push_all(out, &[name, " "]);
            push_integer(out, context.scrapes.in_flight);
            out.push('\n');
        }
        Source::Registry(family) => context
            .encoder
            .encode_utf8(std::slice::from_ref(family), out)
            .map_err(|err| Error::Encode(err.to_string()))?,
    }
    Ok(())
}

/// The tutorial's summary: `service="duration"` in seconds and `service="size"` in bytes.
fn write_summary(
    out: &mut String,
    name: &str,
    entry: &RegisteredHandler,
    context: &mut Context<'_>,
) {
    let metrics = entry.handler.metrics();
    push_all(
        out,
        &[
            "# HELP ",
            name,
            " ",
            &entry.help,
            "\n# TYPE ",
            name,
            " summary\n",
        ],
    );
    for (index, measure) in Measure::ALL.into_iter().enumerate() {
        let (reading, values) = context.summaries.read(metrics.summary(measure));
        let Some(text) = context.measures.get(index) else {
            continue;
        };
        for (labels, value) in text.quantiles.iter().zip(values) {
            push_all(out, &[name, labels]);
            push_float(out, *value);
            out.push('\n');
        }
        push_all(out, &[name, &text.sum]);
        push_float(out, reading.sum);
        out.push('\n');
        push_all(out, &[name, &text.count]);
        push_integer(out, reading.count);
        out.push('\n');
    }
}

fn write_histogram(
    out: &mut String,
    name: &str,
    entries: &[RegisteredHandler],
    kind: HandlerHistogram,
) {
    header(out, name, kind.help(), "histogram");
    for entry in entries {
        let Some(histogram) = kind.of(entry.handler.metrics()) else {
            continue;
        };
        let snapshot = histogram.snapshot();
        let labels = &entry.labels;
        for (bound, count) in snapshot.bounds.iter().zip(&snapshot.cumulative) {
            push_all(out, &[name, "_bucket{", labels, ",le=\""]);
            push_float(out, *bound);
            out.push_str("\"} ");
            push_integer(out, *count);
            out.push('\n');
        }
        let total = snapshot.cumulative.last().copied().unwrap_or(0);
        push_all(out, &[name, "_bucket{", labels, ",le=\"+Inf\"} "]);
        push_integer(out, total);
        push_all(out, &["\n", name, "_sum{", labels, "} "]);
        push_float(out, snapshot.sum);
        push_all(out, &["\n", name, "_count{", labels, "} "]);
        push_integer(out, total);
        out.push('\n');
    }
}

fn write_streams(
    out: &mut String,
    name: &str,
    entries: &[RegisteredHandler],
    family: StreamFamily,
) {
    header(out, name, family.help(), family.kind());
    for entry in entries {
        let Some(streams) = &entry.handler.metrics().streams else {
            continue;
        };
        let streams = streams.read();
        match family {
            StreamFamily::Open => {
                push_all(out, &[name, "{", &entry.handler_label, "} "]);
                push_integer(out, streams.open);
            }
            StreamFamily::Duration => {
                push_all(out, &[name, "_sum{", &entry.labels, "} "]);
                push_float(out, streams.lifetimes);
                push_all(out, &["\n", name, "_count{", &entry.labels, "} "]);
                push_integer(out, streams.closed);
            }
            StreamFamily::Sent => {
                push_all(out, &[name, "{", &entry.labels, "} "]);
                push_integer(out, streams.sent);
            }
        }
        out.push('\n');
    }
}
