//! Prometheus monitoring for [hyper] services, one attribute per handler.
//!
//! ```
//! use std::convert::Infallible;
//!
//! use bytes::Bytes;
//! use http_body_util::Full;
//! use hyper::{Request, Response};
//! use routemeter::instrumented;
//!
//! #[instrumented(name = "GetAccount", route = "GET /accounts/{accountId}")]
//! async fn get_account(_req: Request<()>) -> Result<Response<Full<Bytes>>, Infallible> {
//!     Ok(Response::new(Full::new(Bytes::from_static(b"{}"))))
//! }
//! # let _ = get_account;
//! ```
//!
//! Every annotated handler is known when the program starts. [`install`] returns the
//! [`Exporter`] that answers `/metrics`; from the first scrape it shows, for the handler above
//! (in a crate called `accountservice`):
//!
//! ```text
//! # HELP accountservice_GetAccount GET /accounts/{accountId}
//! # TYPE accountservice_GetAccount summary
//! accountservice_GetAccount{service="duration",quantile="0.5"} NaN
//! accountservice_GetAccount{service="duration",quantile="0.9"} NaN
//! accountservice_GetAccount{service="duration",quantile="0.99"} NaN
//! accountservice_GetAccount_sum{service="duration"} 0
//! accountservice_GetAccount_count{service="duration"} 0
//! accountservice_GetAccount{service="size",quantile="0.5"} NaN
//! ...
//! ```
//!
//! # The metrics
//!
//! Per handler, a **summary** `<namespace>_<name>` whose HELP is the route (`GET /accounts/{accountId}`),
//! with `service="duration"` (seconds the handler took) and `service="size"` (response bytes):
//! - quantiles 0.5, 0.9 and 0.99 over a sliding window of 10 minutes in 5 age buckets (see
//!   [`Config::window`] and [`Config::quantiles`]); each is within 1% relative error of the exact
//!   quantile of the observations in the window (see [`Summary`]) and never outside their
//!   smallest and largest, so a window of one value reports it; `NaN` while the window is empty;
//! - `_sum` and `_count` since start; they never decay.
//!
//! The namespace is the name of the crate that defines the handler, unless the handler says
//! `namespace = "..."` or [`Config::namespace`] sets one for the whole process.
//!
//! # To the end of the body
//!
//! Serve through [`Metered`] (a wrapper around your hyper service) and each response is measured
//! to the end of its body, as the Go tutorial's middleware measured it:
//!
//! | series | with [`Metered`] | without |
//! |---|---|---|
//! | `service="duration"` | until the body's last frame went out, or the body was dropped | until the handler returned its response (the headers) |
//! | `service="size"` | the bytes of data actually sent | the body's exact size hint (`Full`, ...), else `Content-Length` (an empty body to `HEAD` declares one); a body of unknown length without it records none |
//! | `requests_total{code}` | counted when the body ends: the status, `aborted` when the body was dropped before its end (the client went away), `body_error` when it failed | counted at the headers |
//! | `requests_in_flight` | includes responses still sending their body | until the headers |
//!
//! A body that has sent its known length (an exact size hint, or `Content-Length`) has ended,
//! even if the server never polls it again. A body held whole in memory (`Full<Bytes>`,
//! `String`) goes to the connection in one frame, with the headers: its request ends when the
//! response is returned, and is recorded then, by the handler itself unless it asks for what
//! only [`Metered`] records (the opt-ins below, or a stream), so that [`Metered`] costs such
//! responses next to nothing. Responses without a body (to `HEAD`, `1xx`, `204`,
//! `304`) are counted at the headers either way. A handler that runs on a task other than the
//! one polling [`Metered`] (spawned and awaited) is recorded as without it.
//!
//! Opt-ins, per handler on the attribute or for all in [`Config`], recorded with [`Metered`]:
//! `time_to_headers` (`<namespace>_time_to_headers_seconds`, a histogram on the latency buckets)
//! and `request_size` (`<namespace>_request_size_bytes`, a histogram of the request's
//! `Content-Length`).
//!
//! **Long-lived routes** (server-sent events, long polling, upgrades) are marked `stream = true`
//! on the attribute. Their request is counted, and their `service="duration"` ends, at the
//! headers: the time to open the stream, comparable with other routes. With [`Metered`], the
//! stream itself is counted apart: `<namespace>_streams_open{handler}` (a gauge),
//! `<namespace>_stream_duration_seconds` (`_sum` and `_count` of the closed streams' lifetimes)
//! and `<namespace>_stream_sent_bytes_total`. A client leaving is how a stream ends, so it is not
//! counted `aborted`.
//!
//! ```text
//! # responses abandoned by their client, per second and route
//! sum by (handler) (rate(accountservice_requests_total{code="aborted"}[5m]))
//! # share of responses that did not reach their end
//! sum by (handler) (rate(accountservice_requests_total{code=~"aborted|body_error"}[5m]))
//!   / sum by (handler) (rate(accountservice_requests_total[5m]))
//! # streams open now, and their mean lifetime
//! sum by (handler) (accountservice_streams_open)
//! rate(accountservice_stream_duration_seconds_sum[5m]) / rate(accountservice_stream_duration_seconds_count[5m])
//! ```
//!
//! # axum and tower
//!
//! With the feature `axum` (off by default; it implies `tower`), the attribute works on axum
//! handlers with any extractors and any `IntoResponse` output, and the handler still plugs into
//! `Router::route(path, get(handler))`. Put `MeteredLayer::new` on the router and each request
//! counts by the status of the response axum converted the output into (an `Err(AppError)`
//! counts as whatever `AppError` answers), measured to the last byte as with [`Metered`]:
//!
//! ```
//! # #[cfg(feature = "axum")] {
//! use axum::{extract::Path, http::StatusCode, routing::get, Router};
//!
//! #[routemeter::instrumented(name = "GetAccount", route = "GET /accounts/{accountId}")]
//! async fn get_account(Path(id): Path<u32>) -> Result<String, StatusCode> {
//!     if id == 0 { Err(StatusCode::NOT_FOUND) } else { Ok(format!("account {id}")) }
//! }
//!
//! let exporter = routemeter::install()?;
//! let app: Router = Router::new()
//!     .route("/accounts/{accountId}", get(get_account))
//!     // The exporter is a tower `Service`, so it is a route as it is.
//!     .route_service("/metrics", exporter.clone())
//!     .layer(routemeter::MeteredLayer::new());
//! // Or `/metrics` as a handler of your own, beside others of the same router:
//! let scrape = move |request: axum::extract::Request| async move { exporter.respond(&request) };
//! let metrics_only: Router = Router::new().route("/metrics", get(scrape));
//! # }
//! # Ok::<(), routemeter::Error>(())
//! ```
//!
//! Without the layer, an axum handler is recorded when it returns: outputs that are an
//! `http::Response` (axum's `Response` among them) count by their status, and any other output,
//! which only becomes a response after the handler returns, counts as `code="unclassified"`.
//!
//! For code without the attribute, `MeteredLayer::by_route` measures every request under its
//! route (axum's `MatchedPath`, or a function of yours), as a handler of its own with the same
//! families, labels and summaries; requests that match no route, or use a method outside the
//! standard ones, all count under one `<namespace>_unmatched` handler, and paths you exclude
//! (`/metrics`, `/health`) are not counted. Routes you name exist at zero from the first scrape;
//! the others appear with their first request (see `RouteLayer`). With the feature `tower`
//! alone, [`Metered`] is a tower `Service`, `MeteredLayer` a tower `Layer`, and the [`Exporter`]
//! a tower `Service` that answers `/metrics`.
//!
//! Per namespace, beside the summaries:
//!
//! | family | type | labels |
//! |---|---|---|
//! | `<namespace>_requests_total` | counter | `handler`, `method`, `route`, `code` |
//! | `<namespace>_requests_in_flight` | gauge | `handler` |
//! | `<namespace>_request_duration_seconds` | histogram (opt-in; native too, see below) | `handler`, `method`, `route`, `le` |
//! | `<namespace>_time_to_headers_seconds`, `<namespace>_request_size_bytes` | histograms (opt-in, with [`Metered`]) | `handler`, `method`, `route`, `le` |
//! | `<namespace>_streams_open` | gauge (`stream = true`, with [`Metered`]) | `handler` |
//! | `<namespace>_stream_duration_seconds`, `<namespace>_stream_sent_bytes_total` | summary without quantiles, counter (`stream = true`, with [`Metered`]) | `handler`, `method`, `route` |
//! | `<namespace>_build_info` | gauge, always 1 | `version`, `routemeter_version` |
//!
//! `code` is the three-digit HTTP status, `error` when the handler returned `Err`, `cancelled`
//! when its future was dropped before it finished (the client went away, a timeout fired),
//! `panic` when it panicked, with [`Metered`] `aborted` or `body_error` for a body that did
//! not reach its end (see above), and `unclassified` for an axum output no layer saw converted; [`FAILED_CODES`] are the failures among them. Cancelled and panicked requests are timed too, and leave the in-flight
//! gauge as they found it. Then there are the process metrics of `prometheus::default_registry()`
//! (`process_resident_memory_bytes`, `process_cpu_seconds_total`, ...) and the scrape handler's own
//! `routemeter_metrics_handler_requests_total{code}` and `routemeter_metrics_handler_requests_in_flight`.
//!
//! # What it costs
//!
//! An instrumented request reads the clock twice (the processor's time-stamp counter where the
//! kernel keeps its own time with it, `Instant` elsewhere), records its duration and size in the
//! handler's two summaries and counts its start and its outcome. Nothing is looked up by name.
//! Every thread records into a part of each handler's metrics of its own, a *shard*, so recording
//! takes no lock and no locked instruction, and two threads never write to the same cache line; a
//! scrape adds the shards up. A shard keeps both summaries' totals and the request counts on two
//! cache lines, found with one lookup per request. Shards are handed out to threads as they first
//! record, two per CPU (at least 4, at most 32); threads beyond those share one more shard,
//! updated with atomic additions. A shard keeps the epoch of the window its thread records in;
//! when the thread moves on to the next, it folds the ended one into slots that every shard
//! shares, so a handler's metrics take about 4 KiB for each thread that records into them and
//! about 8 KiB per summary for the window's ended epochs, for a typical latency distribution
//! (see [`Summary::heap_bytes`]), carved side by side from blocks of the recording thread. The
//! README's Performance section has measured figures and the commands that produced them.
//!
//! # Queries
//!
//! ```text
//! # requests served (the tutorial's query 1)
//! accountservice_GetAccount_count{service="duration"}
//! # latency quantiles in milliseconds (query 2)
//! accountservice_GetAccount{service="duration"} * 1000
//! # average latency over one minute in milliseconds (query 3)
//! avg_over_time(accountservice_GetAccount_sum{service="duration"}[1m])
//!   / avg_over_time(accountservice_GetAccount_count{service="duration"}[1m]) * 1000
//! # resident memory in MB per instance (query 4, for a Rust service)
//! process_resident_memory_bytes{task="accountservice"} / 1000000
//! # request rate and error ratio per route (a failed request: FAILED_CODES)
//! sum by (handler) (rate(accountservice_requests_total[1m]))
//! sum by (handler) (rate(accountservice_requests_total{code=~"5..|error|panic|body_error"}[5m]))
//!   / sum by (handler) (rate(accountservice_requests_total[5m]))
//! # requests being served now
//! accountservice_requests_in_flight
//! # p99 across all replicas (needs `histogram = true`; summaries cannot be aggregated)
//! histogram_quantile(0.99, sum by (le, handler) (rate(accountservice_request_duration_seconds_bucket[5m])))
//! # the same from native histograms (needs `histogram = "native"`, and Prometheus scraping protobuf)
//! histogram_quantile(0.99, sum by (handler) (rate(accountservice_request_duration_seconds[5m])))
//! ```
//!
//! # Formats, native histograms and exemplars
//!
//! [`Exporter::respond`] answers in the [`Format`] the scraper's `Accept` header prefers, by the
//! rules of Prometheus' Go client (the highest quality first, the first format served wins, the
//! text format 0.0.4 when none is named, whatever else the header says): the text format
//! ([`TEXT_CONTENT_TYPE`]), OpenMetrics 1.0.0 ([`OPENMETRICS_CONTENT_TYPE`]: `_created` samples,
//! `# UNIT`, exemplars, `# EOF`; a counter's family is named without `_total`) or delimited
//! protobuf ([`PROTOBUF_CONTENT_TYPE`]: native histograms, created timestamps, exemplars). Every
//! format can be compressed with zstd or gzip, as `Accept-Encoding` allows; an `Accept-Encoding`
//! that refuses identity and accepts neither gets `406`.
//!
//! **Native histograms.** With `histogram = "native"` on a handler, or
//! [`Config::native_histogram`] for every handler that does not say, the handler's
//! `<namespace>_request_duration_seconds` also carries a native histogram in the protobuf
//! format, which a Prometheus with native histograms on stores instead of the classic buckets
//! (text scrapers still get those). Durations are counted in exponential buckets, 128 per power
//! of two (schema 7), in pages of 1 KiB allocated per power of two the latencies reach (65 KiB at
//! the very most); a scrape halves the resolution while more buckets than
//! [`Config::native_histogram_max_buckets`] (160) hold observations, as client_golang does, and
//! the schema a scrape carries never goes back up. `histogram_quantile` over a native histogram
//! of schema `s` is within `2^(2^-s) - 1` relative error of the exact quantile: 0.55% at schema 7,
//! 1.1% at 6, 2.2% at 5, 4.4% at 4; the default bound keeps schema 5 or finer for latencies that
//! span up to five powers of two (e.g. 10 ms to 320 ms). The zero bucket holds durations below
//! 2^-30 s (a nanosecond). Recording costs one table lookup and two atomic additions; handlers
//! without one pay a branch.
//!
//! ```text
//! # p99 per route across replicas, and requests per second, from native histograms
//! histogram_quantile(0.99, sum by (handler) (rate(accountservice_request_duration_seconds[5m])))
//! histogram_count(sum by (handler) (rate(accountservice_request_duration_seconds[1m])))
//! ```
//!
//! **Exemplars** (cargo feature `exemplars`; off, nothing of it is compiled). A request whose
//! future runs in a sampled OpenTelemetry context (the `opentelemetry` crate, 0.33: attach one
//! with `opentelemetry::context::FutureExt::with_context`, as tracing middlewares do) leaves its
//! trace id, as the label `trace_id`, on the latest exemplar of its `requests_total` series
//! (value 1) and of its classic histogram bucket (value: its duration), in OpenMetrics and
//! protobuf; the text format has none. Each handler keeps one per code (the first eight codes)
//! and one per bucket, so memory stays under a kilobyte per handler. Prometheus stores them with
//! `--enable-feature=exemplar-storage` and serves them from `/api/v1/query_exemplars`.
//!
//! **Created timestamps.** Every counter, summary and histogram series reports when its handler's
//! metrics were created (`_created` in OpenMetrics, `created_timestamp` in protobuf). A
//! Prometheus that does not ingest created timestamps (`created-timestamp-zero-ingestion` off,
//! the default) stores OpenMetrics' `_created` samples as series of their own, as it does for
//! every OpenMetrics client that writes them.
//!
//! # Serving `/metrics`
//!
//! Call [`install`] (or [`Config::install`]) once at start-up, before serving requests; a request
//! recorded earlier fixes the default configuration (see [`Config::install`]). Dashboards and
//! alerting rules for these metrics come from the `routemeter-ops` crate, which a service does not
//! need to link.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let exporter = routemeter::install()?;
//! // In your own router: `exporter.respond(&request)` for `GET /metrics`.
//! // Or on an address of its own:
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:9100").await?;
//! exporter.serve(listener, std::future::pending()).await?;
//! # Ok(()) }
//! ```
//!
//! That server bounds what clients can hold (connections, idle time, request heads, concurrent
//! and slow scrapes) with the limits of [`ServeOptions`], set with [`Exporter::serve_with`]; the
//! same server runs any hyper service with [`serve_connections`].
//!
//! [hyper]: https://docs.rs/hyper

// Lets the crate's own tests and doc examples name `::routemeter` as users do.
#[allow(unused_extern_crates)]
extern crate self as routemeter;

// The layers, bottom up: error and primitives, summary, record (the request path), expose (the
// scrape path), middleware (tower), install. Each names only the layers below it (see ARCHITECTURE.md).
mod error;
mod expose;
mod install;
#[cfg(feature = "tower")]
mod middleware;
mod primitives;
mod record;
mod summary;

/// Synthetic handler sets for the crate's benchmarks; not a public API.
#[cfg(feature = "bench")]
#[doc(hidden)]
pub mod bench_support;

/// What the code generated by `#[instrumented]` names. Not a public API: it may change in any
/// release, in step with the attribute (the two crates are pinned to one exact version).
#[doc(hidden)]
pub mod __private {
    pub use linkme;

    pub use crate::record::classify::{ByIntoResponse, ByOutcome, Probe, Unreadable, Verdict};
    pub use crate::record::handler::{is_valid_name, Handler, HANDLERS};
    pub use crate::record::handler_info::{HandlerInfo, HistogramKind};
    pub use crate::record::observe::{observe, Observed};
    pub use crate::record::outcome::Outcome;
}

pub use error::Error;
pub use expose::catalog::RegisteredHandler;
pub use expose::exporter::{Exporter, Handlers};
pub use expose::format::Format;
pub use expose::openmetrics::OPENMETRICS_CONTENT_TYPE;
pub use expose::prometheus_text::TEXT_CONTENT_TYPE;
pub use expose::protobuf::PROTOBUF_CONTENT_TYPE;
pub use expose::server::options::ServeOptions;
pub use expose::server::serve_connections::serve_connections;
pub use install::{install, Config};
#[cfg(feature = "tower")]
pub use middleware::layer::{MeteredLayer, RouteLayer};
pub use record::metered::{Metered, MeteredFuture};
pub use record::metered_body::MeteredBody;
pub use record::outcome::FAILED_CODES;
pub use summary::{Snapshot, Summary, SummaryOptions};

/// Instruments a hyper handler: times it, measures its response and counts its outcome.
///
/// ```
/// # use std::{convert::Infallible, sync::Arc};
/// # use bytes::Bytes;
/// # use http_body_util::Full;
/// # use hyper::{Request, Response, StatusCode};
/// # struct Store;
/// #[routemeter::instrumented(name = "GetAccount", route = "GET /accounts/{accountId}")]
/// async fn get_account(
///     store: Arc<Store>,
///     req: Request<()>,
/// ) -> Result<Response<Full<Bytes>>, Infallible> {
///     Ok(Response::builder()
///         .status(StatusCode::OK)
///         .header("content-type", "application/json")
///         .body(Full::new(Bytes::from_static(b"{}")))
///         .unwrap_or_default())
/// }
/// # let _ = get_account;
/// ```
///
/// # Arguments
///
/// | argument | required | meaning |
/// |---|---|---|
/// | `name = "GetAccount"` | yes | the metric name after the namespace: `[A-Za-z_][A-Za-z0-9_]*` |
/// | `route = "GET /accounts/{accountId}"` | yes | an upper-case HTTP method and a path starting with `/`; parameters as `{param}` or `<param>` (written `{param}` in the HELP text and the `route` label), a catch-all as `{*rest}` |
/// | `namespace = "shop"` | no | replaces the default namespace (the crate's name) for this handler |
/// | `histogram = true` | no | adds this handler to `<namespace>_request_duration_seconds` (`false` keeps it out when [`Config::histogram`] or [`Config::native_histogram`] turns it on for all); `histogram = "native"` adds a native histogram too (see the crate docs) |
/// | `stream = true` | no | a long-lived route (server-sent events, long polling, upgrades): its open streams and their lifetimes are counted apart from its latency (see the crate docs) |
/// | `time_to_headers = true` | no | adds `<namespace>_time_to_headers_seconds` for this handler (`false` keeps it out when [`Config::time_to_headers`] turns it on) |
/// | `request_size = true` | no | adds `<namespace>_request_size_bytes` for this handler (`false` keeps it out when [`Config::request_size`] turns it on) |
/// | `crate = "path"` | no | where to find routemeter when it is renamed or re-exported, as a path in a string: `crate = "metrics"`, `crate = "crate::telemetry"` |
///
/// Mistakes are compile errors on the offending argument, listing what is valid, all reported in
/// one build; the function is still emitted, so the rest of the crate type-checks.
///
/// # Handlers
///
/// - `async fn`s, free or methods (`&self`, `self: Arc<Self>`), generic or not, with any
///   arguments;
/// - `fn`s returning `impl Future` whose body ends in an `async` block or
///   `Box::pin(async move { .. })` (the shape `async-trait` produces);
/// - the output must be `Response<B>` or `Result<Response<B>, E>` for any body `B`, or with the
///   feature `axum` anything that implements axum's `IntoResponse` (see the crate docs); anything
///   else is a compile error saying so. `const fn`s and functions that return no future are
///   rejected.
///
/// Type errors inside the body point at your own lines, as without the attribute.
///
/// Every instrumented handler linked into the program is registered at [`install`], whether a
/// router serves it or not: that is how its series exist before its first request. So two
/// handlers that report under one name are an error at start-up even when only one of them is
/// routed (two versions of a service in one binary need two namespaces, or two crates that are
/// not linked together).
///
/// # What it expands to
///
/// The signature, attributes and docs stay as written; only the body is wrapped, roughly:
///
/// ```ignore
/// async fn get_account(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
///     static HANDLER: Handler = Handler::new(HandlerInfo { name: "GetAccount", .. });
///     #[distributed_slice(HANDLERS)]  // so every handler is known at start-up
///     static ENTRY: &Handler = &HANDLER;
///     // The closure reads the output's status; it is written where the output type is known.
///     routemeter::__private::observe(&HANDLER, async move { /* the original body */ }, classify).await
/// }
/// ```
pub use routemeter_macros::instrumented;
