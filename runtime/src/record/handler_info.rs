//! What the attribute knows about a handler at compile time, and which histograms it asked for.

/// What the attribute knows about a handler at compile time.
#[doc(hidden)]
#[derive(Debug)]
pub struct HandlerInfo {
    /// The metric name fragment, e.g. `GetAccount`.
    pub name: &'static str,
    /// The HTTP method, upper case.
    pub method: &'static str,
    /// The path template with parameters written `{param}`.
    pub path: &'static str,
    /// The handler's own namespace override.
    pub namespace: Option<&'static str>,
    /// The handler's own histogram switch.
    pub histogram: Option<HistogramKind>,
    /// A long-lived route (server-sent events, long polling, upgrades).
    pub stream: bool,
    /// The handler's own switch for the time-to-headers series.
    pub time_to_headers: Option<bool>,
    /// The handler's own switch for the request size series.
    pub request_size: Option<bool>,
    /// `module_path!()` at the handler; its first segment is the default namespace.
    pub module_path: &'static str,
    /// The handler crate's version, for the build-info gauge.
    pub crate_version: Option<&'static str>,
    /// Where the handler is defined, for error messages.
    pub file: &'static str,
    /// Where the handler is defined, for error messages.
    pub line: u32,
}

impl HandlerInfo {
    /// A handler of `method` and `path` named `name`, with no argument of its own: the start of a
    /// handler that routemeter makes itself (the route layer's, the benchmarks', the tests'), with
    /// what differs set by struct update. Named by `module_path` and `file` alone (`line` 0).
    #[cfg(any(test, feature = "tower", feature = "bench"))]
    pub(crate) const fn plain(
        name: &'static str,
        method: &'static str,
        path: &'static str,
    ) -> HandlerInfo {
        HandlerInfo {
            name,
            method,
            path,
            namespace: None,
            histogram: None,
            stream: false,
            time_to_headers: None,
            request_size: None,
            module_path: "routemeter",
            crate_version: None,
            file: "routemeter",
            line: 0,
        }
    }
}

/// Which latency histograms a handler keeps beside its summaries: the attribute's `histogram`
/// argument, or else the `Config`'s switches.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HistogramKind {
    /// None (`histogram = false`).
    Off,
    /// `<namespace>_request_duration_seconds` with the configured `le` buckets
    /// (`histogram = true`).
    Classic,
    /// The classic buckets, for text scrapers, and a native histogram, which only the protobuf
    /// format carries (`histogram = "native"`).
    Native,
}

impl HistogramKind {
    /// Whether the handler keeps the classic `le` buckets (a native one keeps them too).
    pub(crate) fn classic(self) -> bool {
        self != HistogramKind::Off
    }

    /// Whether the handler keeps a native histogram.
    pub(crate) fn native(self) -> bool {
        self == HistogramKind::Native
    }
}
