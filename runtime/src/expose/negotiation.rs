//! Content negotiation for `/metrics`: whether the scraper takes gzip.

use http::HeaderValue;

/// Whether an `Accept-Encoding` header allows gzip: `gzip` or `*` with a non-zero quality, and
/// gzip not refused by name (`gzip;q=0`). A header that is not valid text allows nothing.
pub(crate) fn accepts_gzip(accept_encoding: Option<&HeaderValue>) -> bool {
    let Some(header) = accept_encoding.and_then(|value| value.to_str().ok()) else {
        return false;
    };
    let mut gzip = None;
    let mut any = None;
    for item in header.split(',') {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or_default().trim();
        let quality = parts
            .filter_map(|param| {
                let (key, value) = param.split_once('=')?;
                key.trim()
                    .eq_ignore_ascii_case("q")
                    .then(|| value.trim().parse::<f32>().ok())
            })
            .next()
            // A malformed quality counts as a refusal: never send what may not be understood.
            .map_or(1.0, |quality| quality.unwrap_or(0.0));
        if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
            gzip = Some(quality > 0.0);
        } else if coding == "*" {
            any = Some(quality > 0.0);
        }
    }
    gzip.or(any).unwrap_or(false)
}

#[cfg(test)]
mod props;

#[cfg(test)]
mod tests {
    use super::*;

    fn gzip(header: &str) -> bool {
        accepts_gzip(HeaderValue::from_str(header).ok().as_ref())
    }

    #[test]
    fn negotiates_gzip() {
        assert!(gzip("gzip"));
        assert!(gzip("deflate, GZIP;q=0.5"));
        assert!(gzip("*"));
        assert!(gzip("x-gzip"));
        assert!(!gzip(""));
        assert!(!gzip("identity"));
        assert!(!gzip("gzip;q=0"));
        assert!(!gzip("gzip;q=0, *"));
        assert!(!gzip("*;q=0"));
        assert!(!gzip("gzip;q=nonsense"));
        assert!(!accepts_gzip(None));
    }
}
