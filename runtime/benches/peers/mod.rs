//! The same handler recorded by each of routemeter's peers, as their users write it, and the same
//! set of 100 handlers rendered by each:
//! - the `prometheus` crate: `HistogramVec`s of duration and size and an `IntCounterVec` of
//!   requests, labelled by handler (and code), found with `with_label_values` on every request,
//!   and an `IntGaugeVec` of requests in flight;
//! - `prometheus-client`: `Family`s of histograms and counters, found with `get_or_create`;
//! - `metrics` with `metrics-exporter-prometheus` (its default: histograms exposed as summaries,
//!   the closest to routemeter's), through the `histogram!`, `counter!` and `gauge!` macros,
//!   with the code as an owned label value (what a middleware that reads it from the response
//!   has);
//! - autometrics (`#[autometrics]` on the handler, the `prometheus` crate underneath): calls by
//!   result, a duration histogram and the calls in flight. Its scrape is the `prometheus` crate's,
//!   so it has no render of its own here.
//!
//! At production scale, `prometheus-client`, the fastest peer to render, also renders the 1000
//! handlers that 16 threads recorded into, beside routemeter's `many_threads/render_1000_16threads`.
//!
//! Every peer records what routemeter records per request (duration, size, a count by code, the
//! requests in flight), except autometrics, which keeps no size. None of them keeps a window.

use std::hint::black_box;
use std::time::{Duration, Instant};

use autometrics::autometrics;
use criterion::{BenchmarkId, Criterion};
use prometheus::Encoder as _;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};

use crate::many_threads::{LARGE_HANDLERS, LARGE_THREADS};
use crate::{answer, bare, complete, on_two_threads, response_size, LogNormal, Reply, BODY};

/// The peers, by the names their benchmarks and report use.
pub const PEERS: [&str; 4] = ["prometheus", "prometheus_client", "metrics", "autometrics"];
/// The peers that render a scrape of their own.
pub const RENDERING_PEERS: [&str; 3] = ["prometheus", "prometheus_client", "metrics"];
/// Handlers in the render comparison.
pub const RENDER_HANDLERS: usize = 100;

/// The handler's name in every peer's labels.
const HANDLER: &str = "GetAccount";

/// The size of a response, as a middleware that sees only its headers and body reads it.
fn size_of(reply: &Reply) -> Option<f64> {
    let response = reply.as_ref().ok()?;
    let size = http_body::Body::size_hint(response.body()).exact()?;
    Some(size as f64)
}

/// The status code, if the handler answered.
fn status_of(reply: &Reply) -> Option<hyper::StatusCode> {
    reply.as_ref().ok().map(|response| response.status())
}

/// A status code as a label value.
fn code_label(status: Option<&hyper::StatusCode>) -> &str {
    status.map_or("error", hyper::StatusCode::as_str)
}

/// The `prometheus` crate, labelled by handler.
struct PrometheusPeer {
    registry: prometheus::Registry,
    duration: prometheus::HistogramVec,
    size: prometheus::HistogramVec,
    requests: prometheus::IntCounterVec,
    in_flight: prometheus::IntGaugeVec,
}

impl PrometheusPeer {
    fn new() -> PrometheusPeer {
        let registry = prometheus::Registry::new();
        let histogram = |name: &str, buckets: Vec<f64>| {
            let opts = prometheus::HistogramOpts::new(name, name).buckets(buckets);
            let histogram =
                prometheus::HistogramVec::new(opts, &["handler"]).expect("valid histogram");
            registry
                .register(Box::new(histogram.clone()))
                .expect("registered once");
            histogram
        };
        let duration = histogram("duration_seconds", prometheus::DEFAULT_BUCKETS.to_vec());
        let size = histogram(
            "size_bytes",
            prometheus::exponential_buckets(100.0, 4.0, 10).expect("valid buckets"),
        );
        let requests = prometheus::IntCounterVec::new(
            prometheus::Opts::new("requests_total", "Requests by code."),
            &["handler", "code"],
        )
        .expect("valid counter");
        let in_flight = prometheus::IntGaugeVec::new(
            prometheus::Opts::new("in_flight", "Requests in flight."),
            &["handler"],
        )
        .expect("valid gauge");
        registry
            .register(Box::new(requests.clone()))
            .expect("registered once");
        registry
            .register(Box::new(in_flight.clone()))
            .expect("registered once");
        PrometheusPeer {
            registry,
            duration,
            size,
            requests,
            in_flight,
        }
    }

    fn record(&self, handler: &str, seconds: f64, size: Option<f64>, code: &str) {
        self.duration.with_label_values(&[handler]).observe(seconds);
        if let Some(size) = size {
            self.size.with_label_values(&[handler]).observe(size);
        }
        self.requests.with_label_values(&[handler, code]).inc();
    }

    async fn around(&self, body: &'static [u8]) -> Reply {
        let in_flight = self.in_flight.with_label_values(&[HANDLER]);
        in_flight.inc();
        let started = Instant::now();
        let reply = bare(body).await;
        let seconds = started.elapsed().as_secs_f64();
        let status = status_of(&reply);
        self.record(
            HANDLER,
            seconds,
            size_of(&reply),
            code_label(status.as_ref()),
        );
        in_flight.dec();
        reply
    }

    fn render(&self) -> Vec<u8> {
        let mut out = Vec::new();
        prometheus::TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("text encoding");
        out
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HandlerLabels {
    handler: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabels {
    handler: &'static str,
    code: u16,
}

type Histograms = Family<HandlerLabels, Histogram, fn() -> Histogram>;

/// `prometheus-client`, labelled by handler.
struct PrometheusClientPeer {
    registry: prometheus_client::registry::Registry,
    duration: Histograms,
    size: Histograms,
    requests: Family<CodeLabels, Counter>,
    in_flight: Family<HandlerLabels, Gauge>,
}

impl PrometheusClientPeer {
    fn new() -> PrometheusClientPeer {
        let mut registry = prometheus_client::registry::Registry::default();
        let duration: Histograms = Family::new_with_constructor(|| {
            Histogram::new(prometheus::DEFAULT_BUCKETS.iter().copied())
        });
        let size: Histograms =
            Family::new_with_constructor(|| Histogram::new(exponential_buckets(100.0, 4.0, 10)));
        let requests = Family::<CodeLabels, Counter>::default();
        let in_flight = Family::<HandlerLabels, Gauge>::default();
        registry.register("duration_seconds", "Duration", duration.clone());
        registry.register("size_bytes", "Size", size.clone());
        registry.register("requests", "Requests by code", requests.clone());
        registry.register("in_flight", "Requests in flight", in_flight.clone());
        PrometheusClientPeer {
            registry,
            duration,
            size,
            requests,
            in_flight,
        }
    }

    fn record(&self, handler: &'static str, seconds: f64, size: Option<f64>, code: u16) {
        let labels = HandlerLabels { handler };
        self.duration.get_or_create(&labels).observe(seconds);
        if let Some(size) = size {
            self.size.get_or_create(&labels).observe(size);
        }
        self.requests
            .get_or_create(&CodeLabels { handler, code })
            .inc();
    }

    async fn around(&self, body: &'static [u8]) -> Reply {
        let labels = HandlerLabels { handler: HANDLER };
        self.in_flight.get_or_create(&labels).inc();
        let started = Instant::now();
        let reply = bare(body).await;
        let seconds = started.elapsed().as_secs_f64();
        let code = reply
            .as_ref()
            .map_or(0, |response| response.status().as_u16());
        self.record(HANDLER, seconds, size_of(&reply), code);
        self.in_flight.get_or_create(&labels).dec();
        reply
    }

    fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).expect("text encoding");
        out
    }
}

/// `metrics` through whichever recorder is installed, labelled by handler.
fn record_metrics(handler: &'static str, seconds: f64, size: Option<f64>, code: &str) {
    metrics::histogram!("duration_seconds", "handler" => handler).record(seconds);
    if let Some(size) = size {
        metrics::histogram!("size_bytes", "handler" => handler).record(size);
    }
    metrics::counter!("requests_total", "handler" => handler, "code" => code.to_owned())
        .increment(1);
}

async fn metrics_around(body: &'static [u8]) -> Reply {
    let in_flight = metrics::gauge!("in_flight", "handler" => HANDLER);
    in_flight.increment(1.0);
    let started = Instant::now();
    let reply = bare(body).await;
    let seconds = started.elapsed().as_secs_f64();
    let status = status_of(&reply);
    record_metrics(
        HANDLER,
        seconds,
        size_of(&reply),
        code_label(status.as_ref()),
    );
    in_flight.decrement(1.0);
    reply
}

#[autometrics(track_concurrency)]
async fn autometrics_handler(body: &'static [u8]) -> Reply {
    answer(body)
}

/// The per-request overhead of each peer: the same handler as `handler/bare`, recorded.
pub fn overhead(c: &mut Criterion) {
    let mut group = c.benchmark_group("peers");
    let prometheus = PrometheusPeer::new();
    group.bench_function("prometheus", |b| {
        b.iter(|| complete(prometheus.around(black_box(BODY))))
    });
    let client = PrometheusClientPeer::new();
    group.bench_function("prometheus_client", |b| {
        b.iter(|| complete(client.around(black_box(BODY))))
    });
    // The exporter keeps the samples of a histogram until a scrape (or its upkeep) folds them
    // into the summary: done after each timed batch, so that memory stays bounded.
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).expect("the only global recorder");
    group.bench_function("metrics", |b| {
        b.iter_custom(|iters| {
            let started = Instant::now();
            for _ in 0..iters {
                let _ = black_box(complete(metrics_around(black_box(BODY))));
            }
            let elapsed = started.elapsed();
            handle.run_upkeep();
            elapsed
        })
    });
    group.bench_function("autometrics", |b| {
        b.iter(|| complete(autometrics_handler(black_box(BODY))))
    });
    group.finish();
}

/// One call of the handler recorded by the cheapest peer (the `prometheus` crate), as in
/// [`overhead`]: for the paired rounds against routemeter's.
pub fn cheapest_call() -> impl Fn() {
    let prometheus = PrometheusPeer::new();
    move || drop(black_box(complete(prometheus.around(black_box(BODY)))))
}

/// `count` leaked handler names, `Handler0`, `Handler1`, ...
fn handler_names(count: usize) -> Vec<&'static str> {
    (0..count)
        .map(|index| &*Box::leak(format!("Handler{index}").into_boxed_str()))
        .collect()
}

/// The history `fill_window` gives routemeter's handlers: 200 requests per handler, from two
/// threads, recorded by `record(handler, seconds, size)`.
fn fill(names: &[&'static str], record: impl Fn(&'static str, f64, f64) + Sync) {
    let mut latencies = LogNormal::new(7);
    let requests: Vec<f64> = (0..200).map(|_| latencies.next_seconds()).collect();
    on_two_threads(&requests, |&seconds| {
        for name in names {
            record(name, seconds, response_size(seconds) as f64);
        }
    });
}

/// Renders 100 handlers with each peer, each handler with the history routemeter's get in the
/// `render` group and a new request before every render, as there.
pub fn render(c: &mut Criterion) {
    let mut group = c.benchmark_group("peers_render");
    let names = handler_names(RENDER_HANDLERS);
    let mut latencies = LogNormal::new(17);
    let mut next = move || {
        let seconds = latencies.next_seconds();
        (seconds, response_size(seconds) as f64)
    };

    let prometheus = PrometheusPeer::new();
    fill(&names, |name, seconds, size| {
        prometheus.record(name, seconds, Some(size), "200");
    });
    group.bench_function(BenchmarkId::new("prometheus", RENDER_HANDLERS), |b| {
        b.iter_batched(
            || {
                let (seconds, size) = next();
                for name in &names {
                    prometheus.record(name, seconds, Some(size), "200");
                }
            },
            |()| black_box(prometheus.render()),
            criterion::BatchSize::PerIteration,
        )
    });

    let client = PrometheusClientPeer::new();
    fill(&names, |name, seconds, size| {
        client.record(name, seconds, Some(size), 200);
    });
    group.bench_function(
        BenchmarkId::new("prometheus_client", RENDER_HANDLERS),
        |b| {
            b.iter_batched(
                || {
                    let (seconds, size) = next();
                    for name in &names {
                        client.record(name, seconds, Some(size), 200);
                    }
                },
                |()| black_box(client.render()),
                criterion::BatchSize::PerIteration,
            )
        },
    );

    // A recorder of its own, apart from the global one of the overhead benchmark.
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    fill(&names, |name, seconds, size| {
        metrics::with_local_recorder(&recorder, || {
            record_metrics(name, seconds, Some(size), "200")
        });
    });
    handle.run_upkeep();
    group.bench_function(BenchmarkId::new("metrics", RENDER_HANDLERS), |b| {
        b.iter_batched(
            || {
                let (seconds, size) = next();
                metrics::with_local_recorder(&recorder, || {
                    for name in &names {
                        record_metrics(name, seconds, Some(size), "200");
                    }
                });
            },
            |()| black_box(handle.render()),
            criterion::BatchSize::PerIteration,
        )
    });
    group.finish();
}

/// The fastest peer (`prometheus-client`) set up as in [`render`]: each call records a new
/// request on every handler, then renders, and returns the time of the render alone. For the
/// paired rounds against routemeter's render.
pub fn fastest_render() -> impl FnMut() -> Duration {
    let names = handler_names(RENDER_HANDLERS);
    let client = PrometheusClientPeer::new();
    fill(&names, |name, seconds, size| {
        client.record(name, seconds, Some(size), 200);
    });
    let mut latencies = LogNormal::new(17);
    move || {
        let seconds = latencies.next_seconds();
        for name in &names {
            client.record(name, seconds, Some(response_size(seconds) as f64), 200);
        }
        let started = Instant::now();
        black_box(client.render());
        started.elapsed()
    }
}

/// Requests each thread records into each handler of the production-scale render: a histogram of
/// fixed buckets renders the same whatever its history, so a few are enough.
const SCALE_REQUESTS: usize = 20;

/// `prometheus-client` rendering the 1000 handlers that 16 threads recorded into, each thread
/// [`SCALE_REQUESTS`] requests into every handler, and a new request on every handler before each
/// render, as routemeter's `many_threads/render_1000_16threads`.
pub fn render_at_scale(c: &mut Criterion) {
    let names = handler_names(LARGE_HANDLERS);
    let client = PrometheusClientPeer::new();
    std::thread::scope(|scope| {
        for thread in 0..LARGE_THREADS {
            let (client, names) = (&client, &names);
            scope.spawn(move || {
                let mut latencies = LogNormal::new(100 + thread as u64);
                for _ in 0..SCALE_REQUESTS {
                    for name in names {
                        let seconds = latencies.next_seconds();
                        client.record(name, seconds, Some(response_size(seconds) as f64), 200);
                    }
                }
            });
        }
    });
    let mut latencies = LogNormal::new(99);
    let mut group = c.benchmark_group("peers_render");
    group.bench_function(
        BenchmarkId::new("prometheus_client_16threads", LARGE_HANDLERS),
        |b| {
            b.iter_batched(
                || {
                    let seconds = latencies.next_seconds();
                    for name in &names {
                        client.record(name, seconds, Some(response_size(seconds) as f64), 200);
                    }
                },
                |()| black_box(client.render()),
                criterion::BatchSize::PerIteration,
            )
        },
    );
    group.finish();
}
