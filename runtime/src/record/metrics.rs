//! What one handler records: its two summaries, its request counts, and what it opted into: the
//! latency histograms (classic and native), the time to headers, the request size, its streams.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::primitives::clock;
#[cfg(feature = "exemplars")]
use crate::primitives::lazy_box::LazyBox;
use crate::primitives::shard::{self, Owner, Shards, Sharer, Writer};
#[cfg(feature = "exemplars")]
use crate::record::exemplars::{Exemplar, Exemplars, TraceId};
use crate::record::handler_info::HandlerInfo;
use crate::record::histogram::{Histogram, SIZE_BUCKETS};
use crate::record::native_histogram::NativeHistogram;
use crate::record::outcome::{Classification, Code};
use crate::record::request_counts::{RequestCounts, Tally};
use crate::record::settings::Settings;
use crate::record::streams::StreamMetrics;
use crate::summary::{self, Core, Folded, Prepared, Shape};

/// Everything recorded per handler. The hot path indexes straight into it: no lookup by name.
///
/// What a request writes lives in one part per thread shard ([`crate::primitives::shard`]): both summaries'
/// totals and the request counts sit together on two cache lines, found with one lookup, so a
/// request touches as few lines as it can. For the same reason the struct starts a line, and
/// its first line holds all that a request reads of it besides its part: the summaries' shape
/// and whether anything optional is kept (in declaration order, and reading the options
/// themselves, a request loaded five lines of it).
#[repr(C, align(64))]
pub(crate) struct HandlerMetrics {
    /// Whether the handler keeps a latency histogram, classic or native: fixed at creation.
    keeps_histograms: bool,
    /// Whether a meter records something of this handler's requests: fixed at creation, see
    /// [`HandlerMetrics::records_at_meter`].
    at_meter: bool,
    /// The shape of both summaries, which have the same options.
    shape: Shape,
    shards: Shards<HandlerShard>,
    /// The ended epochs of each summary (duration, then size), folded over the parts.
    folded: [Folded; 2],
    /// The request counts that the parts share: codes that a part's own table has no room for.
    requests: RequestCounts,
    /// The duration's classic histogram, for handlers that keep one.
    pub(crate) histogram: Option<Histogram>,
    /// The native histogram of the duration, for protobuf scrapers; boxed, so that handlers
    /// without one pay a pointer for it.
    pub(crate) native_histogram: Option<Box<NativeHistogram>>,
    /// Seconds until the response headers (`time_to_headers`).
    pub(crate) headers: Option<Histogram>,
    /// Request `Content-Length`s in bytes (`request_size`).
    pub(crate) request_size: Option<Histogram>,
    /// The route's streams, for a long-lived route (`stream = true`).
    pub(crate) streams: Option<StreamMetrics>,
    /// When these metrics were created, in nanoseconds since the Unix epoch: every series of the
    /// handler counts from then (`_created`).
    pub(crate) created: u64,
    /// The latest exemplars, created with the first request that has a trace.
    #[cfg(feature = "exemplars")]
    pub(crate) exemplars: LazyBox<Exemplars>,
}

/// What one thread records for one handler: both summaries' totals on its first cache line, the
/// request counts from the second on.
#[repr(C)]
struct HandlerShard {
    duration: Core,
    size: Core,
    tally: Tally,
}

impl HandlerShard {
    fn core(&self, measure: Measure) -> &Core {
        match measure {
            Measure::Duration => &self.duration,
            Measure::Size => &self.size,
        }
    }
}

impl std::fmt::Debug for HandlerMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandlerMetrics")
            .field("shape", &self.shape)
            .field("in_flight", &self.in_flight())
            .finish_non_exhaustive()
    }
}

/// What a handler's two summaries measure: the tutorial's `service="duration"` (seconds) and
/// `service="size"` (bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Measure {
    Duration,
    Size,
}

impl Measure {
    /// Both, in the order they are written.
    pub(crate) const ALL: [Measure; 2] = [Measure::Duration, Measure::Size];

    /// The value of the `service` label.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Measure::Duration => "duration",
            Measure::Size => "size",
        }
    }
}

/// Whether some handler records request sizes; set when such a handler's metrics are built
/// (`install` builds every handler's), so that services without one never read the request's
/// `Content-Length`.
static REQUEST_SIZES_WANTED: AtomicBool = AtomicBool::new(false);

/// Whether some handler records at the meter ([`HandlerMetrics::records_at_meter`]); set as
/// [`REQUEST_SIZES_WANTED`] is, so that meters of whole bodies can leave their handlers alone.
/// Without `install`, a handler's metrics are built at its first request, which that handler
/// then records alone.
static METER_WANTED: AtomicBool = AtomicBool::new(false);

/// Whether some handler's metrics record request sizes.
#[inline]
pub(crate) fn request_sizes_wanted() -> bool {
    REQUEST_SIZES_WANTED.load(Ordering::Relaxed)
}

/// Whether some handler's metrics record at the meter.
#[inline]
pub(crate) fn meter_wanted() -> bool {
    METER_WANTED.load(Ordering::Relaxed)
}

impl HandlerMetrics {
    /// Metrics shaped by `settings`, with what `info` opts into or out of.
    pub(crate) fn new(info: &HandlerInfo, settings: &Settings) -> HandlerMetrics {
        let histogram = settings.histogram_kind(info.histogram);
        let request_size = info.request_size.unwrap_or(settings.request_size);
        if request_size {
            REQUEST_SIZES_WANTED.store(true, Ordering::Relaxed);
        }
        let latency = || Histogram::new(settings.buckets.clone());
        let shape = Shape::new(&settings.summary);
        let headers = info
            .time_to_headers
            .unwrap_or(settings.time_to_headers)
            .then(latency);
        let request_size = request_size.then(|| Histogram::new(Arc::from(SIZE_BUCKETS)));
        let streams = info.stream.then(StreamMetrics::default);
        let at_meter = headers.is_some() || request_size.is_some() || streams.is_some();
        if at_meter {
            METER_WANTED.store(true, Ordering::Relaxed);
        }
        HandlerMetrics {
            keeps_histograms: histogram.classic() || histogram.native(),
            at_meter,
            shards: Shards::default(),
            folded: [(); 2].map(|()| shape.folded()),
            shape,
            requests: RequestCounts::default(),
            histogram: histogram.classic().then(latency),
            native_histogram: histogram
                .native()
                .then(|| Box::new(NativeHistogram::new(settings.native_max_buckets))),
            created: clock::unix_nanos(),
            #[cfg(feature = "exemplars")]
            exemplars: LazyBox::default(),
            headers,
            request_size,
            streams,
        }
    }

    /// Bytes this handler's metrics occupy, its own struct included.
    #[cfg(any(test, feature = "bench"))]
    pub(crate) fn heap_bytes(&self) -> usize {
        std::mem::size_of::<HandlerMetrics>()
            + self
                .shards
                .iter()
                .map(|part| {
                    Shards::<HandlerShard>::PART_BYTES
                        + part.duration.heap_bytes()
                        + part.size.heap_bytes()
                })
                .sum::<usize>()
            + self.folded.iter().map(Folded::heap_bytes).sum::<usize>()
            + self.requests.heap_bytes()
            + [&self.histogram, &self.headers, &self.request_size]
                .into_iter()
                .flatten()
                .map(Histogram::heap_bytes)
                .sum::<usize>()
            + self
                .native_histogram
                .as_ref()
                .map_or(0, |native| native.heap_bytes())
    }

    /// How many per-thread parts these metrics hold: one per thread that recorded into them while
    /// holding a shard number, plus the shared one if a thread without a number recorded.
    #[cfg(any(test, feature = "bench"))]
    pub(crate) fn parts(&self) -> usize {
        self.shards.iter().count()
    }

    /// The calling thread's part, or the shared one, and whether the thread owns it.
    #[inline]
    fn part(&self) -> (&HandlerShard, bool) {
        let shard = shard::current();
        let part = self.shards.get_or_init(shard, || HandlerShard {
            duration: self.shape.core(),
            size: self.shape.core(),
            tally: Tally::default(),
        });
        (part, shard.is_owned())
    }

    /// Whether a meter ([`Metered`](crate::Metered)) records something of this handler's
    /// requests that the handler cannot: the time to headers, the request size, or a stream.
    #[inline]
    pub(crate) fn records_at_meter(&self) -> bool {
        self.at_meter
    }

    /// Counts a request that starts.
    // Inlined with `InFlight::start` into the attribute's future.
    #[inline]
    pub(crate) fn start(&self) {
        match self.part() {
            (part, true) => part.tally.start::<Owner>(),
            (part, false) => part.tally.start::<Sharer>(),
        }
    }

    /// Takes back a start counted by [`HandlerMetrics::start`], for a request another handler's
    /// metrics record.
    pub(crate) fn unstart(&self) {
        match self.part() {
            (part, true) => part.tally.unstart::<Owner>(),
            (part, false) => part.tally.unstart::<Sharer>(),
        }
    }

    /// Records one finished (or abandoned) request that took `elapsed` nanoseconds. `now` is
    /// the process clock at its end.
    pub(crate) fn record(&self, elapsed: u64, now: u64, outcome: Classification) {
        let seconds = seconds(elapsed);
        match self.part() {
            (part, true) => self.record_in::<Owner>(part, seconds, now, outcome),
            (part, false) => self.record_in::<Sharer>(part, seconds, now, outcome),
        }
        if self.keeps_histograms {
            self.observe_histograms(seconds);
        }
    }

    fn observe_histograms(&self, seconds: f64) {
        if let Some(histogram) = &self.histogram {
            histogram.observe(seconds);
        }
        if let Some(native) = &self.native_histogram {
            native.observe(seconds);
        }
    }

    #[inline]
    fn record_in<W: Writer>(
        &self,
        part: &HandlerShard,
        seconds: f64,
        now: u64,
        outcome: Classification,
    ) {
        let epoch = self.shape.epoch(now);
        let [durations, sizes] = &self.folded;
        self.shape
            .record::<W>(&part.duration, durations, epoch, seconds);
        if let Some(size) = outcome.size {
            // Sizes beyond 2^53 bytes lose precision as f64; no response is that large.
            self.shape
                .record::<W>(&part.size, sizes, epoch, as_f64(size));
        }
        self.requests.finish::<W>(&part.tally, outcome.code);
    }

    /// The request counts of every part installed so far.
    fn tallies(&self) -> impl Iterator<Item = &Tally> {
        self.shards.iter().map(|part| &part.tally)
    }

    /// Fills `into` with the requests ended so far, by code, in label order.
    pub(crate) fn collect_codes(&self, into: &mut Vec<(Code, u64)>) {
        self.requests.collect(self.tallies(), into);
    }

    /// Requests started and not yet ended.
    pub(crate) fn in_flight(&self) -> i64 {
        self.requests.in_flight(|| self.tallies())
    }

    /// One of the two summaries, to read.
    pub(crate) fn summary(&self, measure: Measure) -> SummaryOf<'_> {
        SummaryOf {
            metrics: self,
            measure,
        }
    }
}

/// One summary of a handler, as a scrape reads it: see [`summary::prefetch_cores`] for the
/// order of the calls.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SummaryOf<'a> {
    metrics: &'a HandlerMetrics,
    measure: Measure,
}

impl<'a> SummaryOf<'a> {
    fn cores(self) -> impl Iterator<Item = &'a Core> + Clone {
        let measure = self.measure;
        self.metrics
            .shards
            .iter()
            .map(move |part| part.core(measure))
    }

    fn folded(self) -> &'a Folded {
        &self.metrics.folded[self.measure as usize]
    }

    pub(crate) fn prefetch_cores(self) {
        summary::prefetch_cores(self.cores(), self.folded());
    }

    pub(crate) fn prefetch_counts(self) {
        summary::prefetch_counts(self.cores(), self.folded());
    }

    pub(crate) fn prefetch_totals(self) {
        summary::prefetch_totals(self.cores(), self.folded());
    }

    #[cfg(test)]
    pub(crate) fn prepare(self, now: u64) -> Prepared<'a> {
        let mut prepared = Prepared::default();
        self.prepare_into(now, &mut prepared);
        prepared
    }

    pub(crate) fn prepare_into(self, now: u64, prepared: &mut Prepared<'a>) {
        self.metrics
            .shape
            .prepare_into(self.cores(), self.folded(), now, prepared);
    }
}

/// Nanoseconds as seconds: one conversion for the summaries, the histograms and the exemplars, so
/// that a request's exemplar lands in the bucket its duration was counted in. A multiplication,
/// not a division: it is on every request's path, and a division takes several times as long.
#[inline]
fn seconds(nanos: u64) -> f64 {
    as_f64(nanos) * 1e-9
}

/// `value` as an `f64`, through `i64` (saturating at `i64::MAX`, far beyond any duration in
/// nanoseconds or size in bytes): converting an `i64` is one instruction, where a `u64` takes
/// several and a constant on a cache line of its own, on every request.
#[inline]
fn as_f64(value: u64) -> f64 {
    i64::try_from(value).unwrap_or(i64::MAX) as f64
}

#[cfg(feature = "exemplars")]
impl HandlerMetrics {
    /// Keeps `trace` as the latest exemplar of a request that took `elapsed` nanoseconds and
    /// ended with `code`: on the count of `code` (value 1, one request) and on the histogram's
    /// bucket of its duration, if the handler keeps a histogram.
    pub(crate) fn record_exemplar(&self, trace: TraceId, elapsed: u64, code: Code) {
        let seconds = seconds(elapsed);
        let buckets = self
            .histogram
            .as_ref()
            .map_or(0, |histogram| histogram.bounds().len() + 1);
        let exemplars = self.exemplars.get_or_init(|| Exemplars::new(buckets));
        let at = clock::unix_nanos();
        exemplars.record_request(
            code,
            &Exemplar {
                trace,
                value: 1.0,
                at,
            },
        );
        if let Some(histogram) = &self.histogram {
            exemplars.record_bucket(
                histogram.bucket_of(seconds),
                &Exemplar {
                    trace,
                    value: seconds,
                    at,
                },
            );
        }
    }

    /// The exemplars recorded so far, if any request had a trace.
    pub(crate) fn exemplars(&self) -> Option<&Exemplars> {
        self.exemplars.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::handler_info::HistogramKind;
    use std::sync::Barrier;

    #[test]
    fn a_request_writes_two_lines_of_its_shard() {
        // Shards are 128-byte aligned: the cores (their totals and slots) fill line 0, and the
        // start count, the codes' counts and the code table line 1.
        assert_eq!(std::mem::offset_of!(HandlerShard, tally), 64);
        assert!(std::mem::size_of::<Tally>() <= 64);
        assert_eq!(Shards::<HandlerShard>::PART_BYTES, 128);
    }

    const TEST_INFO: HandlerInfo = HandlerInfo {
        histogram: Some(HistogramKind::Off),
        ..HandlerInfo::plain("Test", "GET", "/")
    };

    #[test]
    fn threads_beyond_the_pool_share_a_part_and_lose_nothing() {
        let metrics = HandlerMetrics::new(&TEST_INFO, &Settings::default());
        // All alive at once before their first request, so the pool runs out: a few threads own
        // a part, the others share one.
        let threads = shard::MAX_OWNED + 8;
        let requests = 10_000u64;
        let now = 5_000_000_000;
        let barrier = Barrier::new(threads);
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    barrier.wait();
                    for i in 0..requests {
                        metrics.start();
                        let outcome = Classification {
                            code: Code::Status(200),
                            size: Some(100),
                        };
                        metrics.record(1_000_000 + i, now, outcome);
                    }
                });
            }
        });
        let total = threads as u64 * requests;
        let mut codes = Vec::new();
        metrics.collect_codes(&mut codes);
        assert_eq!(codes, vec![(Code::Status(200), total)]);
        assert_eq!(metrics.in_flight(), 0);
        for measure in Measure::ALL {
            let mut values = [f64::NAN; 3];
            let reading = metrics.summary(measure).prepare(now).read_into(&mut values);
            assert_eq!(reading.count, total, "{measure:?}");
            assert_eq!(reading.window_count, total, "{measure:?}");
        }
        let mut values = [f64::NAN; 3];
        let size = metrics
            .summary(Measure::Size)
            .prepare(now)
            .read_into(&mut values);
        assert_eq!(size.sum, 100.0 * total as f64);
        assert!(values
            .iter()
            .all(|value| (value - 100.0).abs() <= 100.0 * 0.0095));
    }
}
