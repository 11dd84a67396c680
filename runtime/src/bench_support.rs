//! Synthetic handler sets for the benchmarks: the real render path over any number of handlers,
//! which a program cannot otherwise vary (its handlers are fixed when it is linked).
//!
//! They run on a clock of their own, stopped an hour after the process clock's origin, so that a
//! benchmark can give them a history as long as the window (a service that has been up for a
//! while) and get the same window whenever it renders.

use std::time::Duration;

use crate::expose::catalog::Catalog;
use crate::expose::compression::{compress, Encoding};
use crate::expose::families;
use crate::expose::format::Format;
use crate::expose::scrapes::ScrapeStats;
use crate::expose::{openmetrics, prometheus_text, protobuf};
use crate::primitives::shard;
use crate::record::handler::Handler;
use crate::record::handler_info::{HandlerInfo, HistogramKind};
use crate::record::outcome::{Classification, Code};
use crate::summary::SummaryOptions;

/// `count` handlers named `Handler0`, `Handler1`, ... in namespace `bench`, with the histograms
/// of `histogram` (none, classic, or classic and native).
pub struct SyntheticHandlers {
    handlers: Vec<&'static Handler>,
    catalog: Catalog,
    /// The handlers' clock: nanoseconds since the process clock's origin, fixed.
    now: u64,
}

/// Which histograms the synthetic handlers keep.
#[derive(Clone, Copy, Debug)]
pub enum Histograms {
    /// The summaries only.
    None,
    /// The classic histogram too.
    Classic,
    /// The classic and the native histogram.
    Native,
}

/// A compression of the exposition.
#[derive(Clone, Copy, Debug)]
pub enum Compression {
    /// gzip, at the level `/metrics` uses.
    Gzip,
    /// zstd, at the level `/metrics` uses.
    Zstd,
}

/// Sizes the pool of shard numbers as on a machine with `cpus` CPUs, whatever this machine has,
/// and returns the pool's new size: a benchmark on a small machine then records into as many
/// shards as a large one would. Threads that already hold a number keep it.
pub fn simulate_cpus(cpus: usize) -> usize {
    shard::simulate_cpus(cpus)
}

/// Where the synthetic handlers' clock stands: far enough from the origin for any history.
const NOW: Duration = Duration::from_secs(3600);

impl SyntheticHandlers {
    /// The scrape handler's own counts, as before any scrape.
    const STATS: ScrapeStats = ScrapeStats {
        requests: Vec::new(),
        in_flight: 0,
        created: 0,
    };

    /// Creates the handlers, with no histogram. Their descriptions are leaked, as statics
    /// would be.
    pub fn new(count: usize) -> SyntheticHandlers {
        SyntheticHandlers::with_histogram(count, Histograms::None)
    }

    /// Creates the handlers with the histograms of `histograms`.
    pub fn with_histogram(count: usize, histograms: Histograms) -> SyntheticHandlers {
        let histogram = Some(match histograms {
            Histograms::None => HistogramKind::Off,
            Histograms::Classic => HistogramKind::Classic,
            Histograms::Native => HistogramKind::Native,
        });
        let handlers: Vec<&'static Handler> = (0..count)
            .map(|index| {
                let name: &'static str = Box::leak(format!("Handler{index}").into_boxed_str());
                let path: &'static str =
                    Box::leak(format!("/resource{index}/{{id}}").into_boxed_str());
                &*Box::leak(Box::new(Handler::new(HandlerInfo {
                    namespace: Some("bench"),
                    histogram,
                    crate_version: Some("1.0.0"),
                    ..HandlerInfo::plain(name, "GET", path)
                })))
            })
            .collect();
        let catalog = Catalog::build(handlers.iter().copied(), None);
        SyntheticHandlers {
            handlers,
            catalog,
            now: u64::try_from(NOW.as_nanos()).unwrap_or(u64::MAX),
        }
    }

    /// Records a request of `seconds` with a `200` of `size` bytes on every handler, now.
    pub fn record_all(&self, seconds: f64, size: u64) {
        self.record_all_ago(seconds, size, Duration::ZERO);
    }

    /// Records a request of `seconds` with a `200` of `size` bytes on every handler, as if it
    /// had ended `ago` before now (at most an hour ago).
    pub fn record_all_ago(&self, seconds: f64, size: u64, ago: Duration) {
        let at = self
            .now
            .saturating_sub(u64::try_from(ago.as_nanos()).unwrap_or(u64::MAX));
        let elapsed = (seconds * 1e9) as u64;
        for handler in &self.handlers {
            handler.metrics().record(
                elapsed,
                at,
                Classification {
                    code: Code::Status(200),
                    size: Some(size),
                },
            );
        }
    }

    /// Records a request of `seconds` with a `200` of `size` bytes on handler `index` (modulo
    /// the number of handlers), now.
    pub fn record(&self, index: usize, seconds: f64, size: u64) {
        let Some(handler) = self.handlers.get(index % self.handlers.len().max(1)) else {
            return;
        };
        handler.metrics().record(
            (seconds * 1e9) as u64,
            self.now,
            Classification {
                code: Code::Status(200),
                size: Some(size),
            },
        );
    }

    /// How many handlers there are.
    pub fn len(&self) -> usize {
        self.handlers.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.handlers.is_empty()
    }

    /// The exposition of these handlers in the text format 0.0.4, as `/metrics` writes it.
    pub fn render(&self) -> String {
        let families = families::gather(&self.catalog, &[]);
        let options = SummaryOptions::default();
        prometheus_text::render(&families, &Self::STATS, options.quantiles(), self.now)
            .unwrap_or_default()
    }

    /// The exposition of these handlers in `format`, as `/metrics` writes it.
    pub fn encode(&self, format: Format) -> Vec<u8> {
        let families = families::gather(&self.catalog, &[]);
        let options = SummaryOptions::default();
        let quantiles = options.quantiles();
        let stats = &Self::STATS;
        match format {
            Format::PrometheusText => {
                prometheus_text::render(&families, stats, quantiles, self.now)
                    .map(String::into_bytes)
                    .unwrap_or_default()
            }
            Format::OpenMetrics => {
                openmetrics::render(&families, stats, quantiles, self.now).into_bytes()
            }
            Format::Protobuf => {
                protobuf::render(&families, stats, quantiles, self.now).unwrap_or_default()
            }
        }
    }

    /// The text exposition gzipped, as `/metrics` sends it to a scraper that accepts gzip.
    pub fn render_gzip(&self) -> Vec<u8> {
        self.encode_compressed(Format::PrometheusText, Compression::Gzip)
    }

    /// The exposition in `format`, compressed with `compression`.
    pub fn encode_compressed(&self, format: Format, compression: Compression) -> Vec<u8> {
        let encoding = match compression {
            Compression::Gzip => Encoding::Gzip,
            Compression::Zstd => Encoding::Zstd,
        };
        compress(self.encode(format), encoding).0
    }

    /// The per-thread parts of the first handler's metrics: one per thread that recorded into it
    /// with a shard number of its own, plus the one the others share.
    pub fn parts_per_handler(&self) -> usize {
        self.handlers
            .first()
            .map_or(0, |handler| handler.metrics().parts())
    }

    /// Bytes the first handler's metrics occupy.
    pub fn heap_bytes_per_handler(&self) -> usize {
        self.handlers
            .first()
            .map_or(0, |handler| handler.metrics().heap_bytes())
    }
}
