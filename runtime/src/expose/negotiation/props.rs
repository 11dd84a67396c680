//! Property tests of `Accept-Encoding` negotiation, on headers generated at random: any header value is
//! answered without a panic, and gzip is chosen exactly when the scraper allows it, however the header is
//! spelled (case, optional whitespace, other codings around it).
//!
//! Each property runs 256 cases; `PROPTEST_CASES=100000 cargo test -p routemeter negotiation::props` fuzzes
//! harder.

use http::HeaderValue;
use proptest::prelude::*;

use super::accepts_gzip;

/// A coding and its optional quality, as one element of the header.
#[derive(Clone, Debug)]
struct Element {
    coding: &'static str,
    quality: Option<&'static str>,
}

/// Codings that are gzip, that stand for anything, and that are neither (some only look alike).
const GZIP: [&str; 4] = ["gzip", "GZIP", "x-gzip", "X-Gzip"];
const OTHERS: [&str; 8] = [
    "deflate",
    "br",
    "identity",
    "zstd",
    "compress",
    "gzipx",
    "gzip2",
    "x-gzipped",
];

/// Qualities, valid and not; a malformed one refuses the coding.
const QUALITIES: [&str; 13] = [
    "1", "1.0", "1.000", "0.5", "0.001", "0", "0.0", "0.000", "nonsense", "", "-1", "NaN", "q",
];

fn quality_allows(quality: Option<&str>) -> bool {
    match quality {
        None => true,
        // Only a number above zero allows: refusals, and anything unreadable, do not.
        Some(quality) => quality.trim().parse::<f64>().is_ok_and(|q| q > 0.0),
    }
}

fn element(codings: &'static [&'static str]) -> impl Strategy<Value = Element> {
    (
        prop::sample::select(codings),
        prop::option::of(prop::sample::select(&QUALITIES[..])),
    )
        .prop_map(|(coding, quality)| Element { coding, quality })
}

/// A header: other codings, at most one gzip and at most one `*`, in any order.
fn elements() -> impl Strategy<Value = Vec<Element>> {
    (
        prop::collection::vec(element(&OTHERS), 0..4),
        prop::option::of(element(&GZIP)),
        prop::option::of(element(&["*"])),
    )
        .prop_flat_map(|(mut all, gzip, any)| {
            all.extend(gzip);
            all.extend(any);
            Just(all).prop_shuffle()
        })
}

/// What the header means: gzip when named with a quality above zero, else when `*` is, else not.
fn model(elements: &[Element]) -> bool {
    let gzip = elements.iter().find(|element| {
        element.coding.eq_ignore_ascii_case("gzip") || element.coding.eq_ignore_ascii_case("x-gzip")
    });
    let any = elements.iter().find(|element| element.coding == "*");
    match (gzip, any) {
        (Some(gzip), _) => quality_allows(gzip.quality),
        (None, Some(any)) => quality_allows(any.quality),
        (None, None) => false,
    }
}

/// Writes the elements with the optional whitespace (`OWS`) that RFC 9110 allows, chosen by `spaces`.
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
            None => format!("{}{}{}", ows(), element.coding, ows()),
            Some(quality) => format!(
                "{}{}{};{}{q}={quality}{}",
                ows(),
                element.coding,
                ows(),
                ows(),
                ows()
            ),
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn negotiate(header: &str) -> Result<bool, TestCaseError> {
    let value = HeaderValue::from_str(header);
    prop_assert!(value.is_ok(), "{:?} is not a header value", header);
    Ok(value.is_ok_and(|value| accepts_gzip(Some(&value))))
}

proptest! {
    #[test]
    fn any_header_bytes_are_answered(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        // Whatever a scraper sends, valid UTF-8 or not: an answer, never a panic.
        if let Ok(value) = HeaderValue::from_bytes(&bytes) {
            let _ = accepts_gzip(Some(&value));
        }
    }

    #[test]
    fn header_like_text_is_answered(text in "[a-zA-Z*;=,.0-9 \t\"-]{0,48}") {
        if let Ok(value) = HeaderValue::from_str(&text) {
            let gzip = accepts_gzip(Some(&value));
            // Never gzip unless gzip or `*` is named at all.
            let lower = text.to_ascii_lowercase();
            prop_assert!(!gzip || lower.contains("gzip") || lower.contains('*'), "{:?}", text);
        }
    }

    #[test]
    fn gzip_exactly_when_allowed(
        elements in elements(),
        spaces in prop::collection::vec(any::<bool>(), 1..8),
        upper_q in any::<bool>(),
    ) {
        let header = write(&elements, &spaces, upper_q);
        prop_assert_eq!(negotiate(&header)?, model(&elements), "{:?}", header);
    }

    #[test]
    fn spelling_does_not_change_the_answer(
        elements in elements(),
        spaces in prop::collection::vec(any::<bool>(), 1..8),
    ) {
        let plain = negotiate(&write(&elements, &[false], false))?;
        prop_assert_eq!(negotiate(&write(&elements, &spaces, true))?, plain);
    }

    #[test]
    fn a_refused_gzip_is_never_chosen(
        mut elements in elements(),
        refusal in prop::sample::select(vec!["0", "0.0", "0.000", "nonsense", "-1"]),
        coding in prop::sample::select(&GZIP[..]),
    ) {
        // Whatever else the header says, `*` included, gzip;q=0 means no gzip.
        elements.retain(|element| !GZIP.iter().any(|gzip| gzip.eq_ignore_ascii_case(element.coding)));
        elements.push(Element { coding, quality: Some(refusal) });
        let header = write(&elements, &[true, false], false);
        prop_assert!(!negotiate(&header)?, "{:?}", header);
    }
}
