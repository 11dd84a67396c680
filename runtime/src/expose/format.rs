//! The scrape formats `/metrics` answers in.

use crate::expose::openmetrics::OPENMETRICS_CONTENT_TYPE;
use crate::expose::prometheus_text::TEXT_CONTENT_TYPE;
use crate::expose::protobuf::PROTOBUF_CONTENT_TYPE;

/// A format of the `/metrics` answer. [`Exporter::respond`](crate::Exporter::respond) picks the
/// one the scraper's `Accept` header prefers; [`Exporter::encode`](crate::Exporter::encode)
/// writes any of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// The Prometheus text format 0.0.4: what every scraper reads, and the default.
    PrometheusText,
    /// OpenMetrics text 1.0.0: `_created` samples, units, exemplars, `# EOF`.
    OpenMetrics,
    /// Length-delimited protobuf `io.prometheus.client.MetricFamily` messages: the only format
    /// that carries native histograms.
    Protobuf,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 3] = [
        Format::PrometheusText,
        Format::OpenMetrics,
        Format::Protobuf,
    ];

    /// The `Content-Type` of an answer in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::PrometheusText => TEXT_CONTENT_TYPE,
            Format::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
            Format::Protobuf => PROTOBUF_CONTENT_TYPE,
        }
    }
}
