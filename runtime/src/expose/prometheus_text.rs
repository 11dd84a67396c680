//! The Prometheus text exposition format 0.0.4: routemeter's families and those of any
//! `prometheus` registry, merged and sorted by family name as Prometheus clients write them.

use std::borrow::Cow;

use crate::expose::catalog::{Catalog, RegisteredHandler};
use crate::expose::families::{HandlerHistogram, StreamFamily};
use crate::expose::scrapes::ScrapeStats;
use crate::expose::text::{escape_label, header, push_all, push_code, push_float, push_integer};
use crate::record::metrics::{Measure, SummaryOf};
use crate::record::outcome::Code;
use crate::summary::{Prepared, Reading};
use crate::Error;

/// The content type of the text format.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// One metric family: its name, by which families are sorted, and where its samples come from.
struct Family<'a> {
    name: Cow<'a, str>,
    source: Source<'a>,
}

enum Source<'a> {
    Summary(&'a RegisteredHandler),
    Requests(&'a [RegisteredHandler]),
    InFlight(&'a [RegisteredHandler]),
    Histogram(&'a [RegisteredHandler], HandlerHistogram),
    Streams(&'a [RegisteredHandler], StreamFamily),
    BuildInfo(&'a [RegisteredHandler]),
    ScrapeRequests,
    ScrapeInFlight,
    /// A family from a `prometheus` registry, already encoded.
    Encoded(String),
}

/// Writes every family: the handlers', the registries', and the scrape handler's own.
///
/// A registry family whose name routemeter already writes is left out (two families of one name
/// would make the whole scrape invalid); [`Error::Encode`] when a registry cannot be encoded.
/// Summaries report `quantiles` of their windows as they stand at `now` on the process clock.
pub(crate) fn render(
    catalog: &Catalog,
    registries: &[prometheus::Registry],
    scrapes: &ScrapeStats,
    quantiles: &[f64],
    now: u64,
) -> Result<String, Error> {
    let mut families = Vec::with_capacity(catalog.entries().count() + 16);
    for (namespace, entries) in &catalog.namespaces {
        families.extend(entries.iter().map(|entry| Family {
            name: Cow::Borrowed(entry.metric.as_str()),
            source: Source::Summary(entry),
        }));
        let mut add = |suffix: &str, source| {
            families.push(Family {
                name: Cow::Owned(format!("{namespace}_{suffix}")),
                source,
            });
        };
        add("requests_total", Source::Requests(entries));
        add("requests_in_flight", Source::InFlight(entries));
        for kind in HandlerHistogram::ALL {
            if entries
                .iter()
                .any(|entry| kind.of(entry.handler.metrics()).is_some())
            {
                add(kind.suffix(), Source::Histogram(entries, kind));
            }
        }
        if entries
            .iter()
            .any(|entry| entry.handler.metrics().streams.is_some())
        {
            for family in StreamFamily::ALL {
                add(family.suffix(), Source::Streams(entries, family));
            }
        }
        add("build_info", Source::BuildInfo(entries));
    }
    for (name, source) in [
        (
            "routemeter_metrics_handler_requests_total",
            Source::ScrapeRequests,
        ),
        (
            "routemeter_metrics_handler_requests_in_flight",
            Source::ScrapeInFlight,
        ),
    ] {
        families.push(Family {
            name: Cow::Borrowed(name),
            source,
        });
    }

    let encoder = prometheus::TextEncoder::new();
    let own = families.len();
    for registry in registries {
        for family in registry.gather() {
            if families[..own]
                .iter()
                .any(|known| known.name == family.name())
            {
                continue;
            }
            let mut text = String::new();
            encoder
                .encode_utf8(std::slice::from_ref(&family), &mut text)
                .map_err(|err| Error::Encode(err.to_string()))?;
            families.push(Family {
                name: Cow::Owned(family.name().to_owned()),
                source: Source::Encoded(text),
            });
        }
    }

    families.sort_by(|a, b| a.name.cmp(&b.name));
    let mut context = Context {
        now,
        scrapes,
        measures: Measure::ALL.map(Measure::label).map(|service| MeasureText {
            quantiles: quantiles
                .iter()
                .map(|q| format!("{{service=\"{service}\",quantile=\"{q}\"}} "))
                .collect(),
            sum: format!("_sum{{service=\"{service}\"}} "),
            count: format!("_count{{service=\"{service}\"}} "),
        }),
        values: vec![f64::NAN; quantiles.len()],
        summaries: families
            .iter()
            .filter_map(|family| match family.source {
                Source::Summary(entry) => Some(entry.handler.metrics()),
                _ => None,
            })
            .flat_map(|metrics| Measure::ALL.map(|measure| metrics.summary(measure)))
            .collect(),
        read: 0,
        prepared: None,
        codes: Vec::new(),
    };
    let mut out = String::with_capacity(2048 * families.len());
    for family in &families {
        family.write(&mut out, &mut context);
    }
    Ok(out)
}

/// What every family of one scrape shares.
struct Context<'a> {
    /// The process clock, for the summaries' windows.
    now: u64,
    scrapes: &'a ScrapeStats,
    /// What follows a summary's name on each of its lines, for `service="duration"` then
    /// `service="size"`, written once per scrape.
    measures: [MeasureText; 2],
    /// Where each summary's quantiles are read into, one per configured quantile.
    values: Vec<f64>,
    /// Every summary, in the order they are written.
    summaries: Vec<SummaryOf<'a>>,
    /// How many of them have been read.
    read: usize,
    /// The read of the next one, begun while reading the previous one, with its index.
    prepared: Option<(usize, Prepared<'a>)>,
    /// Where each handler's request counts are collected, one handler at a time.
    codes: Vec<(Code, u64)>,
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

impl Context<'_> {
    /// Reads `summary`, the next one of [`Context::summaries`], into [`Context::values`], and
    /// starts loading what the following ones will need (see
    /// `summary::prefetch_cores`).
    fn read(&mut self, summary: SummaryOf<'_>) -> Reading {
        let current = match self.prepared.take() {
            Some((index, prepared)) if index == self.read => prepared,
            _ => summary.prepare(self.now),
        };
        let ahead = |steps: usize| self.summaries.get(self.read + steps).copied();
        if let Some(summary) = ahead(4) {
            summary.prefetch_cores();
        }
        if let Some(summary) = ahead(3) {
            summary.prefetch_slots();
        }
        if let Some(summary) = ahead(2) {
            summary.prefetch_totals();
        }
        self.prepared = ahead(1).map(|summary| (self.read + 1, summary.prepare(self.now)));
        self.read += 1;
        current.read_into(&mut self.values)
    }
}

impl Family<'_> {
    fn write(&self, out: &mut String, context: &mut Context<'_>) {
        let name = &*self.name;
        match &self.source {
            Source::Summary(entry) => write_summary(out, name, entry, context),
            Source::Requests(entries) => {
                header(
                    out,
                    name,
                    "Requests handled, by outcome: the HTTP status, or error, cancelled or panic.",
                    "counter",
                );
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
                header(out, name, "Requests being handled right now.", "gauge");
                for entry in *entries {
                    push_all(out, &[name, "{", &entry.handler_label, "} "]);
                    push_integer(out, entry.handler.metrics().in_flight());
                    out.push('\n');
                }
            }
            Source::Histogram(entries, kind) => write_histogram(out, name, entries, *kind),
            Source::Streams(entries, family) => write_streams(out, name, entries, *family),
            Source::BuildInfo(entries) => {
                let version = entries
                    .iter()
                    .find_map(|entry| entry.handler.info().crate_version)
                    .unwrap_or("unknown");
                header(
                    out,
                    name,
                    "Always 1: the version of the service and of routemeter.",
                    "gauge",
                );
                push_all(
                    out,
                    &[
                        name,
                        "{version=\"",
                        &escape_label(version),
                        "\",routemeter_version=\"",
                        env!("CARGO_PKG_VERSION"),
                        "\"} 1\n",
                    ],
                );
            }
            Source::ScrapeRequests => {
                header(out, name, "Scrapes of /metrics, by HTTP status.", "counter");
                for (status, count) in &context.scrapes.requests {
                    push_all(out, &[name, "{code=\""]);
                    push_integer(out, *status);
                    out.push_str("\"} ");
                    push_integer(out, *count);
                    out.push('\n');
                }
            }
            Source::ScrapeInFlight => {
                header(
                    out,
                    name,
                    "Scrapes of /metrics being served right now.",
                    "gauge",
                );
                push_all(out, &[name, " "]);
                push_integer(out, context.scrapes.in_flight);
                out.push('\n');
            }
            Source::Encoded(text) => out.push_str(text),
        }
    }
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
        let reading = context.read(metrics.summary(measure));
        let Some(text) = context.measures.get(index) else {
            continue;
        };
        for (labels, value) in text.quantiles.iter().zip(&context.values) {
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
