//! The cost of routemeter, measured side by side in one run:
//! - one summary observation, single-threaded and from two threads at once, against a plain
//!   `prometheus::Histogram::observe`;
//! - an instrumented handler against the same handler bare (the attribute's whole per-request cost),
//!   and against the same handler behind a middleware written by hand with the `prometheus` crate;
//! - the `Metered` wrapper, which measures to the end of the body, around a hyper service of the
//!   instrumented handler with a `Full` body and with a body of 10 frames, against the same
//!   service alone (bodies drained in both);
//! - an instrumented handler with a native histogram (and so the classic buckets too) against the
//!   same handler with its summaries only;
//! - rendering `/metrics` for 10, 100 and 1000 handlers, as text and gzipped, each handler with a
//!   history as long as the window, recorded by two threads, and a new request before every render;
//!   and for 1000 handlers with native histograms, in each format (text, OpenMetrics, protobuf),
//!   with the bytes a scrape takes in each format, plain, gzipped and with zstd;
//! - bytes of memory per handler after 10^6 observations of a realistic latency distribution,
//!   spread over the window, recorded by two threads (and by one);
//! - the same handler recorded by each peer (the `prometheus` crate, `prometheus-client`,
//!   `metrics` with `metrics-exporter-prometheus`, autometrics), and 100 handlers rendered by
//!   each, and 1000 handlers that 16 threads recorded into by the fastest ([`peers`]);
//! - 16, 32 and 64 threads recording into 100 handlers with the shard pool of a 16- or 32-core
//!   machine: cost per request, memory per handler, render time ([`many_threads`]);
//! - rendering 5000 handlers, the end of the series 10, 100, 1000.
//!
//! The handler's and the wrappers' costs are also measured in paired rounds ([`paired`]), which
//! the drift of a shared machine between two benchmarks does not enter, in several processes.
//!
//! Run with `cargo bench -p routemeter`. The run ends by printing the medians and their ratios and
//! writing them to `target/routemeter-bench.json`.

// A benchmark that cannot set itself up should stop loudly; criterion's macros generate
// undocumented items.
#![allow(clippy::expect_used, clippy::panic, missing_docs)]

use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::path::PathBuf;
use std::pin::pin;
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, BatchSize, BenchmarkId, Criterion};
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::Response;
use routemeter::bench_support::{Compression, Histograms, SyntheticHandlers};
use routemeter::{Format, Summary, SummaryOptions};

mod body;
mod many_threads;
mod paired;
mod peers;

const HANDLER_COUNTS: [usize; 4] = [10, 100, 1000, 5000];

fn observe(c: &mut Criterion) {
    let mut group = c.benchmark_group("observe");
    let summary = Summary::new(&SummaryOptions::default());
    let mut latencies = LogNormal::new(1);
    let values: Vec<f64> = (0..1024).map(|_| latencies.next_seconds()).collect();
    let now = 1_000_000_000;
    group.bench_function("summary", |b| {
        let mut index = 0;
        b.iter(|| {
            index = (index + 1) & 1023;
            summary.observe(black_box(values[index]), now);
        });
    });

    let histogram = prometheus::Histogram::with_opts(prometheus::HistogramOpts::new(
        "plain",
        "A plain prometheus histogram.",
    ))
    .expect("valid histogram");
    group.bench_function("prometheus_histogram", |b| {
        let mut index = 0;
        b.iter(|| {
            index = (index + 1) & 1023;
            histogram.observe(black_box(values[index]));
        });
    });

    // Two threads observe into one summary at once; the time is per observation per thread.
    let shared = Arc::new(Summary::new(&SummaryOptions::default()));
    let values = Arc::new(values);
    let partner = Partner::start(Arc::clone(&shared), Arc::clone(&values));
    group.bench_function("summary_2threads", |b| {
        b.iter_custom(|iters| partner.run_together(iters, || observe_n(&shared, &values, iters)));
    });
    group.finish();
}

fn observe_n(summary: &Summary, values: &[f64], iters: u64) {
    for i in 0..iters {
        summary.observe(black_box(values[(i & 1023) as usize]), 1_000_000_000);
    }
}

/// A second thread that observes `iters` values whenever the benchmark thread does.
struct Partner {
    orders: mpsc::Sender<u64>,
    barrier: Arc<Barrier>,
    done: mpsc::Receiver<()>,
}

impl Partner {
    fn start(summary: Arc<Summary>, values: Arc<Vec<f64>>) -> Partner {
        let (orders, receive_orders) = mpsc::channel::<u64>();
        let (report_done, done) = mpsc::channel();
        let barrier = Arc::new(Barrier::new(2));
        let start = Arc::clone(&barrier);
        thread::spawn(move || {
            for iters in receive_orders {
                start.wait();
                observe_n(&summary, &values, iters);
                if report_done.send(()).is_err() {
                    return;
                }
            }
        });
        Partner {
            orders,
            barrier,
            done,
        }
    }

    /// Runs `work` here while the partner observes `iters` values; the time until both are done.
    fn run_together(&self, iters: u64, work: impl FnOnce()) -> Duration {
        self.orders.send(iters).expect("partner thread alive");
        self.barrier.wait();
        let started = Instant::now();
        work();
        self.done.recv().expect("partner thread alive");
        started.elapsed()
    }
}

type Reply = Result<Response<Full<Bytes>>, Infallible>;

/// The example's answer to `GET /accounts/{accountId}`, which every benchmarked handler sends.
const BODY: &[u8] = b"{\"id\":\"10000\",\"name\":\"Person_0\"}";

/// The answer of both handlers: a JSON body with its `Content-Type` and `Content-Length`, as the
/// example service sends it.
fn answer(body: &'static [u8]) -> Reply {
    let mut response = Response::new(Full::new(Bytes::from_static(body)));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    Ok(response)
}

async fn bare(body: &'static [u8]) -> Reply {
    answer(body)
}

#[routemeter::instrumented(name = "Instrumented", route = "GET /accounts/{accountId}")]
async fn instrumented(body: &'static [u8]) -> Reply {
    answer(body)
}

#[routemeter::instrumented(
    name = "InstrumentedNative",
    route = "GET /native/{accountId}",
    histogram = "native"
)]
async fn instrumented_native(body: &'static [u8]) -> Reply {
    answer(body)
}

/// What a service records per request without routemeter, written by hand with the `prometheus`
/// crate as its users do: cumulative histograms of latency and size (no window, no quantiles),
/// requests counted by status code, and a gauge of the requests in flight.
struct PrometheusMiddleware {
    duration: prometheus::Histogram,
    size: prometheus::Histogram,
    requests: prometheus::IntCounterVec,
    in_flight: prometheus::IntGauge,
}

impl PrometheusMiddleware {
    fn new() -> PrometheusMiddleware {
        let histogram = |name: &str| {
            prometheus::Histogram::with_opts(prometheus::HistogramOpts::new(name, name))
                .expect("valid histogram")
        };
        let requests = prometheus::IntCounterVec::new(
            prometheus::Opts::new("requests_total", "Requests by code."),
            &["code"],
        )
        .expect("valid counter");
        PrometheusMiddleware {
            duration: histogram("duration_seconds"),
            size: histogram("size_bytes"),
            requests,
            in_flight: prometheus::IntGauge::new("in_flight", "Requests in flight.")
                .expect("valid gauge"),
        }
    }

    async fn around(&self, body: &'static [u8]) -> Reply {
        self.in_flight.inc();
        let started = Instant::now();
        let reply = bare(body).await;
        self.duration.observe(started.elapsed().as_secs_f64());
        if let Ok(response) = &reply {
            if let Some(size) = http_body::Body::size_hint(response.body()).exact() {
                self.size.observe(size as f64);
            }
            self.requests
                .with_label_values(&[response.status().as_str()])
                .inc();
        }
        self.in_flight.dec();
        reply
    }
}

/// Polls a future that completes on its first poll, without any executor in the way.
fn complete<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the benchmarked handler never waits"),
    }
}

/// The attribute's cost per call, in paired rounds of the same handler bare and instrumented.
fn paired_handler() -> f64 {
    routemeter::install().expect("install");
    paired::paired(
        || drop(black_box(complete(bare(black_box(BODY))))),
        || drop(black_box(complete(instrumented(black_box(BODY))))),
    )
}

/// The figures measured in paired rounds, by their key in the report (without `_paired_ns`), and
/// as the summary prints them.
const PAIRED: [(&str, &str); 5] = [
    ("handler_overhead", "handler overhead"),
    ("metered_full_overhead", "Metered, Full body"),
    ("passthrough_full_overhead", "a do-nothing wrapper, Full"),
    ("metered_over_passthrough_full", "Metered over it, Full"),
    ("metered_10frames_overhead", "Metered, 10-frame body"),
];

/// The ratios measured in paired rounds, by their key in the report (without `_paired`), and as
/// the summary prints them.
const PAIRED_RATIOS: [(&str, &str); 2] = [
    ("overhead_over_cheapest_peer", "routemeter / cheapest peer"),
    ("render_100_over_fastest_peer", "routemeter / fastest peer"),
];

/// The attribute's cost per call over the cheapest peer's (the `prometheus` crate, in every run
/// so far), each over the same handler bare, in paired rounds of the three.
fn paired_overhead_ratio() -> f64 {
    routemeter::install().expect("install");
    paired::overhead_ratio(
        || drop(black_box(complete(bare(black_box(BODY))))),
        || drop(black_box(complete(instrumented(black_box(BODY))))),
        peers::cheapest_call(),
    )
}

/// routemeter's render of 100 handlers over the fastest peer's, each set up as in the `render`
/// and `peers_render` groups (the same history, a new request on every handler before each
/// render), in paired rounds: the verdict on the render against the peers, which a drift of the
/// machine between the two criterion benchmarks would otherwise enter.
fn paired_render_ratio() -> f64 {
    let handlers = SyntheticHandlers::new(peers::RENDER_HANDLERS);
    let mut latencies = LogNormal::new(7);
    fill_window(&handlers, &mut latencies);
    let ours = || {
        record_one(&handlers, &mut latencies);
        let started = Instant::now();
        black_box(handlers.render());
        started.elapsed()
    };
    paired::ratio(peers::fastest_render(), ours)
}

/// This process's paired figures, by their keys in [`PAIRED`] and then [`PAIRED_RATIOS`].
fn paired_figures() -> Vec<(&'static str, f64)> {
    let [full, passed, full_over_passed, frames] = body::paired_costs();
    let costs = [paired_handler(), full, passed, full_over_passed, frames];
    let ratios = [paired_overhead_ratio(), paired_render_ratio()];
    let keys = PAIRED.iter().chain(&PAIRED_RATIOS).map(|(key, _)| *key);
    keys.zip(costs.into_iter().chain(ratios)).collect()
}

/// Whether the paired figure `key` is a ratio (of [`PAIRED_RATIOS`]) rather than a cost.
fn is_ratio(key: &str) -> bool {
    PAIRED_RATIOS.iter().any(|(ratio, _)| *ratio == key)
}

/// Prints those of the paired figures that `which` names, as it labels them.
fn print_paired(paired: &[paired::Spread], which: &[(&str, &str)]) {
    for (key, label) in which {
        match paired.iter().find(|spread| spread.name == *key) {
            Some(spread) if is_ratio(key) => spread.print_ratio(label),
            Some(spread) => spread.print(label),
            None => {}
        }
    }
}

fn handler(c: &mut Criterion) {
    routemeter::install().expect("install");
    let mut group = c.benchmark_group("handler");
    group.bench_function("bare", |b| b.iter(|| complete(bare(black_box(BODY)))));
    group.bench_function("instrumented", |b| {
        b.iter(|| complete(instrumented(black_box(BODY))))
    });
    group.bench_function("instrumented_native", |b| {
        b.iter(|| complete(instrumented_native(black_box(BODY))))
    });
    let middleware = PrometheusMiddleware::new();
    group.bench_function("prometheus_middleware", |b| {
        b.iter(|| complete(middleware.around(black_box(BODY))))
    });
    group.finish();
}

fn render(c: &mut Criterion) {
    let mut group = c.benchmark_group("render");
    for count in HANDLER_COUNTS {
        let handlers = SyntheticHandlers::new(count);
        let mut latencies = LogNormal::new(7);
        fill_window(&handlers, &mut latencies);
        // Every handler gets a new request before each render, outside the timed part, so that
        // each render reads summaries that changed since the last one: the worst case.
        group.bench_with_input(BenchmarkId::new("text", count), &handlers, |b, handlers| {
            b.iter_batched(
                || record_one(handlers, &mut latencies),
                |()| black_box(handlers.render()),
                BatchSize::PerIteration,
            )
        });
        group.bench_with_input(BenchmarkId::new("gzip", count), &handlers, |b, handlers| {
            b.iter_batched(
                || record_one(handlers, &mut latencies),
                |()| black_box(handlers.render_gzip()),
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();

    // Every format, for the largest set, each handler with a native histogram.
    let mut group = c.benchmark_group("render_native");
    let handlers = SyntheticHandlers::with_histogram(FORMAT_HANDLERS, Histograms::Native);
    let mut latencies = LogNormal::new(11);
    fill_window(&handlers, &mut latencies);
    for (name, format) in FORMATS {
        group.bench_with_input(
            BenchmarkId::new(name, FORMAT_HANDLERS),
            &handlers,
            |b, handlers| {
                b.iter_batched(
                    || record_one(handlers, &mut latencies),
                    |()| black_box(handlers.encode(format)),
                    BatchSize::PerIteration,
                )
            },
        );
    }
    group.finish();
}

/// Handlers in the per-format renders.
const FORMAT_HANDLERS: usize = 1000;

/// The formats, by the names their benchmarks and report use.
const FORMATS: [(&str, Format); 3] = [
    ("text", Format::PrometheusText),
    ("openmetrics", Format::OpenMetrics),
    ("protobuf", Format::Protobuf),
];

/// Bytes of one scrape of 1000 handlers with native histograms and a window's history, per
/// format, as it is and compressed: `(format, plain, gzip, zstd)`.
fn bytes_per_scrape() -> Vec<(&'static str, usize, usize, usize)> {
    let handlers = SyntheticHandlers::with_histogram(FORMAT_HANDLERS, Histograms::Native);
    fill_window(&handlers, &mut LogNormal::new(13));
    FORMATS
        .iter()
        .map(|(name, format)| {
            (
                *name,
                handlers.encode(*format).len(),
                handlers.encode_compressed(*format, Compression::Gzip).len(),
                handlers.encode_compressed(*format, Compression::Zstd).len(),
            )
        })
        .collect()
}

/// Gives every handler the history of a service that has been up for longer than the window:
/// 25 requests in each of the last 8 minutes (the default 10-minute window in 5 age buckets
/// always holds 8 to 10), so every age bucket of both summaries holds observations, spread over
/// about 10 powers of two for the latency and 7 for the size. The requests are served by two
/// threads, as by the two worker threads of a service on this machine, so every summary has
/// two shards to read, each thread oldest first, as a thread serves them.
fn fill_window(handlers: &SyntheticHandlers, latencies: &mut LogNormal) {
    on_two_threads(&window_history(latencies), |&(seconds, ago)| {
        handlers.record_all_ago(seconds, response_size(seconds), ago);
    });
}

/// The requests of [`fill_window`], oldest first: how long each took, and how long ago it ended.
fn window_history(latencies: &mut LogNormal) -> Vec<(f64, Duration)> {
    (0..8)
        .rev()
        .flat_map(|minute| (0..25).rev().map(move |request| minute * 60 + request * 2))
        .map(|seconds_ago| (latencies.next_seconds(), Duration::from_secs(seconds_ago)))
        .collect()
}

/// Runs `record` on every item, the even ones on one thread and the odd ones on another. Both
/// threads stay alive until both are done, so that each records into a shard of its own: a
/// thread that ended first would give its shard number back, and the other could take it. Both
/// are joined before it returns, so that their numbers are back in the pool for whatever
/// records next (a scope alone ends when the closures have, before the threads' locals let go).
fn on_two_threads<T: Sync>(items: &[T], record: impl Fn(&T) + Sync) {
    two_threads(items, false, record);
}

/// As [`on_two_threads`], the second thread starting when the first is done if `in_turns`.
fn two_threads<T: Sync>(items: &[T], in_turns: bool, record: impl Fn(&T) + Sync) {
    let barrier = Barrier::new(2);
    thread::scope(|scope| {
        let threads = [0, 1].map(|first| {
            let (record, barrier) = (&record, &barrier);
            scope.spawn(move || {
                if in_turns && first == 1 {
                    barrier.wait();
                }
                items.iter().skip(first).step_by(2).for_each(record);
                if in_turns && first == 0 {
                    barrier.wait();
                }
                barrier.wait();
            })
        });
        for thread in threads {
            thread.join().expect("a recording thread panicked");
        }
    });
}

/// When set to a number, this executable renders the `render` group's 100 handlers that many
/// times, each after a new request on every handler, and exits: `bench/instructions.sh` counts
/// the instructions of the renders alone (those of [`counted_render`]).
const RENDERS_ONLY: &str = "ROUTEMETER_BENCH_RENDERS";

/// Sets up the `render` group's 100 handlers and renders them `renders` times. The two threads
/// that record the history take turns (both alive to the end, each with a shard of its own):
/// where their recording interleaves decides which ended epochs' observations each shard folds
/// where, and so how many pages a render reads, by a few percent of its instructions.
fn renders_only(renders: usize) {
    let handlers = SyntheticHandlers::new(peers::RENDER_HANDLERS);
    let mut latencies = LogNormal::new(7);
    two_threads(&window_history(&mut latencies), true, |&(seconds, ago)| {
        handlers.record_all_ago(seconds, response_size(seconds), ago);
    });
    for _ in 0..renders {
        record_one(&handlers, &mut latencies);
        black_box(counted_render(&handlers));
    }
}

/// One render, in a function of its own so that a profiler can count it apart from the setup.
#[inline(never)]
fn counted_render(handlers: &SyntheticHandlers) -> String {
    handlers.render()
}

fn record_one(handlers: &SyntheticHandlers, latencies: &mut LogNormal) {
    let seconds = latencies.next_seconds();
    handlers.record_all(seconds, response_size(seconds));
}

/// A response size that grows with the latency, from 200 bytes to 20 KiB.
fn response_size(seconds: f64) -> u64 {
    (seconds * 200_000.0).clamp(200.0, 20_000.0) as u64
}

/// Bytes per handler after 10^6 requests spread over the last 8 minutes (so every age bucket of
/// the window holds some), with log-normal latencies around 5 ms and sizes that vary from about
/// 200 bytes to 20 KiB, served by two threads (each records into a shard of its own) or by one,
/// oldest first, with the histograms of `histograms`.
fn bytes_per_handler(two_threads: bool, histograms: Histograms) -> usize {
    let handlers = SyntheticHandlers::with_histogram(1, histograms);
    let mut latencies = LogNormal::new(3);
    let requests: Vec<(f64, Duration)> = (0..1_000_000u64)
        .map(|request| {
            (
                latencies.next_seconds(),
                Duration::from_micros((999_999 - request) * 480),
            )
        })
        .collect();
    let record = |&(seconds, ago): &(f64, Duration)| {
        handlers.record_all_ago(seconds, response_size(seconds), ago);
    };
    if two_threads {
        on_two_threads(&requests, record);
    } else {
        requests.iter().for_each(record);
    }
    handlers.heap_bytes_per_handler()
}

/// Log-normal latencies, median 5 ms, from a small deterministic generator.
struct LogNormal(u64);

impl LogNormal {
    fn new(seed: u64) -> LogNormal {
        LogNormal(seed)
    }

    fn next_uniform(&mut self) -> f64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        ((z >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    fn next_seconds(&mut self) -> f64 {
        // Box-Muller
        let (u, v) = (self.next_uniform(), self.next_uniform());
        let normal = (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos();
        0.005 * (0.8 * normal).exp()
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = observe, handler, body::wrapper, render
}

criterion_group! {
    name = scale;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = peers::overhead, peers::render, many_threads::record, many_threads::render,
        peers::render_at_scale
}

fn main() {
    if let Ok(what) = std::env::var(many_threads::MEMORY_OF) {
        many_threads::print_memory_of(&what);
        return;
    }
    if let Ok(renders) = std::env::var(RENDERS_ONLY) {
        match renders.parse() {
            Ok(renders) => renders_only(renders),
            Err(_) => {
                eprintln!("{RENDERS_ONLY}={renders}: not a number of renders");
                std::process::exit(2);
            }
        }
        return;
    }
    if std::env::var_os(paired::PAIRED_CHILD).is_some() {
        paired::print_for_parent(&paired_figures());
        return;
    }
    if std::env::var_os(paired::PAIRED_ONLY).is_some() {
        match paired::in_processes() {
            Ok(paired) => {
                print_paired(&paired, &PAIRED);
                print_paired(&paired, &PAIRED_RATIOS);
            }
            Err(err) => eprintln!("could not measure the paired figures: {err}"),
        }
        return;
    }
    let memory = many_threads::memory();
    many_threads::prepare();
    benches();
    scale();
    Criterion::default().configure_from_args().final_summary();
    let reported = paired::in_processes().and_then(|paired| report(&memory, &paired));
    if let Err(err) = reported {
        eprintln!("could not write the benchmark report: {err}");
    }
}

/// Where criterion keeps its results: `$CRITERION_HOME`, else `<target dir>/criterion`.
fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    // This executable is `<target dir>/<profile>/deps/routemeter-<hash>`.
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.to_path_buf()))
        .unwrap_or_else(|| PathBuf::from("target"))
}

/// The median criterion measured for one benchmark, in nanoseconds.
fn median_ns(criterion_dir: &std::path::Path, id: &str) -> Result<f64, String> {
    let path = criterion_dir.join(id).join("new/estimates.json");
    let text =
        std::fs::read_to_string(&path).map_err(|err| format!("{}: {err}", path.display()))?;
    let estimates: serde_json::Value =
        serde_json::from_str(&text).map_err(|err| format!("{}: {err}", path.display()))?;
    estimates["median"]["point_estimate"]
        .as_f64()
        .ok_or_else(|| format!("{}: no median", path.display()))
}

fn report(memory: &[many_threads::Memory], paired: &[paired::Spread]) -> Result<(), String> {
    let target = target_dir();
    let criterion_dir = std::env::var_os("CRITERION_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| target.join("criterion"));
    let median = |id: &str| median_ns(&criterion_dir, id);

    let observe = median("observe/summary")?;
    let observe_2threads = median("observe/summary_2threads")?;
    let histogram = median("observe/prometheus_histogram")?;
    let bare = median("handler/bare")?;
    let instrumented = median("handler/instrumented")?;
    let instrumented_native = median("handler/instrumented_native")?;
    let middleware = median("handler/prometheus_middleware")?;
    let full = median("body/full")?;
    let full_metered = median("body/full_metered")?;
    let full_passed = median("body/full_passed")?;
    let frames = median("body/frames")?;
    let frames_metered = median("body/frames_metered")?;
    let bytes = bytes_per_handler(true, Histograms::None);
    let bytes_one_thread = bytes_per_handler(false, Histograms::None);
    let bytes_native = bytes_per_handler(true, Histograms::Native);

    println!("\nroutemeter medians (this run)");
    println!("  observe, 1 thread            {observe:>10.1} ns");
    println!(
        "  observe, 2 threads           {observe_2threads:>10.1} ns per thread ({:.2}x one thread)",
        observe_2threads / observe
    );
    println!(
        "  prometheus Histogram         {histogram:>10.1} ns (summary/histogram = {:.2}x)",
        observe / histogram
    );
    println!(
        "  handler bare / instrumented  {bare:>10.1} / {instrumented:.1} ns (overhead {:.1} ns)",
        instrumented - bare
    );
    print_paired(paired, &PAIRED[..1]);
    println!(
        "  handler, prometheus middleware {middleware:>8.1} ns (overhead {:.1} ns; routemeter's is {:.2}x)",
        middleware - bare,
        (instrumented - bare) / (middleware - bare)
    );
    println!(
        "  Metered, Full body           {full_metered:>10.1} ns (the service alone {full:.1}; wrapper {:.1} ns)",
        full_metered - full
    );
    println!(
        "  a do-nothing wrapper, Full    {full_passed:>10.1} ns (the floor of any wrapper: {:.1} ns)",
        full_passed - full
    );
    println!(
        "  Metered, 10-frame body       {frames_metered:>10.1} ns (the service alone {frames:.1}; wrapper {:.1} ns)",
        frames_metered - frames
    );
    print_paired(paired, &PAIRED[1..]);
    println!(
        "  handler with native histogram {instrumented_native:>9.1} ns (overhead {:.1} ns; {:.2}x the summaries-only overhead)",
        instrumented_native - bare,
        (instrumented_native - bare) / (instrumented - bare)
    );
    let mut renders = serde_json::Map::new();
    for count in HANDLER_COUNTS {
        for format in ["text", "gzip"] {
            let ms = median(&format!("render/{format}/{count}"))? / 1e6;
            println!("  render {count:>4} handlers, {format}   {ms:>10.3} ms");
            renders.insert(format!("render_{count}_{format}_ms"), ms.into());
        }
    }
    for (format, _) in FORMATS {
        let ms = median(&format!("render_native/{format}/{FORMAT_HANDLERS}"))? / 1e6;
        println!("  render {FORMAT_HANDLERS} native handlers, {format:<11} {ms:>8.3} ms");
        renders.insert(
            format!("render_native_{FORMAT_HANDLERS}_{format}_ms"),
            ms.into(),
        );
    }
    for (format, plain, gzip, zstd) in bytes_per_scrape() {
        println!(
            "  bytes per scrape, {format:<11} {plain:>9} plain, {gzip:>8} gzip, {zstd:>8} zstd"
        );
        renders.insert(format!("scrape_bytes_{format}"), plain.into());
        renders.insert(format!("scrape_bytes_{format}_gzip"), gzip.into());
        renders.insert(format!("scrape_bytes_{format}_zstd"), zstd.into());
    }
    println!(
        "  memory per handler           {bytes:>10} bytes after 10^6 observations from 2 threads \
         ({bytes_one_thread} from 1 thread)"
    );
    println!(
        "  memory per handler, native   {bytes_native:>10} bytes, the same with a native histogram (+{})",
        bytes_native.saturating_sub(bytes)
    );

    let scale = report_scale(&median, instrumented - bare, memory, paired)?;

    let mut json = serde_json::json!({
        "observe_ns": observe,
        "observe_2threads_ns": observe_2threads,
        "histogram_observe_ns": histogram,
        "handler_bare_ns": bare,
        "handler_instrumented_ns": instrumented,
        "handler_overhead_ns": instrumented - bare,
        "handler_prometheus_middleware_ns": middleware,
        "metered_full_overhead_ns": full_metered - full,
        "passthrough_full_overhead_ns": full_passed - full,
        "metered_10frames_overhead_ns": frames_metered - frames,
        "paired_processes": paired::PROCESSES,
        "handler_instrumented_native_ns": instrumented_native,
        "handler_native_overhead_ns": instrumented_native - bare,
        "bytes_per_handler": bytes,
        "bytes_per_handler_1thread": bytes_one_thread,
        "bytes_per_handler_native": bytes_native,
    });
    if let Some(object) = json.as_object_mut() {
        for spread in paired {
            let unit = if is_ratio(&spread.name) { "" } else { "_ns" };
            object.insert(
                format!("{}_paired{unit}", spread.name),
                spread.median.into(),
            );
        }
        object.extend(renders);
        object.extend(scale);
    }
    let path = target.join("routemeter-bench.json");
    let text = serde_json::to_string_pretty(&json).map_err(|err| err.to_string())?;
    std::fs::write(&path, text + "\n").map_err(|err| format!("{}: {err}", path.display()))?;
    println!("  written to {}", path.display());
    Ok(())
}

/// Prints the peers' and the many threads' figures, and returns them for the JSON report.
fn report_scale(
    median: &dyn Fn(&str) -> Result<f64, String>,
    overhead: f64,
    memory: &[many_threads::Memory],
    paired: &[paired::Spread],
) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    let mut json = serde_json::Map::new();
    let bare = median("handler/bare")?;
    let mut peer_overheads = serde_json::Map::new();
    let mut cheapest = f64::INFINITY;
    for peer in peers::PEERS {
        let peer_overhead = median(&format!("peers/{peer}"))? - bare;
        cheapest = cheapest.min(peer_overhead);
        println!(
            "  peer {peer:<18} overhead {peer_overhead:>8.1} ns (routemeter's {overhead:.1} ns is {:.2}x)",
            overhead / peer_overhead
        );
        peer_overheads.insert(peer.to_owned(), peer_overhead.into());
    }
    println!(
        "  routemeter / cheapest peer   {:>10.2}x the overhead",
        overhead / cheapest
    );
    print_paired(paired, &PAIRED_RATIOS[..1]);
    json.insert("peer_overhead_ns".to_owned(), peer_overheads.into());

    let count = peers::RENDER_HANDLERS;
    let ours = median(&format!("render/text/{count}"))? / 1e6;
    let mut peer_renders = serde_json::Map::new();
    let mut fastest = f64::INFINITY;
    for peer in peers::RENDERING_PEERS {
        let ms = median(&format!("peers_render/{peer}/{count}"))? / 1e6;
        fastest = fastest.min(ms);
        println!(
            "  peer {peer:<18} render {count} handlers {ms:>8.3} ms (routemeter's {ours:.3} ms is {:.2}x)",
            ours / ms
        );
        peer_renders.insert(peer.to_owned(), ms.into());
    }
    println!(
        "  routemeter / fastest peer    {:>10.2}x the render of {count} handlers",
        ours / fastest
    );
    print_paired(paired, &PAIRED_RATIOS[1..]);
    json.insert(format!("peer_render_{count}_ms"), peer_renders.into());

    let one = median("many_threads/record/1")?;
    let mut records = serde_json::Map::new();
    for threads in many_threads::RECORD_THREADS {
        let ns = median(&format!("many_threads/record/{threads}"))?;
        println!(
            "  {threads:>2} threads, 100 handlers   {ns:>10.1} ns CPU per request ({:.2}x one thread; {} simulated CPUs)",
            ns / one,
            many_threads::simulated_cpus(threads)
        );
        records.insert(threads.to_string(), ns.into());
    }
    json.insert("many_threads_record_ns".to_owned(), records.into());

    let two = median("many_threads/render_text/2")?;
    let mut renders = serde_json::Map::new();
    for threads in many_threads::THREADS {
        let ms = median(&format!("many_threads/render_text/{threads}"))? / 1e6;
        println!(
            "  render 100 handlers, {threads:>2} threads {ms:>8.3} ms ({:.2}x from 2 threads)",
            ms * 1e6 / two
        );
        renders.insert(threads.to_string(), ms.into());
    }
    json.insert("many_threads_render_100_text_ms".to_owned(), renders.into());
    let mut ours = f64::NAN;
    for format in ["text", "gzip"] {
        let ms = median(&format!("many_threads/render_1000_16threads/{format}"))? / 1e6;
        println!("  render 1000 handlers, 16 threads, {format}  {ms:>6.3} ms");
        json.insert(format!("render_1000_16threads_{format}_ms"), ms.into());
        if format == "text" {
            ours = ms;
        }
    }
    let peer = median("peers_render/prometheus_client_16threads/1000")? / 1e6;
    println!(
        "  peer prometheus_client  render 1000 handlers, 16 threads  {peer:.3} ms (routemeter's is {:.2}x)",
        ours / peer
    );
    json.insert(
        "peer_render_1000_16threads_ms".to_owned(),
        serde_json::json!({ "prometheus_client": peer }),
    );

    for figures in memory {
        let threads = figures.threads;
        let (history, suffix) = match figures.history {
            many_threads::History::Instant => ("at one instant", ""),
            many_threads::History::Window => ("over the window", "_window"),
        };
        println!(
            "  memory per handler, {threads:>2} threads {:>10} bytes counted, {:>8} resident ({history}; {} simulated CPUs)",
            figures.counted, figures.resident, figures.simulated_cpus
        );
        json.insert(
            format!("bytes_per_handler_{threads}threads{suffix}"),
            figures.counted.into(),
        );
        json.insert(
            format!("rss_bytes_per_handler_{threads}threads{suffix}"),
            figures.resident.into(),
        );
    }
    let simulated = memory
        .iter()
        .map(|figures| figures.simulated_cpus)
        .max()
        .unwrap_or(0);
    json.insert("simulated_cpus".to_owned(), simulated.into());
    Ok(json)
}
