//! A stand-alone `/metrics` server, for services that keep metrics off their public port.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use crate::expose::exporter::Exporter;
use crate::Error;

/// How long connections may take to finish once shutdown has begun.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

impl Exporter {
    /// Serves `GET /metrics` on `listener` until `shutdown` completes, then lets open
    /// connections finish (for at most 10 seconds). Other paths answer `404 Not Found`.
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
        listener.local_addr()?;
        let builder = auto::Builder::new(TokioExecutor::new());
        let graceful = GracefulShutdown::new();
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let stream = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    // Running out of file descriptors and the like pass; back off and go on.
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let exporter = self.clone();
            let service = service_fn(move |request: Request<Incoming>| {
                let response = route(&exporter, &request);
                async move { Ok::<_, std::convert::Infallible>(response) }
            });
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            let connection = graceful.watch(connection.into_owned());
            tokio::spawn(async move {
                // A client that hangs up mid-request is not our error.
                let _ = connection.await;
            });
        }
        let _ = tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await;
        Ok(())
    }
}

fn route(exporter: &Exporter, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    if request.uri().path() == "/metrics" {
        return exporter.respond(request);
    }
    let mut response = Response::new(Full::new(Bytes::from_static(b"not found: try /metrics\n")));
    *response.status_mut() = StatusCode::NOT_FOUND;
    response
}
