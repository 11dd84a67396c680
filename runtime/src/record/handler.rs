//! One instrumented handler: what the attribute knows of it at compile time, the metrics it
//! records into, and the link-time list of every handler in the program.

use std::sync::OnceLock;

use crate::record::metrics::HandlerMetrics;
use crate::record::settings;

/// Each `#[instrumented]` handler adds itself here at link time, so that every handler is known
/// at start-up, before its first request.
#[doc(hidden)]
#[linkme::distributed_slice]
pub static HANDLERS: [&'static Handler];

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
    /// `module_path!()` at the handler; its first segment is the default namespace.
    pub module_path: &'static str,
    /// The handler crate's version, for the build-info gauge.
    pub crate_version: Option<&'static str>,
    /// Where the handler is defined, for error messages.
    pub file: &'static str,
    /// Where the handler is defined, for error messages.
    pub line: u32,
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

/// An instrumented handler, as the `static` the attribute emits for it: its [`HandlerInfo`]
/// plus its metrics, created on first use.
#[doc(hidden)]
#[derive(Debug)]
pub struct Handler {
    info: HandlerInfo,
    metrics: OnceLock<HandlerMetrics>,
}

impl Handler {
    /// Describes a handler; called by the attribute in a `static`.
    pub const fn new(info: HandlerInfo) -> Handler {
        Handler {
            info,
            metrics: OnceLock::new(),
        }
    }

    pub(crate) fn info(&self) -> &HandlerInfo {
        &self.info
    }

    /// The handler's metrics, built from the settings in force the first time they are needed
    /// (which fixes the settings if `install` has not: see [`settings::in_force`]).
    #[inline]
    pub(crate) fn metrics(&self) -> &HandlerMetrics {
        self.metrics.get_or_init(|| {
            let settings =
                settings::in_force(|| format!("`{}` at {}", self.info.name, self.location()));
            HandlerMetrics::new(self.info.histogram, settings)
        })
    }

    /// Where the handler is defined, as `file:line`.
    pub(crate) fn location(&self) -> String {
        format!("{}:{}", self.info.file, self.info.line)
    }
}

/// Whether `name` can stand in a metric name after `<namespace>_`, and be a namespace:
/// `[A-Za-z_][A-Za-z0-9_]*`. The attribute applies the same rule at compile time; a test of the
/// macros crate checks that the two agree.
pub fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(first) if first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(is_valid_name("GetAccount"));
        assert!(is_valid_name("_x9"));
        assert!(!is_valid_name("9x"));
        assert!(!is_valid_name("a-b"));
        assert!(!is_valid_name(""));
    }
}
