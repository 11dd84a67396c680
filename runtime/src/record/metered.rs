//! A service wrapper that measures each response to the end of its body.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::CONTENT_LENGTH;
use http::{Extensions, Method, Request, Response, StatusCode, Uri};
use http_body::Body;
use pin_project_lite::pin_project;

use crate::record::handoff::{self, HandedOver};
use crate::record::in_flight::InFlight;
use crate::record::meter::Meter;
use crate::record::metered_body::{held_whole, MeteredBody};
use crate::record::metrics::{meter_wanted, request_sizes_wanted};
use crate::record::outcome::{content_length, response_size, Classification, Code};
use crate::record::streams::OpenStream;

/// Wraps a hyper service so that its instrumented handlers are measured to the end of the
/// response body rather than to the headers.
///
/// ```no_run
/// # use std::convert::Infallible;
/// # use bytes::Bytes;
/// # use http_body_util::Full;
/// # use hyper::{body::Incoming, Request, Response};
/// # async fn handle(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> { todo!() }
/// # fn run(io: hyper_util::rt::TokioIo<tokio::net::TcpStream>) {
/// let service = routemeter::Metered::new(hyper::service::service_fn(handle));
/// let connection = hyper::server::conn::http1::Builder::new().serve_connection(io, service);
/// # let _ = connection; }
/// ```
///
/// With it, for every request an instrumented handler answers (in the task that polls this
/// service, as `service_fn` and routers do):
/// - `service="duration"` runs until the last frame of the body has been handed to the
///   connection, or until the body is dropped;
/// - `service="size"` is the bytes of data actually sent;
/// - the request is counted when the body ends: `code` is the response's status, `aborted` when
///   the body was dropped before its end (the client went away), `body_error` when the body
///   failed; `requests_in_flight` includes responses still sending their body.
///
/// A body held whole in memory (`Full<Bytes>`, `String`) goes to the connection in one frame,
/// with the headers: its request is recorded when the response is returned, as without the
/// wrapper, unless the handler asks for the time to headers, the request size or a stream.
///
/// Without it, a handler is recorded when it returns its response: the duration runs to the
/// headers and the size is the body's exact size hint, or its `Content-Length`. Responses that carry
/// no body (to `HEAD`, `1xx`, `204`, `304`) are recorded that way in both cases.
///
/// With the `tower` feature it is also a tower `Service`, and `MeteredLayer` puts it around a
/// router's routes.
#[derive(Clone, Debug)]
pub struct Metered<S> {
    inner: S,
    /// Requests it measures itself when no instrumented handler answers them (the route layer).
    own: Option<Arc<dyn OwnRequests>>,
}

/// Starts a request of the wrapper's own, for a route no instrumented handler may answer; the
/// route layer (feature `tower`) implements it.
pub(crate) trait OwnRequests: Send + Sync + fmt::Debug {
    /// The request the wrapper measures for this one, started now, or `None` to measure none.
    fn start(&self, method: &Method, uri: &Uri, extensions: &Extensions) -> Option<InFlight>;
}

impl<S> Metered<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Metered<S> {
        Metered { inner, own: None }
    }

    /// Wraps `inner`, measuring requests no instrumented handler answers with `own`.
    #[cfg_attr(not(feature = "tower"), allow(dead_code))]
    pub(crate) fn with_own(inner: S, own: Option<Arc<dyn OwnRequests>>) -> Metered<S> {
        Metered { inner, own }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S, B, RB> hyper::service::Service<Request<B>> for Metered<S>
where
    S: hyper::service::Service<Request<B>, Response = Response<RB>>,
    RB: Body + 'static,
{
    type Response = Response<MeteredBody<RB>>;
    type Error = S::Error;
    type Future = MeteredFuture<S::Future>;

    #[inline]
    fn call(&self, request: Request<B>) -> Self::Future {
        future::<B, RB, _>(&self.own, request, |request| self.inner.call(request))
    }
}

/// The future of `request`, which `call` passes to the wrapped service.
#[inline(always)]
fn future<B, RB: 'static, F>(
    own: &Option<Arc<dyn OwnRequests>>,
    request: Request<B>,
    call: impl FnOnce(Request<B>) -> F,
) -> MeteredFuture<F> {
    if own.is_some() || request_sizes_wanted() {
        return future_reading::<B, RB, F>(own, request, call);
    }
    // Nothing to read but the method: the request moves on as it is.
    let head = request.method() == Method::HEAD;
    MeteredFuture::new::<RB>(call(request), head, None, None)
}

/// [`future`] when the route layer's own requests or request sizes need more of the request.
#[inline(never)]
fn future_reading<B, RB: 'static, F>(
    own: &Option<Arc<dyn OwnRequests>>,
    request: Request<B>,
    call: impl FnOnce(Request<B>) -> F,
) -> MeteredFuture<F> {
    let own = own
        .as_ref()
        .and_then(|own| own.start(request.method(), request.uri(), request.extensions()));
    let request_length = request_sizes_wanted()
        .then(|| request.headers().get(CONTENT_LENGTH))
        .flatten()
        .and_then(|value| content_length(value.as_bytes()));
    let head = request.method() == Method::HEAD;
    MeteredFuture::new::<RB>(call(request), head, request_length, own)
}

#[cfg(feature = "tower")]
impl<S, B, RB> tower_service::Service<Request<B>> for Metered<S>
where
    S: tower_service::Service<Request<B>, Response = Response<RB>>,
    RB: Body + 'static,
{
    type Response = Response<MeteredBody<RB>>;
    type Error = S::Error;
    type Future = MeteredFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    #[inline]
    fn call(&mut self, request: Request<B>) -> Self::Future {
        let Metered { inner, own } = self;
        future::<B, RB, _>(own, request, |request| inner.call(request))
    }
}

pin_project! {
    /// The future of a [`Metered`] service's response.
    #[must_use = "futures do nothing unless polled"]
    pub struct MeteredFuture<F> {
        #[pin]
        inner: F,
        // What it collects from the instrumented handlers under it (see `record::meter`); none
        // when the body ends as the response is returned and no handler has anything for the
        // meter.
        meter: Option<Box<Meter>>,
    }
}

impl<F> MeteredFuture<F> {
    /// The future of a response whose body is of type `RB`.
    #[inline(always)]
    fn new<RB: 'static>(
        inner: F,
        head: bool,
        request_length: Option<u64>,
        own: Option<InFlight>,
    ) -> Self {
        let body_held_whole = held_whole::<RB>();
        let collects = !body_held_whole || own.is_some() || meter_wanted();
        MeteredFuture {
            inner,
            meter: collects.then(|| Meter::new(head, request_length, body_held_whole, own)),
        }
    }
}

impl<F, RB, E> Future for MeteredFuture<F>
where
    F: Future<Output = Result<Response<RB>, E>>,
    RB: Body + 'static,
{
    type Output = Result<Response<MeteredBody<RB>>, E>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut inner = this.inner;
        let Some(mut meter) = this.meter.take() else {
            // Nobody hands anything over, and the wrapper has no request of its own.
            return inner
                .poll(cx)
                .map(|result| result.map(|response| response.map(MeteredBody::unmetered)));
        };
        let poll = handoff::collect(&mut meter.collected, || inner.as_mut().poll(cx));
        if meter.collected.started {
            // At once, so that the in-flight gauge counts the request once while it runs.
            if let Some(own) = meter.own.take() {
                own.discard();
            }
        }
        let Poll::Ready(result) = poll else {
            *this.meter = Some(meter);
            return Poll::Pending;
        };
        // A handler that started has dropped the wrapper's own request: it hands its request
        // over, or records it itself (an error).
        let answered = meter.take_answered();
        Poll::Ready(match result {
            Ok(response) => Ok(respond(response, answered, meter)),
            Err(err) => {
                if let Some((request, _)) = answered {
                    request.finish(Classification {
                        code: Code::Error,
                        size: None,
                    });
                }
                Err(err)
            }
        })
    }
}

/// Records what is known of the answered request at the headers, and moves the rest of its
/// recording, with `meter`, onto the response's body.
#[inline]
fn respond<RB: Body + 'static>(
    response: Response<RB>,
    answered: Option<HandedOver>,
    mut meter: Box<Meter>,
) -> Response<MeteredBody<RB>> {
    let Some((request, outcome)) = answered else {
        return response.map(MeteredBody::unmetered);
    };
    let metrics = request.metrics();
    // The options themselves are on lines that most requests need not load.
    let at_meter = metrics.records_at_meter();
    if at_meter {
        if let Some(headers) = &metrics.headers {
            headers.observe(request.seconds_so_far());
        }
        if let (Some(sizes), Some(length)) = (&metrics.request_size, meter.request_length) {
            // Sizes beyond 2^53 bytes lose precision as f64; no request is that large.
            sizes.observe(length as f64);
        }
    }
    let status = response.status();
    let bodiless = meter.head
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    if bodiless {
        request.finish(Classification {
            code: Code::Status(status.as_u16()),
            size: outcome.size.or_else(|| response_size(&response)),
        });
        return response.map(MeteredBody::unmetered);
    }
    let length = response_size(&response);
    let streams = if at_meter {
        metrics.streams.as_ref()
    } else {
        None
    };
    if let Some(streams) = streams {
        // A long-lived route: the request ends at the headers, the stream at the body's end.
        request.finish(Classification {
            code: Code::Status(status.as_u16()),
            size: None,
        });
        meter.track_stream(OpenStream::open(streams), status.as_u16(), length);
        return response.map(|body| MeteredBody::metered(body, meter));
    }
    if held_whole::<RB>() {
        // Its one frame goes to the connection with the headers: the body ends now.
        request.finish(Classification {
            code: Code::Status(status.as_u16()),
            size: length,
        });
        return response.map(MeteredBody::unmetered);
    }
    meter.track_request(request, status.as_u16(), length);
    response.map(|body| MeteredBody::metered(body, meter))
}
