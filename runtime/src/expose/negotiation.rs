//! Content negotiation for `/metrics`: the format the scraper's `Accept` header prefers, and
//! the coding its `Accept-Encoding` header allows.
//!
//! **Format**, by the rules of Prometheus' Go client (`expfmt.Negotiate`): the media ranges
//! of `Accept`, highest quality first (ties in the order written), are tried one by one, and the
//! first that names a format served here wins:
//! - `application/vnd.google.protobuf` with `proto=io.prometheus.client.MetricFamily` and
//!   `encoding=delimited`: protobuf;
//! - `application/openmetrics-text` with no `version` or `version=1.0.0`: OpenMetrics;
//! - `text/plain` with no `version` or `version=0.0.4`: the text format.
//!
//! Anything else (wildcards, other versions, `q=0`, a malformed quality, a header that is not
//! text) names nothing, and with nothing named the answer is the text format 0.0.4, as from the
//! Go client: a scraper always gets metrics. The `escaping` parameter (how to write names that
//! are not valid legacy names) changes nothing, since every name written is one.
//!
//! **Coding**, by RFC 9110: gzip (or `x-gzip`) and zstd when named with a quality above zero or
//! covered by `*`; the highest quality wins, zstd before gzip on a tie, and a compressed
//! coding before identity unless identity is asked for with a higher quality. Identity is
//! acceptable unless refused (`identity;q=0`, or `*;q=0` without `identity`); when it is refused
//! and neither gzip nor zstd is acceptable, no coding is, and the answer is `406 Not Acceptable`.
//! A malformed quality refuses its coding: never send what may not be understood.

use http::header::{ACCEPT, ACCEPT_ENCODING};
use http::{HeaderMap, HeaderName};

use crate::expose::compression::Encoding;
use crate::expose::format::Format;

/// The media type, and the parameter values, that ask for protobuf.
const PROTOBUF_TYPE: &str = "application/vnd.google.protobuf";
const PROTOBUF_PROTO: &str = "io.prometheus.client.MetricFamily";
const PROTOBUF_ENCODING: &str = "delimited";
const OPENMETRICS_TYPE: &str = "application/openmetrics-text";
const OPENMETRICS_VERSION: &str = "1.0.0";
const TEXT_TYPE: &str = "text/plain";
const TEXT_VERSION: &str = "0.0.4";

/// One element of a header list: a media range or a coding, its parameters and its quality.
struct Element<'a> {
    value: &'a str,
    params: Vec<(&'a str, &'a str)>,
    /// `None` when the quality is malformed.
    quality: Option<f32>,
}

impl Element<'_> {
    /// The value of parameter `name` (case-insensitive), without quotes.
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| *value)
    }

    /// The quality, with a malformed one as a refusal.
    fn weight(&self) -> f32 {
        self.quality.unwrap_or(0.0)
    }
}

/// Every element of every `name` header, in order. Values that are not visible ASCII are left
/// out, as is anything a comma-separated list cannot be read from.
fn elements(headers: &HeaderMap, name: HeaderName) -> Vec<Element<'_>> {
    let mut all = Vec::new();
    for value in headers.get_all(name) {
        let Ok(text) = value.to_str() else {
            continue;
        };
        for item in text.split(',') {
            let mut parts = item.split(';');
            let value = parts.next().unwrap_or_default().trim();
            if value.is_empty() {
                continue;
            }
            let mut params = Vec::new();
            let mut quality = Some(1.0);
            for param in parts {
                let Some((key, raw)) = param.split_once('=') else {
                    continue;
                };
                let key = key.trim();
                let raw = raw.trim();
                if key.eq_ignore_ascii_case("q") {
                    quality = parse_quality(raw);
                } else {
                    let unquoted = raw
                        .strip_prefix('"')
                        .and_then(|inner| inner.strip_suffix('"'))
                        .unwrap_or(raw);
                    params.push((key, unquoted));
                }
            }
            all.push(Element {
                value,
                params,
                quality,
            });
        }
    }
    all
}

/// A quality value: a number from 0 to 1 (RFC 9110 allows three decimals; more are read too).
fn parse_quality(text: &str) -> Option<f32> {
    let quality = text.parse::<f32>().ok()?;
    (quality.is_finite() && (0.0..=1.0).contains(&quality) && !text.starts_with(['+', '-']))
        .then_some(quality)
}

/// The format the `Accept` headers of `headers` prefer, or the text format 0.0.4.
pub(crate) fn format(headers: &HeaderMap) -> Format {
    let mut ranges = elements(headers, ACCEPT);
    // Stable: media ranges of equal quality keep the order they were written in.
    ranges.sort_by(|a, b| b.weight().total_cmp(&a.weight()));
    ranges
        .iter()
        .filter(|range| range.weight() > 0.0)
        .find_map(format_named)
        .unwrap_or(Format::PrometheusText)
}

/// The format a media range names exactly, if any.
fn format_named(range: &Element<'_>) -> Option<Format> {
    let version_is = |wanted: &str| range.param("version").is_none_or(|v| v == wanted);
    if range.value.eq_ignore_ascii_case(PROTOBUF_TYPE) {
        (range.param("proto") == Some(PROTOBUF_PROTO)
            && range.param("encoding") == Some(PROTOBUF_ENCODING))
        .then_some(Format::Protobuf)
    } else if range.value.eq_ignore_ascii_case(OPENMETRICS_TYPE) {
        version_is(OPENMETRICS_VERSION).then_some(Format::OpenMetrics)
    } else if range.value.eq_ignore_ascii_case(TEXT_TYPE) {
        version_is(TEXT_VERSION).then_some(Format::PrometheusText)
    } else {
        None
    }
}

/// The coding the `Accept-Encoding` headers of `headers` allow; `None` when none is acceptable
/// (identity refused, and neither gzip nor zstd accepted).
pub(crate) fn encoding(headers: &HeaderMap) -> Option<Encoding> {
    let codings = elements(headers, ACCEPT_ENCODING);
    let quality_of = |names: &[&str]| {
        codings
            .iter()
            .find(|coding| {
                names
                    .iter()
                    .any(|name| coding.value.eq_ignore_ascii_case(name))
            })
            .map(Element::weight)
    };
    let any = quality_of(&["*"]);
    let zstd = quality_of(&["zstd"]).or(any).unwrap_or(0.0);
    let gzip = quality_of(&["gzip", "x-gzip"]).or(any).unwrap_or(0.0);
    let identity = quality_of(&["identity"]);
    let (best, compressed) = if zstd >= gzip && zstd > 0.0 {
        (zstd, Some(Encoding::Zstd))
    } else if gzip > 0.0 {
        (gzip, Some(Encoding::Gzip))
    } else {
        (0.0, None)
    };
    match (compressed, identity) {
        (Some(_), Some(identity)) if identity > best => Some(Encoding::Identity),
        (Some(compressed), _) => Some(compressed),
        (None, Some(identity)) => (identity > 0.0).then_some(Encoding::Identity),
        (None, None) => (any != Some(0.0)).then_some(Encoding::Identity),
    }
}

#[cfg(test)]
mod props;

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(name: HeaderName, values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            if let Ok(value) = HeaderValue::from_str(value) {
                headers.append(name.clone(), value);
            }
        }
        headers
    }

    fn format_for(accept: &str) -> Format {
        format(&headers(ACCEPT, &[accept]))
    }

    fn encoding_for(accept_encoding: &str) -> Option<Encoding> {
        encoding(&headers(ACCEPT_ENCODING, &[accept_encoding]))
    }

    #[test]
    fn what_prometheus_asks_for() {
        // Prometheus 2.42 with native histograms, and without.
        assert_eq!(
            format_for(
                "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;\
                 encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,\
                 application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;\
                 q=0.5,*/*;q=0.1"
            ),
            Format::Protobuf
        );
        assert_eq!(
            format_for(
                "application/openmetrics-text;version=1.0.0,application/openmetrics-text;\
                 version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
            ),
            Format::OpenMetrics
        );
        // Prometheus 3, which asks for text 1.0.0 before 0.0.4 and says how to escape names.
        assert_eq!(
            format_for(
                "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
            ),
            Format::PrometheusText
        );
        assert_eq!(
            format_for(
                "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;\
                 encoding=delimited;escaping=allow-utf-8;q=0.5,text/plain;version=0.0.4;q=0.4"
            ),
            Format::Protobuf
        );
    }

    #[test]
    fn qualities_order_the_ranges() {
        assert_eq!(
            format_for("text/plain;version=0.0.4;q=0.9,application/openmetrics-text;q=0.5"),
            Format::PrometheusText
        );
        assert_eq!(
            format_for("text/plain;q=0.2, application/openmetrics-text;version=1.0.0;q=0.3"),
            Format::OpenMetrics
        );
        // Equal qualities: the first written.
        assert_eq!(
            format_for("application/openmetrics-text, text/plain"),
            Format::OpenMetrics
        );
        // Refused or malformed qualities name nothing.
        assert_eq!(
            format_for("application/openmetrics-text;q=0"),
            Format::PrometheusText
        );
        assert_eq!(
            format_for("application/openmetrics-text;q=high"),
            Format::PrometheusText
        );
        assert_eq!(
            format_for("application/openmetrics-text;q=1.5"),
            Format::PrometheusText
        );
    }

    #[test]
    fn only_exact_ranges_name_a_format() {
        for accept in [
            "",
            "*/*",
            "application/*",
            "application/json",
            "application/openmetrics-text;version=0.0.1",
            "application/openmetrics-text;version=2.0.0",
            "application/vnd.google.protobuf",
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily",
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text",
            "application/vnd.google.protobuf;proto=other;encoding=delimited",
        ] {
            assert_eq!(format_for(accept), Format::PrometheusText, "{accept}");
        }
        // Case-insensitive type, quoted parameters, spaces, and several headers.
        assert_eq!(
            format_for("Application/OpenMetrics-Text ; version=\"1.0.0\""),
            Format::OpenMetrics
        );
        let two = headers(
            ACCEPT,
            &["text/plain;q=0.1", "application/openmetrics-text;q=0.9"],
        );
        assert_eq!(format(&two), Format::OpenMetrics);
    }

    #[test]
    fn codings() {
        assert_eq!(encoding(&HeaderMap::new()), Some(Encoding::Identity));
        assert_eq!(encoding_for(""), Some(Encoding::Identity));
        assert_eq!(encoding_for("gzip"), Some(Encoding::Gzip));
        assert_eq!(encoding_for("x-gzip"), Some(Encoding::Gzip));
        assert_eq!(encoding_for("zstd"), Some(Encoding::Zstd));
        assert_eq!(encoding_for("gzip, zstd"), Some(Encoding::Zstd));
        assert_eq!(encoding_for("gzip;q=1, zstd;q=0.5"), Some(Encoding::Gzip));
        assert_eq!(encoding_for("*"), Some(Encoding::Zstd));
        assert_eq!(encoding_for("deflate, br"), Some(Encoding::Identity));
        assert_eq!(encoding_for("gzip;q=0"), Some(Encoding::Identity));
        assert_eq!(encoding_for("gzip;q=0, *"), Some(Encoding::Zstd));
        assert_eq!(encoding_for("gzip;q=nonsense"), Some(Encoding::Identity));
        assert_eq!(
            encoding_for("identity;q=1, gzip;q=0.5"),
            Some(Encoding::Identity)
        );
        assert_eq!(
            encoding_for("gzip;q=0.5, identity;q=0.5"),
            Some(Encoding::Gzip)
        );
        // Identity refused: a compressed coding, or nothing at all.
        assert_eq!(encoding_for("gzip, identity;q=0"), Some(Encoding::Gzip));
        assert_eq!(encoding_for("identity;q=0"), None);
        assert_eq!(encoding_for("*;q=0"), None);
        assert_eq!(encoding_for("br, *;q=0"), None);
        assert_eq!(encoding_for("identity, *;q=0"), Some(Encoding::Identity));
    }
}
