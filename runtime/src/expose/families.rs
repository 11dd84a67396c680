//! routemeter's own families beside each handler's summary: their names, what they hold and where
//! a handler keeps their data. Every encoder writes these; the catalog reserves their names.

use crate::record::histogram::Histogram;
use crate::record::metrics::HandlerMetrics;

/// The name suffixes (after `<namespace>_`) of every family routemeter writes per namespace.
pub(crate) const OWN_FAMILIES: [&str; 9] = [
    "build_info",
    "request_duration_seconds",
    "request_size_bytes",
    "requests_in_flight",
    "requests_total",
    "stream_duration_seconds",
    "stream_sent_bytes_total",
    "streams_open",
    "time_to_headers_seconds",
];

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
