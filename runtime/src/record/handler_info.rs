//! What the attribute knows about a handler at compile time.

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
    pub histogram: Option<bool>,
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
