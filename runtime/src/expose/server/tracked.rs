//! A service, its futures and its response bodies wrapped so that they report a connection's
//! [`Activity`]: a request runs from the call until its handler answers (or is dropped), and
//! every response frame sent counts as progress.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use http::{Request, Response};
use http_body::{Body, Frame, SizeHint};
use hyper::service::Service;
use pin_project_lite::pin_project;

use crate::expose::server::activity::Activity;

/// `inner`, reporting to one connection's activity.
#[derive(Debug)]
pub(crate) struct Tracked<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S> Tracked<S> {
    pub(crate) fn new(inner: S, activity: Arc<Activity>) -> Tracked<S> {
        Tracked { inner, activity }
    }
}

impl<S, R, B> Service<Request<R>> for Tracked<S>
where
    S: Service<Request<R>, Response = Response<B>>,
{
    type Response = Response<TrackedBody<B>>;
    type Error = S::Error;
    type Future = TrackedFuture<S::Future>;

    fn call(&self, request: Request<R>) -> Self::Future {
        self.activity.request_started();
        TrackedFuture {
            inner: self.inner.call(request),
            running: Some(Running(Some(self.activity.clone()))),
        }
    }
}

/// Counts a request as running for as long as it lives, or until [`Running::end`].
#[derive(Debug)]
struct Running(Option<Arc<Activity>>);

impl Running {
    /// Counts the request as ended, and hands on the connection's activity (for the response
    /// body: moved rather than cloned, which would take two locked instructions).
    fn end(mut self) -> Option<Arc<Activity>> {
        let activity = self.0.take()?;
        activity.request_ended();
        Some(activity)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(activity) = self.0.take() {
            activity.request_ended();
        }
    }
}

pin_project! {
    /// A handler's future, counted as a running request until it completes or is dropped.
    #[derive(Debug)]
    pub(crate) struct TrackedFuture<F> {
        #[pin]
        inner: F,
        running: Option<Running>,
    }
}

impl<F, B, E> Future for TrackedFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<TrackedBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let output = ready!(this.inner.poll(cx));
        let activity = this.running.take().and_then(Running::end);
        Poll::Ready(output.map(|response| {
            response.map(|body| TrackedBody {
                inner: body,
                activity,
            })
        }))
    }
}

pin_project! {
    /// A response body whose frames count as the connection's progress.
    #[derive(Debug)]
    pub(crate) struct TrackedBody<B> {
        #[pin]
        inner: B,
        activity: Option<Arc<Activity>>,
    }
}

impl<B: Body> Body for TrackedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = ready!(this.inner.poll_frame(cx));
        if let Some(activity) = this.activity {
            activity.progress();
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
