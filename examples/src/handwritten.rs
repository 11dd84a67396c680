//! The tutorial's own way of monitoring the routes, for comparison: a middleware written by hand, here with the
//! `prometheus` crate, and a `/metrics` endpoint that encodes its registry.
//!
//! It keeps what a careful hand-written middleware keeps: per route, histograms of latency and response size
//! under the tutorial's names (`accountservice_GetAccount{service="duration"}`, histograms because the crate has
//! no summary, so no windowed quantiles), requests counted by route and status code, and a gauge of the requests
//! in flight. The metric handles of each route are looked up once, at start-up; the status code's counter is
//! looked up per request, as middlewares do, since the code is known only then. Like most hand-written
//! middlewares it records nothing for a request whose future is dropped before it completes.
//!
//! `--instrumentation handwritten` selects it, so that `bench/load.sh` can measure what it costs beside routemeter.

use std::future::Future;
use std::time::Instant;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Response, StatusCode};
use http_body_util::{Either, Full};
use hyper::body::Body as _;
use prometheus::{exponential_buckets, Registry, TextEncoder};
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
};

use crate::reply::{self, Body};
use crate::router::Endpoint;

/// The monitored routes, by endpoint, with the names the tutorial reported them under.
const ROUTES: [(Endpoint, &str); 4] = [
    (Endpoint::GetAccount, "GetAccount"),
    (Endpoint::StoreAccount, "StoreAccount"),
    (Endpoint::UpdateAccount, "UpdateAccount"),
    (Endpoint::GraphQl, "GraphQL"),
];

/// One family per route holds both latency (seconds) and size (bytes), as the tutorial's summary vector did, so
/// its buckets span both: from 100 µs to about 100 kB, by factors of 4.
const BUCKETS_START: f64 = 0.0001;
const BUCKETS_FACTOR: f64 = 4.0;
const BUCKETS: usize = 16;

/// One server's hand-written metrics.
pub(crate) struct Handwritten {
    registry: Registry,
    routes: Vec<(Endpoint, Route)>,
    requests: IntCounterVec,
}

/// The handles of one route, looked up once.
struct Route {
    name: &'static str,
    duration: Histogram,
    size: Histogram,
    in_flight: IntGauge,
}

impl Handwritten {
    /// Registers every route's metrics in a registry of this server's own.
    pub(crate) fn new() -> prometheus::Result<Handwritten> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "accountservice_requests_total",
                "Requests by route and status code.",
            ),
            &["handler", "code"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        let in_flight = IntGaugeVec::new(
            Opts::new(
                "accountservice_in_flight_requests",
                "Requests being handled, by route.",
            ),
            &["handler"],
        )?;
        registry.register(Box::new(in_flight.clone()))?;
        let mut routes = Vec::with_capacity(ROUTES.len());
        for (endpoint, name) in ROUTES {
            let opts = HistogramOpts::new(
                format!("accountservice_{name}"),
                format!("{name}: latency and response size."),
            )
            .buckets(exponential_buckets(BUCKETS_START, BUCKETS_FACTOR, BUCKETS)?);
            let family = HistogramVec::new(opts, &["service"])?;
            registry.register(Box::new(family.clone()))?;
            let route = Route {
                name,
                duration: family.get_metric_with_label_values(&["duration"])?,
                size: family.get_metric_with_label_values(&["size"])?,
                in_flight: in_flight.get_metric_with_label_values(&[name])?,
            };
            routes.push((endpoint, route));
        }
        Ok(Handwritten {
            registry,
            routes,
            requests,
        })
    }

    /// Runs `handler` for `endpoint`, recording it when the endpoint is a monitored route.
    pub(crate) async fn observe(
        &self,
        endpoint: Endpoint,
        handler: impl Future<Output = Response<Body>>,
    ) -> Response<Body> {
        let Some((_, route)) = self
            .routes
            .iter()
            .find(|(monitored, _)| *monitored == endpoint)
        else {
            return handler.await;
        };
        route.in_flight.inc();
        let started = Instant::now();
        let response = handler.await;
        route.duration.observe(started.elapsed().as_secs_f64());
        if let Some(size) = response.body().size_hint().exact() {
            // Sizes beyond 2^53 bytes lose precision as f64; no response is that large.
            route.size.observe(size as f64);
        }
        self.requests
            .with_label_values(&[route.name, response.status().as_str()])
            .inc();
        route.in_flight.dec();
        response
    }

    /// `GET /metrics`: the registry in the text format.
    pub(crate) fn respond(&self) -> Response<Body> {
        let mut text = Vec::new();
        if let Err(err) = TextEncoder::new().encode(&self.registry.gather(), &mut text) {
            return reply::text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("could not encode the metrics: {err}"),
            );
        }
        let mut response = Response::new(Either::Left(Full::new(Bytes::from(text))));
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static(prometheus::TEXT_FORMAT),
        );
        response
    }
}
