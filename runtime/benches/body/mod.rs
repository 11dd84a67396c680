//! What `Metered`, the wrapper that measures to the end of the body, costs per request: the same
//! hyper service of an instrumented handler with and without it, for a `Full` body and for a body
//! of 10 frames, each request's body drained; and a wrapper that does nothing, the floor of any.
//!
//! Criterion measures each of them in turn. Since the machine can drift between two of its
//! benchmarks by more than the wrapper costs, [`paired_costs`] also measures each difference in
//! rounds that time both services back to back.

use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::pin::{pin, Pin};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use bytes::Bytes;
use criterion::Criterion;
use http_body_util::Empty;
use hyper::service::service_fn;
use hyper::{Request, Response};

use crate::{answer, complete, Reply};

/// The example's answer.
const BODY: &[u8] = b"{\"id\":\"10000\",\"name\":\"Person_0\"}";

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

pub fn wrapper(c: &mut Criterion) {
    routemeter::install().expect("install");
    let mut group = c.benchmark_group("body");
    let whole = service_fn(whole_request);
    group.bench_function("full", |b| b.iter(|| call_and_drain(&whole)));
    let passed = Pass(service_fn(whole_request));
    group.bench_function("full_passed", |b| b.iter(|| call_and_drain(&passed)));
    let metered = routemeter::Metered::new(service_fn(whole_request));
    group.bench_function("full_metered", |b| b.iter(|| call_and_drain(&metered)));
    let frames = service_fn(frames_request);
    group.bench_function("frames", |b| b.iter(|| call_and_drain(&frames)));
    let metered = routemeter::Metered::new(service_fn(frames_request));
    group.bench_function("frames_metered", |b| b.iter(|| call_and_drain(&metered)));
    group.finish();
}

/// Set, the benchmark executable prints [`paired_costs`] alone and exits.
pub const PAIRED_ONLY: &str = "ROUTEMETER_BENCH_WRAPPERS";

/// What each wrapper adds per request, from paired rounds.
pub struct PairedCosts {
    /// `Metered` around the service with a `Full` body.
    pub full: Quartiles,
    /// The do-nothing wrapper around the same.
    pub passed: Quartiles,
    /// `Metered` around the service with a 10-frame body.
    pub frames: Quartiles,
}

/// The median and quartiles of the nanoseconds a wrapper adds per request over the rounds.
pub struct Quartiles {
    pub median: f64,
    pub low: f64,
    pub high: f64,
}

/// Rounds of each pair; a round times each service for [`CALLS_PER_ROUND`] requests.
const ROUNDS: usize = 101;
const CALLS_PER_ROUND: u32 = 20_000;

/// Measures each wrapper's cost in [`ROUNDS`] rounds that time the service alone and wrapped
/// back to back (which first alternates), so that both see the machine in the same state.
pub fn paired_costs() -> PairedCosts {
    routemeter::install().expect("install");
    let whole = service_fn(whole_request);
    let passed = Pass(service_fn(whole_request));
    let metered = routemeter::Metered::new(service_fn(whole_request));
    let frames = service_fn(frames_request);
    let frames_metered = routemeter::Metered::new(service_fn(frames_request));
    PairedCosts {
        full: paired(|| call_and_drain(&whole), || call_and_drain(&metered)),
        passed: paired(|| call_and_drain(&whole), || call_and_drain(&passed)),
        frames: paired(
            || call_and_drain(&frames),
            || call_and_drain(&frames_metered),
        ),
    }
}

/// What `wrapped` costs per call over `alone`, round by round.
fn paired(alone: impl Fn(), wrapped: impl Fn()) -> Quartiles {
    fn per_call(call: &impl Fn()) -> f64 {
        let started = Instant::now();
        for _ in 0..CALLS_PER_ROUND {
            call();
        }
        started.elapsed().as_nanos() as f64 / f64::from(CALLS_PER_ROUND)
    }
    // A first round warms both up and is not counted.
    per_call(&alone);
    per_call(&wrapped);
    let mut differences: Vec<f64> = (0..ROUNDS)
        .map(|round| {
            if round % 2 == 0 {
                let alone = per_call(&alone);
                per_call(&wrapped) - alone
            } else {
                let wrapped = per_call(&wrapped);
                wrapped - per_call(&alone)
            }
        })
        .collect();
    differences.sort_by(f64::total_cmp);
    let at =
        |quantile: f64| differences[((differences.len() - 1) as f64 * quantile).round() as usize];
    Quartiles {
        median: at(0.5),
        low: at(0.25),
        high: at(0.75),
    }
}

impl PairedCosts {
    /// Prints the three costs.
    pub fn print(&self) {
        for (what, cost) in [
            ("Metered, Full body", &self.full),
            ("a do-nothing wrapper, Full", &self.passed),
            ("Metered, 10-frame body", &self.frames),
        ] {
            println!(
                "  {what:<28} {:>6.1} ns per request in paired rounds (quartiles {:.1} to {:.1})",
                cost.median, cost.low, cost.high
            );
        }
    }
}
