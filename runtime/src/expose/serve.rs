//! A stand-alone `/metrics` server, for services that keep metrics off their public port.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::expose::exporter::Exporter;
use crate::expose::scrapes::ScrapeCounts;
use crate::expose::server::options::ServeOptions;
use crate::expose::server::serve_connections::serve_connections;
use crate::Error;

impl Exporter {
    /// Serves `GET /metrics` on `listener` until `shutdown` completes, with the default
    /// [`ServeOptions`]; see [`Exporter::serve_with`].
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), routemeter::Error> {
    /// let exporter = routemeter::install()?;
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:9100").await?;
    /// exporter.serve(listener, async { let _ = tokio::signal::ctrl_c().await; }).await
    /// # }
    /// ```
    ///
    /// # Errors
    /// Never for a single connection's trouble (it is dropped and serving goes on); only if the
    /// listener's address cannot be read.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), Error> {
        self.serve_with(listener, ServeOptions::default(), shutdown)
            .await
    }

    /// Serves `GET /metrics` on `listener` under the limits of `options` until `shutdown`
    /// completes, then lets open connections finish (for at most
    /// [`ServeOptions::shutdown_timeout`]). Other paths answer `404 Not Found`.
    ///
    /// Each scrape renders on a blocking thread, at most
    /// [`max_concurrent_scrapes`](ServeOptions::max_concurrent_scrapes) at once; one more, or
    /// one that takes longer than [`scrape_timeout`](ServeOptions::scrape_timeout), is answered
    /// `503 Service Unavailable` with `Retry-After`, and counted under `code="503"` in
    /// `routemeter_metrics_handler_requests_total`. Connections are bounded as
    /// [`serve_connections`](crate::serve_connections) describes; request bodies are never read.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), routemeter::Error> {
    /// use std::time::Duration;
    ///
    /// let exporter = routemeter::install()?;
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:9100").await?;
    /// let options = routemeter::ServeOptions::default()
    ///     .scrape_timeout(Duration::from_secs(5))
    ///     .max_concurrent_scrapes(2);
    /// exporter
    ///     .serve_with(listener, options, async { let _ = tokio::signal::ctrl_c().await; })
    ///     .await
    /// # }
    /// ```
    ///
    /// # Errors
    /// Never for a single connection's trouble; only if the listener's address cannot be read.
    pub async fn serve_with(
        self,
        listener: TcpListener,
        options: ServeOptions,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), Error> {
        let limit = Arc::new(ScrapeLimit {
            rendering: Arc::new(Semaphore::new(options.max_concurrent_scrapes)),
            max: options.max_concurrent_scrapes,
            timeout: options.scrape_timeout,
        });
        let make_service = |_: &tokio::net::TcpStream| {
            let exporter = self.clone();
            let limit = limit.clone();
            service_fn(move |request: Request<Incoming>| {
                let exporter = exporter.clone();
                let limit = limit.clone();
                async move { Ok::<_, std::convert::Infallible>(route(exporter, &limit, request).await) }
            })
        };
        serve_connections(listener, options, make_service, shutdown).await
    }
}

/// How many scrapes render at once, and for how long, as promhttp's `MaxRequestsInFlight` and
/// `Timeout`.
#[derive(Debug)]
struct ScrapeLimit {
    rendering: Arc<Semaphore>,
    max: usize,
    timeout: Duration,
}

async fn route(
    exporter: Exporter,
    limit: &ScrapeLimit,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    if request.uri().path() != "/metrics" {
        // The path is not echoed: an answer never grows with what a client sends.
        return plain(StatusCode::NOT_FOUND, "not found: try /metrics\n".into());
    }
    let mut counted = Counted::start(exporter.scrape_counts());
    let response = scrape(exporter.clone(), limit, request).await;
    counted.status = response.status().as_u16();
    response
}

/// Renders one scrape on a blocking thread, within the limit.
async fn scrape(
    exporter: Exporter,
    limit: &ScrapeLimit,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let Ok(permit) = limit.rendering.clone().try_acquire_owned() else {
        return unavailable(format!(
            "too many scrapes in progress (the limit is {})\n",
            limit.max
        ));
    };
    // The body is never read; dropping it now frees what the connection buffered of it.
    let (parts, _body) = request.into_parts();
    let request = Request::from_parts(parts, ());
    let rendering = tokio::task::spawn_blocking(move || {
        // The permit goes with the rendering, so one that outlives its timeout still counts.
        let _permit = permit;
        exporter.answer(&request)
    });
    match tokio::time::timeout(limit.timeout, rendering).await {
        Ok(Ok(response)) => response,
        Ok(Err(_panicked)) => plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "rendering the metrics failed\n".into(),
        ),
        Err(_elapsed) => unavailable(format!("the scrape took longer than {:?}\n", limit.timeout)),
    }
}

/// Counts a scrape in flight until dropped, and then its answer.
struct Counted<'a> {
    counts: &'a ScrapeCounts,
    /// The status answered; 0 while there is none, which leaves only the in-flight count moved
    /// back (a client that went away before its answer).
    status: u16,
}

impl<'a> Counted<'a> {
    fn start(counts: &'a ScrapeCounts) -> Counted<'a> {
        counts.start();
        Counted { counts, status: 0 }
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.counts.finish(self.status);
    }
}

fn unavailable(message: String) -> Response<Full<Bytes>> {
    let mut response = plain(StatusCode::SERVICE_UNAVAILABLE, message);
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    response
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
