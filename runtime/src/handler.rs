//! One instrumented handler: its static description and the metrics it records into.

use std::sync::OnceLock;

use crate::config::settings;
use crate::histogram::Histogram;
use crate::outcome::Classification;
use crate::request_counts::RequestCounts;
use crate::shard;
use crate::summary::Summary;

/// What the attribute knows about a handler at compile time.
#[doc(hidden)]
#[derive(Debug)]
pub struct SiteInfo {
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
    /// `module_path!()` at the handler; its first segment is the default namespace.
    pub module_path: &'static str,
    /// The handler crate's version, for the build-info gauge.
    pub crate_version: Option<&'static str>,
    /// Where the handler is defined, for error messages.
    pub file: &'static str,
    /// Where the handler is defined, for error messages.
    pub line: u32,
}

/// A handler's static description plus its metrics, created on first use.
#[doc(hidden)]
#[derive(Debug)]
pub struct HandlerSite {
    info: SiteInfo,
    metrics: OnceLock<HandlerMetrics>,
}

impl HandlerSite {
    /// Describes a handler; called by the attribute in a `static`.
    pub const fn new(info: SiteInfo) -> HandlerSite {
        HandlerSite {
            info,
            metrics: OnceLock::new(),
        }
    }

    pub(crate) fn info(&self) -> &SiteInfo {
        &self.info
    }

    /// The handler's metrics, built from the settings in force the first time they are needed.
    pub(crate) fn metrics(&self) -> &HandlerMetrics {
        self.metrics
            .get_or_init(|| HandlerMetrics::new(self.info.histogram))
    }

    /// Where the handler is defined, as `file:line`.
    pub(crate) fn location(&self) -> String {
        format!("{}:{}", self.info.file, self.info.line)
    }
}

/// Everything recorded per handler. The hot path indexes straight into it: no lookup by name.
#[derive(Debug)]
pub(crate) struct HandlerMetrics {
    pub(crate) duration: Summary,
    pub(crate) size: Summary,
    /// Requests started, and ended by outcome code; their difference is the in-flight gauge.
    pub(crate) requests: RequestCounts,
    pub(crate) histogram: Option<Histogram>,
}

impl HandlerMetrics {
    fn new(histogram: Option<bool>) -> HandlerMetrics {
        let settings = settings();
        HandlerMetrics {
            duration: Summary::new(&settings.summary),
            size: Summary::new(&settings.summary),
            requests: RequestCounts::default(),
            histogram: histogram
                .unwrap_or(settings.histogram)
                .then(|| Histogram::new(settings.buckets.clone())),
        }
    }

    /// Bytes this handler's metrics occupy, its own struct included.
    pub(crate) fn heap_bytes(&self) -> usize {
        std::mem::size_of::<HandlerMetrics>()
            + self.duration.heap_bytes()
            + self.size.heap_bytes()
            + self.requests.heap_bytes()
            + self.histogram.as_ref().map_or(0, Histogram::heap_bytes)
    }

    /// Counts a request that starts.
    pub(crate) fn start(&self) {
        self.requests.start(shard::current());
    }

    /// Records one finished (or abandoned) request that took `elapsed` nanoseconds. `now` is
    /// the process clock at its end.
    pub(crate) fn record(&self, elapsed: u64, now: u64, outcome: Classification) {
        let shard = shard::current();
        let seconds = elapsed as f64 / 1e9;
        self.duration.observe_in(shard, seconds, now);
        if let Some(size) = outcome.size {
            // Sizes beyond 2^53 bytes lose precision as f64; no response is that large.
            self.size.observe_in(shard, size as f64, now);
        }
        if let Some(histogram) = &self.histogram {
            histogram.observe(seconds);
        }
        self.requests.finish(shard, outcome.code);
    }
}
