//! The exporter: what answers `/metrics`, from the catalog and the settings `install` hands it.

use std::convert::Infallible;
use std::future::{ready, Ready};
use std::sync::Arc;

use bytes::Bytes;
use http::header::{ACCEPT_ENCODING, ALLOW, CONTENT_ENCODING, CONTENT_TYPE, VARY};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;

use crate::expose::catalog::{Catalog, RegisteredHandler};
use crate::expose::compression::gzipped;
use crate::expose::negotiation::accepts_gzip;
use crate::expose::prometheus_text::{self, TEXT_CONTENT_TYPE};
use crate::expose::scrapes::ScrapeCounts;
use crate::primitives::clock;
use crate::record::settings::Settings;
use crate::Error;

/// Serves every instrumented handler's metrics, and those of the configured `prometheus`
/// registries, in the Prometheus text format. Cheap to clone; get one from
/// [`Config::install`](crate::Config::install).
///
/// Use it in any router with [`Exporter::respond`], as a hyper service (it implements
/// `hyper::service::Service`), or on an address of its own with [`Exporter::serve`].
#[derive(Clone, Debug)]
pub struct Exporter {
    state: Arc<State>,
}

/// What an exporter serves from, built once by `install`.
#[derive(Debug)]
struct State {
    catalog: Catalog,
    registries: Vec<prometheus::Registry>,
    settings: &'static Settings,
    scrapes: ScrapeCounts,
}

impl Exporter {
    pub(crate) fn new(
        catalog: Catalog,
        registries: Vec<prometheus::Registry>,
        settings: &'static Settings,
    ) -> Exporter {
        Exporter {
            state: Arc::new(State {
                catalog,
                registries,
                settings,
                scrapes: ScrapeCounts::default(),
            }),
        }
    }

    /// The whole exposition as text (format 0.0.4).
    ///
    /// # Errors
    /// [`Error::Encode`] when a custom registry's metrics cannot be encoded.
    pub fn render(&self) -> Result<String, Error> {
        let state = &*self.state;
        prometheus_text::render(
            &state.catalog,
            &state.registries,
            &state.scrapes.read(),
            self.quantiles(),
            clock::nanos_now(),
        )
    }

    /// Every handler this exporter reports, by namespace then metric name: what tools that
    /// generate dashboards and alerting rules work from.
    pub fn handlers(&self) -> impl Iterator<Item = &RegisteredHandler> {
        self.state.catalog.entries()
    }

    /// The quantiles every summary reports, in increasing order.
    pub fn quantiles(&self) -> &[f64] {
        self.state.settings.summary.quantiles()
    }

    /// Answers a scrape: `GET` or `HEAD`, text format 0.0.4, gzip when `Accept-Encoding` allows it.
    /// Other methods get `405 Method Not Allowed`; a failure to encode gets a `500` saying why.
    pub fn respond<B>(&self, request: &Request<B>) -> Response<Full<Bytes>> {
        let scrapes = &self.state.scrapes;
        scrapes.start();
        let response = self.answer(request);
        scrapes.finish(response.status().as_u16());
        response
    }

    /// The answer to a scrape, not counted: for servers that count scrapes themselves.
    pub(crate) fn answer<B>(&self, request: &Request<B>) -> Response<Full<Bytes>> {
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

impl Exporter {
    /// The scrape handler's own counts, for a server that answers some scrapes without
    /// rendering them (too many at once, too slow).
    pub(crate) fn scrape_counts(&self) -> &ScrapeCounts {
        &self.state.scrapes
    }
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
