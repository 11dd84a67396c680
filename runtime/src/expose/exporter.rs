//! The exporter: what answers `/metrics`, from the catalog and the settings `install` hands it.

use std::convert::Infallible;
use std::future::{ready, Ready};
use std::sync::Arc;

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_ENCODING, CONTENT_TYPE, VARY};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;

use crate::expose::catalog::{Catalog, RegisteredHandler};
use crate::expose::compression::compress;
use crate::expose::families::{self, Family};
use crate::expose::format::Format;
use crate::expose::negotiation;
use crate::expose::scrapes::ScrapeCounts;
use crate::expose::{openmetrics, prometheus_text, protobuf};
use crate::primitives::clock;
use crate::record::settings::Settings;
use crate::Error;

/// Serves every instrumented handler's metrics, and those of the configured `prometheus`
/// registries, in the format the scraper asks for (see [`Format`]). Cheap to clone; get one
/// from [`Config::install`](crate::Config::install).
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
        let families = self.families();
        prometheus_text::render(
            &families,
            &self.state.scrapes.read(),
            self.quantiles(),
            clock::nanos_now(),
        )
    }

    /// The whole exposition in `format`, as [`Exporter::respond`] sends it before compression.
    ///
    /// ```
    /// let exporter = routemeter::install()?;
    /// let text = exporter.encode(routemeter::Format::OpenMetrics)?;
    /// assert!(text.ends_with(b"# EOF\n"));
    /// # Ok::<(), routemeter::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Encode`] when a custom registry's metrics cannot be encoded as text, or a
    /// protobuf message cannot be written.
    pub fn encode(&self, format: Format) -> Result<Vec<u8>, Error> {
        let families = self.families();
        let scrapes = self.state.scrapes.read();
        let (quantiles, now) = (self.quantiles(), clock::nanos_now());
        match format {
            Format::PrometheusText => {
                prometheus_text::render(&families, &scrapes, quantiles, now).map(String::into_bytes)
            }
            Format::OpenMetrics => {
                Ok(openmetrics::render(&families, &scrapes, quantiles, now).into_bytes())
            }
            Format::Protobuf => protobuf::render(&families, &scrapes, quantiles, now),
        }
    }

    fn families(&self) -> Vec<Family<'_>> {
        families::gather(&self.state.catalog, &self.state.registries)
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

    /// Answers a scrape, `GET` or `HEAD`: in the [`Format`] the `Accept` header prefers (the
    /// text format 0.0.4 unless it names another), compressed with zstd or gzip when
    /// `Accept-Encoding` allows it, each with its exact `Content-Type`. Other methods get
    /// `405 Method Not Allowed`; an `Accept-Encoding` that refuses identity and accepts neither
    /// gzip nor zstd gets `406 Not Acceptable`; a failure to encode gets a `500` saying why.
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
        let Some(encoding) = negotiation::encoding(request.headers()) else {
            let mut response = plain(
                StatusCode::NOT_ACCEPTABLE,
                "no acceptable content coding: accept identity, gzip or zstd\n".into(),
            );
            response
                .headers_mut()
                .insert(VARY, HeaderValue::from_static(VARY_ON));
            return response;
        };
        let format = negotiation::format(request.headers());
        let body = match self.encode(format) {
            Ok(body) => body,
            Err(err) => return plain(StatusCode::INTERNAL_SERVER_ERROR, format!("{err}\n")),
        };
        let (body, encoding) = compress(body, encoding);
        let mut response = Response::new(Full::new(Bytes::from(body)));
        let headers = response.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static(format.content_type()),
        );
        headers.insert(VARY, HeaderValue::from_static(VARY_ON));
        if let Some(coding) = encoding.header() {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static(coding));
        }
        response
    }
}

/// The request headers an answer depends on.
const VARY_ON: &str = "accept, accept-encoding";
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
