//! Property tests of `Accept` and `Accept-Encoding` negotiation, on headers generated at random:
//! any header value is answered without a panic; the coding is the one RFC 9110 gives the header
//! (checked against a model of it), however the header is spelled (case, optional whitespace,
//! other codings around it); the format is the served one of highest quality, and the text format
//! when none is named.
//!
//! Each property runs 256 cases; `PROPTEST_CASES=100000 cargo test -p routemeter negotiation::props` fuzzes
//! harder.

use http::header::{ACCEPT, ACCEPT_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;

use super::{encoding, format};
use crate::expose::compression::Encoding;
use crate::expose::format::Format;

/// A coding or media range, and its optional quality, as one element of a header.
#[derive(Clone, Debug)]
struct Element {
    value: &'static str,
    quality: Option<&'static str>,
}

/// Codings that are gzip, zstd, identity, stand for anything, and that are none of these (some
/// only look alike).
const GZIP: [&str; 4] = ["gzip", "GZIP", "x-gzip", "X-Gzip"];
const ZSTD: [&str; 2] = ["zstd", "ZSTD"];
const IDENTITY: [&str; 2] = ["identity", "Identity"];
const OTHERS: [&str; 7] = [
    "deflate",
    "br",
    "compress",
    "gzipx",
    "gzip2",
    "x-gzipped",
    "zstd2",
];

/// Qualities, valid and not; a malformed one refuses the element.
const QUALITIES: [&str; 14] = [
    "1", "1.0", "1.000", "0.5", "0.001", "0", "0.0", "0.000", "nonsense", "", "-1", "NaN", "q", "2",
];

/// The quality an element stands for: 1 without one, 0 when refused or unreadable.
fn quality(element: &Element) -> f64 {
    match element.quality {
        None => 1.0,
        Some(text) => text
            .parse::<f64>()
            .ok()
            .filter(|q| (0.0..=1.0).contains(q) && !text.starts_with('-'))
            .unwrap_or(0.0),
    }
}

fn element(values: &'static [&'static str]) -> impl Strategy<Value = Element> {
    (
        prop::sample::select(values),
        prop::option::of(prop::sample::select(&QUALITIES[..])),
    )
        .prop_map(|(value, quality)| Element { value, quality })
}

/// An `Accept-Encoding`: other codings, at most one each of gzip, zstd, identity and `*`, in
/// any order.
fn codings() -> impl Strategy<Value = Vec<Element>> {
    (
        prop::collection::vec(element(&OTHERS), 0..4),
        prop::option::of(element(&GZIP)),
        prop::option::of(element(&ZSTD)),
        prop::option::of(element(&IDENTITY)),
        prop::option::of(element(&["*"])),
    )
        .prop_flat_map(|(mut all, gzip, zstd, identity, any)| {
            all.extend(gzip);
            all.extend(zstd);
            all.extend(identity);
            all.extend(any);
            Just(all).prop_shuffle()
        })
}

/// What an `Accept-Encoding` means (RFC 9110 section 12.5.3): the quality of each coding is
/// its own, else that of `*`; the best compressed coding wins (zstd on a tie) unless identity is
/// named with a higher quality; without one, identity unless refused; else nothing (406).
fn coding_model(elements: &[Element]) -> Option<Encoding> {
    let named = |names: &[&str]| {
        elements
            .iter()
            .find(|element| {
                names
                    .iter()
                    .any(|name| name.eq_ignore_ascii_case(element.value))
            })
            .map(quality)
    };
    let any = named(&["*"]);
    let gzip = named(&GZIP).or(any).unwrap_or(0.0);
    let zstd = named(&ZSTD).or(any).unwrap_or(0.0);
    let identity = named(&IDENTITY);
    let best = gzip.max(zstd);
    if best > 0.0 {
        if identity.is_some_and(|identity| identity > best) {
            return Some(Encoding::Identity);
        }
        return Some(if zstd >= gzip {
            Encoding::Zstd
        } else {
            Encoding::Gzip
        });
    }
    let identity_refused = match identity {
        Some(identity) => identity == 0.0,
        None => any == Some(0.0),
    };
    (!identity_refused).then_some(Encoding::Identity)
}

/// Media ranges that name a served format, and what they name.
const SERVED: [(&str, Format); 6] = [
    (
        "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
        Format::Protobuf,
    ),
    (
        "application/vnd.google.protobuf; encoding=delimited; proto=io.prometheus.client.MetricFamily; escaping=allow-utf-8",
        Format::Protobuf,
    ),
    ("application/openmetrics-text;version=1.0.0", Format::OpenMetrics),
    ("application/openmetrics-text", Format::OpenMetrics),
    ("text/plain;version=0.0.4", Format::PrometheusText),
    ("TEXT/PLAIN", Format::PrometheusText),
];

/// Media ranges that name nothing served.
const UNSERVED: [&str; 7] = [
    "*/*",
    "text/*",
    "application/json",
    "application/openmetrics-text;version=0.0.1",
    "text/plain;version=1.0.0;escaping=allow-utf-8",
    "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text",
    "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily",
];

fn media_ranges() -> impl Strategy<Value = Vec<Element>> {
    let all: Vec<&'static str> = SERVED
        .iter()
        .map(|(range, _)| *range)
        .chain(UNSERVED)
        .collect();
    prop::collection::vec(element(Box::leak(all.into_boxed_slice())), 0..6)
}

/// What an `Accept` means: of the ranges that name a served format, the one of highest quality,
/// the first written on a tie; the text format when there is none.
fn format_model(elements: &[Element]) -> Format {
    let mut best: Option<(f64, Format)> = None;
    for element in elements {
        let q = quality(element);
        let named = SERVED
            .iter()
            .find(|(range, _)| *range == element.value)
            .map(|(_, format)| *format);
        if let Some(format) = named {
            if q > 0.0 && best.is_none_or(|(best, _)| q > best) {
                best = Some((q, format));
            }
        }
    }
    best.map_or(Format::PrometheusText, |(_, format)| format)
}

/// Writes the elements with the optional whitespace (`OWS`) that RFC 9110 allows, chosen by
/// `spaces`.
fn write(elements: &[Element], spaces: &[bool], upper_q: bool) -> String {
    let mut space = spaces
        .iter()
        .cycle()
        .map(|space| if *space { " \t" } else { "" });
    let mut ows = move || space.next().unwrap_or_default();
    let q = if upper_q { "Q" } else { "q" };
    elements
        .iter()
        .map(|element| match element.quality {
            None => format!("{}{}{}", ows(), element.value, ows()),
            Some(quality) => format!(
                "{}{}{};{}{q}={quality}{}",
                ows(),
                element.value,
                ows(),
                ows(),
                ows()
            ),
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn headers(name: HeaderName, value: &str) -> Result<HeaderMap, TestCaseError> {
    let value = HeaderValue::from_str(value);
    prop_assert!(value.is_ok(), "{:?} is not a header value", value);
    let mut headers = HeaderMap::new();
    if let Ok(value) = value {
        headers.insert(name, value);
    }
    Ok(headers)
}

fn negotiate_coding(header: &str) -> Result<Option<Encoding>, TestCaseError> {
    Ok(encoding(&headers(ACCEPT_ENCODING, header)?))
}

proptest! {
    #[test]
    fn any_header_bytes_are_answered(
        accept in prop::collection::vec(any::<u8>(), 0..64),
        accept_encoding in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        // Whatever a scraper sends, valid UTF-8 or not: an answer, never a panic.
        let mut headers = HeaderMap::new();
        for (name, bytes) in [(ACCEPT, accept), (ACCEPT_ENCODING, accept_encoding)] {
            if let Ok(value) = HeaderValue::from_bytes(&bytes) {
                headers.insert(name, value);
            }
        }
        prop_assert!(Format::ALL.contains(&format(&headers)));
        let _ = encoding(&headers);
    }

    #[test]
    fn header_like_text_is_answered(text in "[a-zA-Z*/;=,.0-9 \t\"-]{0,48}") {
        if let Ok(value) = HeaderValue::from_str(&text) {
            let mut headers = HeaderMap::new();
            headers.insert(ACCEPT_ENCODING, value.clone());
            headers.insert(ACCEPT, value);
            // Never a compressed coding unless it or `*` is named at all.
            let lower = text.to_ascii_lowercase();
            match encoding(&headers) {
                Some(Encoding::Gzip) => prop_assert!(lower.contains("gzip") || lower.contains('*'), "{:?}", text),
                Some(Encoding::Zstd) => prop_assert!(lower.contains("zstd") || lower.contains('*'), "{:?}", text),
                _ => {}
            }
            // Never a format other than text unless its media type is named.
            match format(&headers) {
                Format::Protobuf => prop_assert!(lower.contains("protobuf"), "{:?}", text),
                Format::OpenMetrics => prop_assert!(lower.contains("openmetrics"), "{:?}", text),
                _ => {}
            }
        }
    }

    #[test]
    fn the_coding_is_the_one_the_header_asks_for(
        elements in codings(),
        spaces in prop::collection::vec(any::<bool>(), 1..8),
        upper_q in any::<bool>(),
    ) {
        let header = write(&elements, &spaces, upper_q);
        prop_assert_eq!(negotiate_coding(&header)?, coding_model(&elements), "{:?}", header);
    }

    #[test]
    fn spelling_does_not_change_the_coding(
        elements in codings(),
        spaces in prop::collection::vec(any::<bool>(), 1..8),
    ) {
        let plain = negotiate_coding(&write(&elements, &[false], false))?;
        prop_assert_eq!(negotiate_coding(&write(&elements, &spaces, true))?, plain);
    }

    #[test]
    fn a_refused_coding_is_never_chosen(
        mut elements in codings(),
        refusal in prop::sample::select(vec!["0", "0.0", "0.000", "nonsense", "-1"]),
        refused in prop::sample::select(vec![Encoding::Gzip, Encoding::Zstd]),
    ) {
        // Whatever else the header says, `*` included, `<coding>;q=0` means not that coding.
        let names: &[&str] = if refused == Encoding::Gzip { &GZIP } else { &ZSTD };
        elements.retain(|element| !names.iter().any(|name| name.eq_ignore_ascii_case(element.value)));
        elements.push(Element { value: names[0], quality: Some(refusal) });
        let header = write(&elements, &[true, false], false);
        prop_assert_ne!(negotiate_coding(&header)?, Some(refused), "{:?}", header);
    }

    #[test]
    fn the_format_is_the_served_one_of_highest_quality(
        elements in media_ranges(),
        upper_q in any::<bool>(),
    ) {
        let header = write(&elements, &[false, true], upper_q);
        prop_assert_eq!(format(&headers(ACCEPT, &header)?), format_model(&elements), "{:?}", header);
    }
}
