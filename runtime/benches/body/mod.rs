//! What `Metered`, the wrapper that measures to the end of the body, costs per request: the same
//! hyper service of an instrumented handler with and without it, for a `Full` body and for a body
//! of 10 frames, each request's body drained; and a wrapper that does nothing, the floor of any.
//!
//! Criterion measures each of them in turn; [`paired_costs`] measures each difference again in
//! paired rounds, which the drift of the machine between two benchmarks does not enter.

use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::pin::{pin, Pin};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use criterion::Criterion;
use http_body_util::{Empty, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};

use crate::paired::paired;
use crate::{answer, complete, Reply, BODY};

/// A body of ten small frames, all ready at once: a streamed answer without the waiting.
struct TenFrames(u8);

impl http_body::Body for TenFrames {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        if self.0 == 0 {
            return Poll::Ready(None);
        }
        self.0 -= 1;
        let frame = http_body::Frame::data(Bytes::from_static(b"{\"id\":\"10000\"}\n"));
        Poll::Ready(Some(Ok(frame)))
    }
}

#[routemeter::instrumented(name = "Whole", route = "GET /whole")]
async fn whole(body: &'static [u8]) -> Reply {
    answer(body)
}

#[routemeter::instrumented(name = "Frames", route = "GET /frames")]
async fn frames() -> Result<Response<TenFrames>, Infallible> {
    Ok(Response::new(TenFrames(10)))
}

/// The example's answer, from the instrumented handler, to a request of the benchmark.
fn whole_request(_: Request<Empty<Bytes>>) -> impl Future<Output = Reply> {
    whole(black_box(BODY))
}

/// A streamed answer, from the instrumented handler, to a request of the benchmark.
fn frames_request(
    _: Request<Empty<Bytes>>,
) -> impl Future<Output = Result<Response<TenFrames>, Infallible>> {
    frames()
}

/// One request of the benchmark: `service` called, its response's body drained.
fn call_and_drain<S, RB>(service: &S)
where
    S: hyper::service::Service<Request<Empty<Bytes>>, Response = Response<RB>>,
    RB: http_body::Body,
{
    drain(complete(service.call(Request::new(Empty::new()))));
}

/// Polls a response's body until it ends; every frame of the benchmarked bodies is ready at once.
fn drain<B: http_body::Body, E>(response: Result<Response<B>, E>) {
    let Ok(response) = response else {
        return;
    };
    let mut body = pin!(response.into_body());
    let mut context = Context::from_waker(Waker::noop());
    while let Poll::Ready(Some(frame)) = body.as_mut().poll_frame(&mut context) {
        black_box(frame.is_ok());
    }
}

pin_project_lite::pin_project! {
    /// What any service wrapper that passes the response body through costs at least: one more
    /// future around the service's, one more body around its body, nothing recorded. The floor
    /// under `Metered`'s figure.
    struct PassFuture<F> {
        #[pin]
        inner: F,
    }
}

pin_project_lite::pin_project! {
    struct PassBody<B> {
        #[pin]
        inner: B,
    }
}

struct Pass<S>(S);

impl<S, B, RB> hyper::service::Service<Request<B>> for Pass<S>
where
    S: hyper::service::Service<Request<B>, Response = Response<RB>>,
{
    type Response = Response<PassBody<RB>>;
    type Error = S::Error;
    type Future = PassFuture<S::Future>;

    fn call(&self, request: Request<B>) -> Self::Future {
        PassFuture {
            inner: self.0.call(request),
        }
    }
}

impl<F, RB, E> Future for PassFuture<F>
where
    F: Future<Output = Result<Response<RB>, E>>,
{
    type Output = Result<Response<PassBody<RB>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().inner.poll(cx) {
            Poll::Ready(result) => {
                Poll::Ready(result.map(|response| response.map(|inner| PassBody { inner })))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<B: http_body::Body> http_body::Body for PassBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<B::Data>, B::Error>>> {
        self.project().inner.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// The services compared, each answering with the same instrumented handler.
struct Services<W, F> {
    /// The handler with a `Full` body, alone.
    whole: W,
    /// The same behind a wrapper that does nothing.
    passed: Pass<W>,
    /// The same behind `Metered`.
    metered: routemeter::Metered<W>,
    /// The handler with a 10-frame body, alone.
    frames: F,
    /// The same behind `Metered`.
    frames_metered: routemeter::Metered<F>,
}

/// A service of the benchmark's requests answering with bodies of type `RB`.
trait Answers<RB>: hyper::service::Service<Request<Empty<Bytes>>, Response = Response<RB>> {}

impl<S, RB> Answers<RB> for S where
    S: hyper::service::Service<Request<Empty<Bytes>>, Response = Response<RB>>
{
}

/// The services, with routemeter installed.
fn services() -> Services<impl Answers<Full<Bytes>>, impl Answers<TenFrames>> {
    routemeter::install().expect("install");
    Services {
        whole: service_fn(whole_request),
        passed: Pass(service_fn(whole_request)),
        metered: routemeter::Metered::new(service_fn(whole_request)),
        frames: service_fn(frames_request),
        frames_metered: routemeter::Metered::new(service_fn(frames_request)),
    }
}

/// The `body` group: each service measured by criterion, one after the other.
pub fn wrapper(c: &mut Criterion) {
    let services = services();
    let mut group = c.benchmark_group("body");
    group.bench_function("full", |b| b.iter(|| call_and_drain(&services.whole)));
    group.bench_function("full_passed", |b| {
        b.iter(|| call_and_drain(&services.passed))
    });
    group.bench_function("full_metered", |b| {
        b.iter(|| call_and_drain(&services.metered))
    });
    group.bench_function("frames", |b| b.iter(|| call_and_drain(&services.frames)));
    group.bench_function("frames_metered", |b| {
        b.iter(|| call_and_drain(&services.frames_metered))
    });
    group.finish();
}

/// What each wrapper adds per request, in nanoseconds, from paired rounds (see [`paired`]):
/// `Metered` around the service with a `Full` body; the do-nothing wrapper around the same;
/// `Metered` over the do-nothing wrapper, both around the same (what it does beyond being a
/// wrapper); `Metered` around the service with a 10-frame body.
pub fn paired_costs() -> [f64; 4] {
    let Services {
        whole,
        passed,
        metered,
        frames,
        frames_metered,
    } = services();
    [
        paired(|| call_and_drain(&whole), || call_and_drain(&metered)),
        paired(|| call_and_drain(&whole), || call_and_drain(&passed)),
        paired(|| call_and_drain(&passed), || call_and_drain(&metered)),
        paired(
            || call_and_drain(&frames),
            || call_and_drain(&frames_metered),
        ),
    ]
}
