//! What one scrape writes, whatever the format: routemeter's own families beside each handler's
//! summary (their names, what they hold, where a handler keeps their data), and every family of a
//! scrape sorted by name as the text format names them, with where its samples come from. The
//! encoders walk this list; the catalog reserves the names.

use std::borrow::Cow;

use crate::expose::catalog::{Catalog, RegisteredHandler};
use crate::record::histogram::Histogram;
use crate::record::metrics::{HandlerMetrics, Measure, SummaryOf};
use crate::summary::{Prepared, Reading};

/// HELP of `<namespace>_requests_total`.
pub(crate) const REQUESTS_HELP: &str =
    "Requests handled, by outcome: the HTTP status, or error, cancelled, panic, aborted, body_error or unclassified.";
/// HELP of `<namespace>_requests_in_flight`.
pub(crate) const IN_FLIGHT_HELP: &str = "Requests being handled right now.";
/// HELP of `<namespace>_build_info`.
pub(crate) const BUILD_INFO_HELP: &str = "Always 1: the version of the service and of routemeter.";
/// HELP of the scrape handler's own request counter.
pub(crate) const SCRAPE_REQUESTS_HELP: &str = "Scrapes of /metrics, by HTTP status.";
/// HELP of the scrape handler's own in-flight gauge.
pub(crate) const SCRAPE_IN_FLIGHT_HELP: &str = "Scrapes of /metrics being served right now.";

/// The opt-in histograms, each a family labelled `handler`, `method`, `route`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HandlerHistogram {
    /// `histogram = true`: the aggregatable latency.
    Latency,
    /// `time_to_headers = true`: seconds until the response headers.
    TimeToHeaders,
    /// `request_size = true`: the request's `Content-Length`.
    RequestSize,
}

impl HandlerHistogram {
    pub(crate) const ALL: [HandlerHistogram; 3] = [
        HandlerHistogram::Latency,
        HandlerHistogram::TimeToHeaders,
        HandlerHistogram::RequestSize,
    ];

    pub(crate) fn suffix(self) -> &'static str {
        match self {
            HandlerHistogram::Latency => "request_duration_seconds",
            HandlerHistogram::TimeToHeaders => "time_to_headers_seconds",
            HandlerHistogram::RequestSize => "request_size_bytes",
        }
    }

    pub(crate) fn help(self) -> &'static str {
        match self {
            HandlerHistogram::Latency => {
                "Request latency in seconds; sum it across replicas, unlike the summaries."
            }
            HandlerHistogram::TimeToHeaders => "Seconds until the response headers were ready.",
            HandlerHistogram::RequestSize => "Request body sizes in bytes, from Content-Length.",
        }
    }

    /// The unit of its values, as OpenMetrics names it.
    pub(crate) fn unit(self) -> &'static str {
        match self {
            HandlerHistogram::Latency | HandlerHistogram::TimeToHeaders => "seconds",
            HandlerHistogram::RequestSize => "bytes",
        }
    }

    /// The handler's histogram of this kind, if it keeps one.
    pub(crate) fn of(self, metrics: &HandlerMetrics) -> Option<&Histogram> {
        match self {
            HandlerHistogram::Latency => metrics.histogram.as_ref(),
            HandlerHistogram::TimeToHeaders => metrics.headers.as_ref(),
            HandlerHistogram::RequestSize => metrics.request_size.as_ref(),
        }
    }
}

/// The families of long-lived routes (`stream = true`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StreamFamily {
    /// A gauge labelled `handler`: streams whose body is being sent.
    Open,
    /// A summary without quantiles: how long the closed streams lasted.
    Duration,
    /// A counter: bytes of data the streams sent.
    Sent,
}

impl StreamFamily {
    pub(crate) const ALL: [StreamFamily; 3] = [
        StreamFamily::Open,
        StreamFamily::Duration,
        StreamFamily::Sent,
    ];

    pub(crate) fn suffix(self) -> &'static str {
        match self {
            StreamFamily::Open => "streams_open",
            StreamFamily::Duration => "stream_duration_seconds",
            StreamFamily::Sent => "stream_sent_bytes_total",
        }
    }

    pub(crate) fn help(self) -> &'static str {
        match self {
            StreamFamily::Open => "Streams of long-lived routes whose body is being sent.",
            StreamFamily::Duration => "How long the closed streams of long-lived routes lasted.",
            StreamFamily::Sent => "Bytes the streams of long-lived routes sent.",
        }
    }

    pub(crate) fn kind(self) -> &'static str {
        match self {
            StreamFamily::Open => "gauge",
            StreamFamily::Duration => "summary",
            StreamFamily::Sent => "counter",
        }
    }
}

/// One metric family: its name in the text format, by which families are sorted, and where
/// its samples come from.
pub(crate) struct Family<'a> {
    pub(crate) name: Cow<'a, str>,
    pub(crate) source: Source<'a>,
}

/// Where a family's samples come from.
pub(crate) enum Source<'a> {
    /// A handler's summary.
    Summary(&'a RegisteredHandler),
    /// `<namespace>_requests_total` of these handlers.
    Requests(&'a [RegisteredHandler]),
    /// `<namespace>_requests_in_flight`.
    InFlight(&'a [RegisteredHandler]),
    /// One of the opt-in histograms, of the handlers that keep it.
    Histogram(&'a [RegisteredHandler], HandlerHistogram),
    /// One of the families of long-lived routes, of the handlers that are.
    Streams(&'a [RegisteredHandler], StreamFamily),
    /// `<namespace>_build_info`.
    BuildInfo(&'a [RegisteredHandler]),
    /// `routemeter_metrics_handler_requests_total`.
    ScrapeRequests,
    /// `routemeter_metrics_handler_requests_in_flight`.
    ScrapeInFlight,
    /// A family of a `prometheus` registry.
    Registry(prometheus::proto::MetricFamily),
}

/// Every family of a scrape: the handlers', the scrape handler's own and the registries',
/// sorted by name. A registry family whose name routemeter already writes is left out: two
/// families of one name would make the whole scrape invalid.
pub(crate) fn gather<'a>(
    catalog: &'a Catalog,
    registries: &[prometheus::Registry],
) -> Vec<Family<'a>> {
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
        if entries.iter().any(RegisteredHandler::is_stream) {
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
    let own = families.len();
    for registry in registries {
        for family in registry.gather() {
            if families[..own]
                .iter()
                .any(|known| known.name == family.name())
            {
                continue;
            }
            families.push(Family {
                name: Cow::Owned(family.name().to_owned()),
                source: Source::Registry(family),
            });
        }
    }
    families.sort_by(|a, b| a.name.cmp(&b.name));
    families
}

/// The version `<namespace>_build_info` reports: the first handler's crate version.
pub(crate) fn service_version(entries: &[RegisteredHandler]) -> &'static str {
    entries
        .iter()
        .find_map(|entry| entry.handler.info().crate_version)
        .unwrap_or("unknown")
}

/// Reads the summaries of a scrape in the order they are written (each handler's duration,
/// then its size), and starts loading what the next few will need while it reads one (see
/// `summary::prefetch_cores`), so that the scattered cache lines of a thousand summaries load
/// side by side rather than one after the other.
pub(crate) struct SummaryReader<'a> {
    /// The process clock, for the summaries' windows.
    now: u64,
    /// Every summary, in the order they are written.
    summaries: Vec<SummaryOf<'a>>,
    /// How many of them have been read.
    read: usize,
    /// The reads begun, each with the index of its summary: the next one is begun while the
    /// one before it is read. Kept in place, as a read is a few kilobytes.
    prepared: [(Option<usize>, Prepared<'a>); 2],
    /// Where each summary's quantiles are read into, one per configured quantile.
    values: Vec<f64>,
}

impl<'a> SummaryReader<'a> {
    /// A reader of the summaries of `families`, for `quantiles` quantiles, at `now`.
    pub(crate) fn new(families: &[Family<'a>], quantiles: usize, now: u64) -> SummaryReader<'a> {
        SummaryReader {
            now,
            summaries: families
                .iter()
                .filter_map(|family| match family.source {
                    Source::Summary(entry) => Some(entry.handler.metrics()),
                    _ => None,
                })
                .flat_map(|metrics| Measure::ALL.map(|measure| metrics.summary(measure)))
                .collect(),
            read: 0,
            prepared: Default::default(),
            values: vec![f64::NAN; quantiles],
        }
    }

    /// Reads `summary`, the next one in the order of the families; returns its totals and its
    /// quantiles.
    pub(crate) fn read(&mut self, summary: SummaryOf<'a>) -> (Reading, &[f64]) {
        let (read, now) = (self.read, self.now);
        let (current, next) = match &mut self.prepared {
            [even, odd] if read % 2 == 0 => (even, odd),
            [even, odd] => (odd, even),
        };
        if current.0 != Some(read) {
            summary.prepare_into(now, &mut current.1);
        }
        let ahead = |steps: usize| self.summaries.get(self.read + steps).copied();
        if let Some(summary) = ahead(4) {
            summary.prefetch_cores();
        }
        if let Some(summary) = ahead(3) {
            summary.prefetch_counts();
        }
        if let Some(summary) = ahead(2) {
            summary.prefetch_totals();
        }
        next.0 = ahead(1).map(|summary| {
            summary.prepare_into(now, &mut next.1);
            read + 1
        });
        self.read += 1;
        let reading = current.1.read_into(&mut self.values);
        (reading, &self.values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expose::catalog::OWN_FAMILIES;

    #[test]
    fn every_family_of_ours_is_reserved_in_the_catalog() {
        let suffixes = HandlerHistogram::ALL
            .map(HandlerHistogram::suffix)
            .into_iter()
            .chain(StreamFamily::ALL.map(StreamFamily::suffix))
            .chain(["requests_total", "requests_in_flight", "build_info"]);
        for suffix in suffixes {
            assert!(OWN_FAMILIES.contains(&suffix), "{suffix} is not reserved");
        }
    }
}
