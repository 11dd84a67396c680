//! The exporter: what answers `/metrics`, from the catalog and the settings `install` hands it.

use std::convert::Infallible;
use std::future::{ready, Ready};
use std::sync::{Arc, PoisonError, RwLock};

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_ENCODING, CONTENT_TYPE, VARY};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;

use crate::expose::catalog::{Catalog, RegisteredHandler};
use crate::expose::compression::compress;
use crate::expose::families;
use crate::expose::format::Format;
use crate::expose::negotiation;
use crate::expose::scrapes::ScrapeCounts;
use crate::expose::{openmetrics, prometheus_text, protobuf};
use crate::primitives::clock;
use crate::record::handler::Handler;
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
    /// Replaced as a whole when a route layer adds a route: a scrape keeps the one it started
    /// with.
    catalog: RwLock<Arc<Catalog>>,
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
                catalog: RwLock::new(Arc::new(catalog)),
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
        let catalog = self.catalog();
        let families = families::gather(&catalog, &self.state.registries);
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
        let catalog = self.catalog();
        let families = families::gather(&catalog, &self.state.registries);
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

    /// The catalog as it is now.
    fn catalog(&self) -> Arc<Catalog> {
        let catalog = self
            .state
            .catalog
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        Arc::clone(&catalog)
    }

    /// Every handler this exporter reports, by namespace then metric name: what tools that
    /// generate dashboards and alerting rules work from. A snapshot: routes a route layer adds
    /// later are not in it.
    ///
    /// ```
    /// let exporter = routemeter::install()?;
    /// for handler in &exporter.handlers() {
    ///     println!("{} {} {}", handler.metric(), handler.method(), handler.route());
    /// }
    /// # Ok::<(), routemeter::Error>(())
    /// ```
    pub fn handlers(&self) -> Handlers {
        Handlers(self.catalog())
    }

    /// Adds `handlers` to what this exporter reports, with their series at zero from now on:
    /// all of them, or none when one cannot be added.
    ///
    /// # Errors
    /// [`Error::DuplicateHandler`] or [`Error::ReservedName`] when a name is taken.
    #[cfg_attr(not(feature = "tower"), allow(dead_code))]
    pub(crate) fn register(&self, handlers: &[&'static Handler]) -> Result<(), Error> {
        let mut catalog = self
            .state
            .catalog
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let grown = catalog.with(handlers, self.state.settings.namespace.as_deref());
        grown.check()?;
        grown.initialise();
        *catalog = Arc::new(grown);
        Ok(())
    }

    /// The namespace `Config::namespace` set, if any.
    #[cfg_attr(not(feature = "tower"), allow(dead_code))]
    pub(crate) fn namespace(&self) -> Option<&str> {
        self.state.settings.namespace.as_deref()
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

/// The handlers an exporter reports, as [`Exporter::handlers`] lists them.
#[derive(Debug, Clone)]
pub struct Handlers(Arc<Catalog>);

impl Handlers {
    /// Every handler, by namespace then metric name.
    pub fn iter(&self) -> impl Iterator<Item = &RegisteredHandler> {
        self.0.entries()
    }
}

impl<'a> IntoIterator for &'a Handlers {
    type Item = &'a RegisteredHandler;
    type IntoIter = Box<dyn Iterator<Item = &'a RegisteredHandler> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
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

/// `/metrics` as a tower service, e.g. an axum route:
/// `Router::new().route_service("/metrics", exporter.clone())`.
#[cfg(feature = "tower")]
impl<B> tower_service::Service<Request<B>> for Exporter {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        ready(Ok(self.respond(&request)))
    }
}
