//! The `/metrics` answer: rendering, compression, and the scrape handler's own metrics.

use std::convert::Infallible;
use std::future::{ready, Ready};
use std::io::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http::header::{ACCEPT_ENCODING, ALLOW, CONTENT_ENCODING, CONTENT_TYPE, VARY};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;

use crate::exposition::{self, ScrapeStats, TEXT_CONTENT_TYPE};
use crate::negotiation::accepts_gzip;
use crate::registry::catalog;
use crate::Error;

/// Serves every instrumented handler's metrics, and those of the configured `prometheus`
/// registries, in the Prometheus text format. Cheap to clone; get one from [`crate::install`].
///
/// Use it in any router with [`Exporter::respond`], as a hyper service (it implements
/// `hyper::service::Service`), or on an address of its own with [`Exporter::serve`].
#[derive(Clone, Debug)]
pub struct Exporter {
    registries: Arc<[prometheus::Registry]>,
}

/// The statuses the scrape handler answers with, and how often it did.
static SCRAPE_STATUSES: [u16; 3] = [200, 405, 500];
static SCRAPES: [AtomicU64; 3] = [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)];
static SCRAPES_IN_FLIGHT: AtomicI64 = AtomicI64::new(0);

impl Exporter {
    pub(crate) fn new(registries: Vec<prometheus::Registry>) -> Exporter {
        Exporter {
            registries: registries.into(),
        }
    }

    /// The whole exposition as text (format 0.0.4).
    ///
    /// # Errors
    /// [`Error::Encode`] when a custom registry's metrics cannot be encoded.
    pub fn render(&self) -> Result<String, Error> {
        let requests = SCRAPE_STATUSES
            .iter()
            .zip(&SCRAPES)
            .map(|(status, count)| (*status, count.load(Ordering::Relaxed)))
            .filter(|(_, count)| *count > 0)
            .collect();
        let stats = ScrapeStats {
            requests,
            in_flight: SCRAPES_IN_FLIGHT.load(Ordering::Relaxed),
        };
        exposition::render(catalog(), &self.registries, &stats)
    }

    /// A Grafana dashboard (its JSON model) with a panel set for every namespace: the tutorial's average
    /// latency and memory per instance, then request rate, error ratio, latency quantiles,
    /// in-flight requests and response size per route. Its panels query the Prometheus datasource
    /// with uid [`GRAFANA_DATASOURCE_UID`](crate::GRAFANA_DATASOURCE_UID).
    pub fn grafana_dashboard(&self, title: &str) -> String {
        crate::dashboard::dashboard_json(catalog(), title)
    }

    /// Prometheus rules for every namespace: request rate and error ratio recordings, and alerts
    /// on error ratio and p99 latency per handler.
    pub fn prometheus_rules(&self, thresholds: crate::AlertThresholds) -> String {
        crate::rules::rules_yaml(catalog(), thresholds)
    }

    /// Answers a scrape: `GET` or `HEAD`, text format 0.0.4, gzip when `Accept-Encoding` allows it.
    /// Other methods get `405 Method Not Allowed`; a failure to encode gets a `500` saying why.
    pub fn respond<B>(&self, request: &Request<B>) -> Response<Full<Bytes>> {
        SCRAPES_IN_FLIGHT.fetch_add(1, Ordering::Relaxed);
        let response = self.answer(request);
        SCRAPES_IN_FLIGHT.fetch_sub(1, Ordering::Relaxed);
        if let Some(slot) = SCRAPE_STATUSES
            .iter()
            .position(|status| *status == response.status().as_u16())
        {
            SCRAPES[slot].fetch_add(1, Ordering::Relaxed);
        }
        response
    }

    fn answer<B>(&self, request: &Request<B>) -> Response<Full<Bytes>> {
        if request.method() != Method::GET && request.method() != Method::HEAD {
            let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "use GET or HEAD\n".into());
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            return response;
        }
        let text = match self.render() {
            Ok(text) => text,
            Err(err) => return plain(StatusCode::INTERNAL_SERVER_ERROR, format!("{err}\n")),
        };
        let compressed = accepts_gzip(request.headers().get(ACCEPT_ENCODING))
            .then(|| gzipped(text.as_bytes()))
            .flatten();
        let gzip = compressed.is_some();
        let mut response = Response::new(Full::new(match compressed {
            Some(compressed) => Bytes::from(compressed),
            None => Bytes::from(text),
        }));
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(TEXT_CONTENT_TYPE));
        headers.insert(VARY, HeaderValue::from_static("accept-encoding"));
        if gzip {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        response
    }
}

/// Compresses with a fast level: scrapes are frequent and the text compresses well anyway.
/// `None` if compression fails, in which case the text goes out as it is.
pub(crate) fn gzipped(text: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(text.len() / 4),
        flate2::Compression::fast(),
    );
    encoder.write_all(text).ok()?;
    encoder.finish().ok()
}

fn plain(status: StatusCode, message: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(message)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

impl<B> hyper::service::Service<Request<B>> for Exporter {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn call(&self, request: Request<B>) -> Self::Future {
        ready(Ok(self.respond(&request)))
    }
}
