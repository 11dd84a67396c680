//! A response body that records its request when its last frame has gone out, or when it is
//! dropped before then.

use std::any::TypeId;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use http_body::{Body, Frame, SizeHint};
use http_body_util::Full;
use pin_project_lite::pin_project;

use crate::record::in_flight::InFlight;
use crate::record::outcome::{Classification, Code};
use crate::record::streams::OpenStream;

pin_project! {
    /// The body of a response from a [`Metered`](crate::Metered) service: the same frames, with
    /// the request recorded at the body's end. The duration then runs to the last frame, the
    /// size is the bytes of data frames sent, and a body dropped before its end counts as
    /// `aborted` (or `body_error` when it failed). The body of a long-lived route
    /// (`stream = true`) closes its stream instead.
    #[derive(Debug)]
    pub struct MeteredBody<B> {
        #[pin]
        inner: B,
        // Boxed: the response carries the body through several moves on its way to the
        // connection, which cost more with the state inline than its allocation does.
        end: Option<Box<BodyEnd>>,
    }
}

/// What a body's end records.
#[derive(Debug)]
enum Tracked {
    /// The request, counted when its body ends.
    Request(InFlight),
    /// A long-lived route's stream, counted when its request was (at the headers).
    Stream(OpenStream),
}

/// A request or stream waiting for its body's end.
#[derive(Debug)]
struct BodyEnd {
    tracked: Option<Tracked>,
    /// The response's status, recorded when the body ends.
    status: u16,
    /// Bytes of data sent so far.
    sent: u64,
    /// The body's length when it is known in advance (an exact size hint, or `Content-Length`):
    /// a body that has sent that much has ended, even if it is never polled again.
    length: Option<u64>,
}

impl BodyEnd {
    fn finish(&mut self, code: Code) {
        match self.tracked.take() {
            Some(Tracked::Request(request)) => request.finish(Classification {
                code,
                size: Some(self.sent),
            }),
            Some(Tracked::Stream(stream)) => stream.close(self.sent),
            None => {}
        }
    }
}

impl Drop for BodyEnd {
    fn drop(&mut self) {
        self.finish(Code::Aborted);
    }
}

/// Whether a body of type `B` holds its whole content in memory (`Full<Bytes>`, `String`): the
/// connection takes it in one frame, with the headers, so its end is when its response is
/// returned, and it is recorded then rather than followed frame by frame.
pub(crate) fn held_whole<B: 'static>() -> bool {
    let body = TypeId::of::<B>();
    body == TypeId::of::<Full<Bytes>>() || body == TypeId::of::<String>()
}

impl<B> MeteredBody<B> {
    /// A body that records nothing: the response of a route no instrumented handler answered.
    pub(crate) fn unmetered(inner: B) -> MeteredBody<B> {
        MeteredBody { inner, end: None }
    }

    /// A body that records `request`, answered with `status`, at its end.
    pub(crate) fn request(inner: B, request: InFlight, status: u16, length: Option<u64>) -> Self {
        MeteredBody::tracking(inner, Tracked::Request(request), status, length)
    }

    /// A body that closes `stream` at its end.
    pub(crate) fn stream(inner: B, stream: OpenStream, status: u16, length: Option<u64>) -> Self {
        MeteredBody::tracking(inner, Tracked::Stream(stream), status, length)
    }

    fn tracking(inner: B, tracked: Tracked, status: u16, length: Option<u64>) -> Self {
        let mut end = BodyEnd {
            tracked: Some(tracked),
            status,
            sent: 0,
            length,
        };
        // An empty body of known length is over before it starts.
        if length == Some(0) {
            end.finish(Code::Status(status));
        }
        MeteredBody {
            inner,
            end: Some(Box::new(end)),
        }
    }
}

impl<B: Body> Body for MeteredBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        // Followed only while it tracks something; otherwise passed through untouched.
        let Some(end) = this.end.as_mut().filter(|end| end.tracked.is_some()) else {
            return this.inner.poll_frame(cx);
        };
        let poll = this.inner.as_mut().poll_frame(cx);
        match &poll {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    end.sent += data.remaining() as u64;
                }
                // Bodies of known length may never be polled past their last frame.
                let complete = end.length.is_some_and(|length| end.sent >= length);
                if complete || this.inner.is_end_stream() {
                    end.finish(Code::Status(end.status));
                }
            }
            Poll::Ready(Some(Err(_))) => end.finish(Code::BodyError),
            Poll::Ready(None) => end.finish(Code::Status(end.status)),
            Poll::Pending => {}
        }
        poll
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
