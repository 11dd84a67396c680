//! What a handler's return value says about the request: its status and response size.

use http::Response;
use http_body::Body;

/// How a request ended, as counted in `<namespace>_requests_total{code=...}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    /// The handler answered with this HTTP status.
    Status(u16),
    /// The handler returned `Err`.
    Error,
    /// The handler's future was dropped before it completed (client gone, timeout).
    Cancelled,
    /// The handler panicked.
    Panic,
    /// The response body was dropped before its end: the client went away mid-body (seen only
    /// with a [`Metered`](crate::Metered) service).
    Aborted,
    /// The response body failed with an error before its end (seen only with a
    /// [`Metered`](crate::Metered) service).
    BodyError,
    /// An axum handler's output that routemeter cannot read before axum converts it into a
    /// response, and no [`Metered`](crate::Metered) service or layer saw the converted response.
    Unclassified,
}

/// The `code` values of a failed request, as a PromQL regular expression: a 5xx status, a
/// handler that returned `Err` or panicked, or a response body that failed. Cancelled requests
/// and aborted bodies are the client's doing and do not count. The crate docs' queries, and
/// generated rules and dashboards, all use it:
/// `rate(<namespace>_requests_total{code=~"5..|error|panic|body_error"}[5m])`.
pub const FAILED_CODES: &str = "5..|error|panic|body_error";

impl Code {
    /// The number of distinct codes a handler can count: statuses 100..=999 and six outcomes.
    pub(crate) const SLOTS: usize = 900 + 6;

    /// A dense index for the per-handler counter array, in the order labels are written:
    /// statuses, then the outcomes by name.
    #[inline]
    pub(crate) fn slot(self) -> usize {
        match self {
            Code::Status(status) => status_slot(status),
            // Out of line: in one match the compiler jumps through a table, one more cache line
            // for every request to load.
            other => other.slot_out_of_line(),
        }
    }

    /// [`Code::slot`], for the codes other than statuses, which a request rarely ends with.
    #[cold]
    #[inline(never)]
    fn slot_out_of_line(self) -> usize {
        match self {
            Code::Status(status) => status_slot(status),
            Code::Aborted => 900,
            Code::BodyError => 901,
            Code::Cancelled => 902,
            Code::Error => 903,
            Code::Panic => 904,
            Code::Unclassified => 905,
        }
    }

    /// The inverse of [`Code::slot`].
    pub(crate) fn from_slot(slot: usize) -> Code {
        match slot {
            900 => Code::Aborted,
            901 => Code::BodyError,
            902 => Code::Cancelled,
            903 => Code::Error,
            904 => Code::Panic,
            905 => Code::Unclassified,
            // Slots below 900 come from `slot`, so the status fits in u16.
            status => Code::Status(u16::try_from(status + 100).unwrap_or(999)),
        }
    }

    /// The `code` label value: three digits, or `aborted` / `body_error` / `cancelled` /
    /// `error` / `panic` / `unclassified`.
    pub(crate) fn label(self) -> CodeLabel {
        CodeLabel(self)
    }
}

/// The slot of a status: statuses come first, 100 at 0 (any other number is clamped to
/// 100..=999).
#[inline]
fn status_slot(status: u16) -> usize {
    usize::from(status.clamp(100, 999) - 100)
}

/// Formats a [`Code`] as its label value without allocating.
pub(crate) struct CodeLabel(Code);

impl std::fmt::Display for CodeLabel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Code::Status(status) => write!(f, "{status}"),
            Code::Error => f.write_str("error"),
            Code::Cancelled => f.write_str("cancelled"),
            Code::Panic => f.write_str("panic"),
            Code::Aborted => f.write_str("aborted"),
            Code::BodyError => f.write_str("body_error"),
            Code::Unclassified => f.write_str("unclassified"),
        }
    }
}

/// What routemeter reads from a completed handler's return value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Classification {
    pub(crate) code: Code,
    /// Response size in bytes, when it is known without reading the body.
    pub(crate) size: Option<u64>,
}

impl Classification {
    /// An output whose status only its conversion into a response decides.
    pub(crate) const UNCLASSIFIED: Classification = Classification {
        code: Code::Unclassified,
        size: None,
    };
}

/// A handler return type routemeter can classify.
///
/// Implemented for `Response<B>` and `Result<Response<B>, E>` for every body type `B`.
/// The response size is the body's exact size hint ([`Body::size_hint`]) when the body holds any
/// bytes, otherwise the `Content-Length` header when it is present and valid (a response to
/// `HEAD` declares a length it does not send), otherwise the hint's zero; a body of unknown length
/// with no header is not guessed, and no size is observed for it.
#[diagnostic::on_unimplemented(
    message = "`#[instrumented]` cannot classify a handler that returns `{Self}`",
    label = "the handler's output must be `Response<B>` or `Result<Response<B>, E>`",
    note = "routemeter counts each request by the status of the `http::Response` the handler returns"
)]
pub trait Outcome {
    /// Reads the status code and response size.
    fn classify(&self) -> Classification;
}

impl<B: Body> Outcome for Response<B> {
    fn classify(&self) -> Classification {
        Classification {
            code: Code::Status(self.status().as_u16()),
            size: response_size(self),
        }
    }
}

impl<B: Body, E> Outcome for Result<Response<B>, E> {
    fn classify(&self) -> Classification {
        match self {
            Ok(response) => response.classify(),
            Err(_) => Classification {
                code: Code::Error,
                size: None,
            },
        }
    }
}

/// The response's size as known before its body is sent: the body's exact size when it has
/// any bytes (what will be sent, and far cheaper to read than a header), else a valid
/// `Content-Length`, else the body's exact size (zero) if it has one.
pub(crate) fn response_size<B: Body>(response: &Response<B>) -> Option<u64> {
    let exact = response.body().size_hint().exact();
    if let Some(length) = exact.filter(|&length| length > 0) {
        return Some(length);
    }
    // A response has a handful of headers: comparing their names, a byte each for standard
    // ones, is cheaper than hashing the name to look it up.
    let header = response
        .headers()
        .iter()
        .find_map(|(name, value)| (name == http::header::CONTENT_LENGTH).then_some(value));
    header
        .and_then(|value| content_length(value.as_bytes()))
        .or(exact)
}

/// Digits of the longest `Content-Length` read: any 19-digit number fits in a `u64`, and 10^19
/// bytes is more than any response.
const MAX_LENGTH_DIGITS: usize = 19;

/// A `Content-Length` value: 1 to 19 decimal digits, with optional spaces or tabs around them.
pub(crate) fn content_length(value: &[u8]) -> Option<u64> {
    let digits = value.trim_ascii();
    if digits.is_empty() || digits.len() > MAX_LENGTH_DIGITS {
        return None;
    }
    let mut length = 0u64;
    for &byte in digits {
        let digit = byte.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        length = length * 10 + u64::from(digit);
    }
    Some(length)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn failed_codes_are_the_ones_the_docs_query() {
        let docs = [
            include_str!("../lib.rs"),
            include_str!("../../../README.md"),
        ];
        let matchers: Vec<&str> = docs
            .iter()
            .flat_map(|doc| doc.split("code=~\"").skip(1))
            .filter_map(|rest| rest.split('"').next())
            // Matchers of server errors; other matchers (e.g. of aborted bodies) ask other things.
            .filter(|matcher| matcher.starts_with("5.."))
            .collect();
        assert!(!matchers.is_empty());
        assert!(
            matchers.iter().all(|matcher| *matcher == FAILED_CODES),
            "{matchers:?}"
        );
    }
    use http_body_util::{Empty, Full};

    #[test]
    fn a_body_of_exact_length_wins_over_the_header() {
        // What hyper sends is the body: it never sends more than its bytes.
        let response = Response::builder()
            .header("content-length", "42")
            .body(Full::new(Bytes::from_static(b"abc")))
            .unwrap_or_default();
        assert_eq!(response.classify().size, Some(3));
    }

    #[test]
    fn an_empty_body_reports_the_declared_length() {
        // A response to HEAD: the length of the body a GET would get.
        let response = Response::builder()
            .header("content-length", "42")
            .body(Empty::<Bytes>::new())
            .unwrap_or_default();
        assert_eq!(response.classify().size, Some(42));
        let streamed = Response::builder()
            .header("content-length", " 7 ")
            .body(Streamed)
            .unwrap_or_default();
        assert_eq!(streamed.classify().size, Some(7));
    }

    #[test]
    fn exact_size_hint_is_used_without_a_header() {
        let response = Response::new(Full::new(Bytes::from_static(b"abcd")));
        assert_eq!(response.classify().size, Some(4));
        assert_eq!(
            Response::new(Empty::<Bytes>::new()).classify().size,
            Some(0)
        );
    }

    #[test]
    fn a_body_of_unknown_length_has_no_size() {
        assert_eq!(Response::new(Streamed).classify().size, None);
    }

    #[test]
    fn malformed_content_length_falls_back_to_the_body() {
        let response = Response::builder()
            .header("content-length", "lots")
            .body(Full::new(Bytes::from_static(b"abc")))
            .unwrap_or_default();
        assert_eq!(response.classify().size, Some(3));
    }

    #[test]
    fn content_length_is_digits_only() {
        assert_eq!(content_length(b"42"), Some(42));
        assert_eq!(content_length(b" 42\t"), Some(42));
        assert_eq!(content_length(b"0"), Some(0));
        assert_eq!(
            content_length(b"9999999999999999999"),
            Some(9_999_999_999_999_999_999)
        );
        for bad in [
            &b""[..],
            b" ",
            b"+42",
            b"-1",
            b"4 2",
            b"42x",
            b"10000000000000000000",
        ] {
            assert_eq!(
                content_length(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn the_first_content_length_counts() {
        let mut response = Response::new(Empty::<Bytes>::new());
        let headers = response.headers_mut();
        headers.insert("content-type", http::HeaderValue::from_static("text/plain"));
        headers.append("content-length", http::HeaderValue::from_static("7"));
        headers.append("content-length", http::HeaderValue::from_static("9"));
        assert_eq!(response.classify().size, Some(7));
    }

    #[test]
    fn errors_and_statuses_are_classified() {
        let ok: Result<Response<Empty<Bytes>>, ()> = Ok(Response::builder()
            .status(404)
            .body(Empty::new())
            .unwrap_or_default());
        assert_eq!(ok.classify().code, Code::Status(404));
        let err: Result<Response<Empty<Bytes>>, ()> = Err(());
        assert_eq!(
            err.classify(),
            Classification {
                code: Code::Error,
                size: None
            }
        );
    }

    #[test]
    fn slots_round_trip() {
        for code in [
            Code::Status(100),
            Code::Status(200),
            Code::Status(999),
            Code::Error,
            Code::Cancelled,
            Code::Panic,
        ] {
            assert_eq!(Code::from_slot(code.slot()), code);
        }
        assert_eq!(Code::Status(503).label().to_string(), "503");
        assert_eq!(Code::Cancelled.label().to_string(), "cancelled");
    }

    /// A body that streams and so cannot tell its length in advance.
    #[derive(Default)]
    struct Streamed;

    impl Body for Streamed {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
            std::task::Poll::Ready(None)
        }
    }
}
