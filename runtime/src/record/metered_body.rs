//! A response body that records its request when its last frame has gone out, or when it is
//! dropped before then.

use std::any::TypeId;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use http_body::{Body, Frame, SizeHint};
use http_body_util::Full;
use pin_project_lite::pin_project;

use crate::record::meter::Meter;

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
        // What its end records, when it records anything (see `record::meter`).
        end: Option<Box<Meter>>,
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
    /// A body that records nothing: its request was recorded at the headers, or no instrumented
    /// handler answered it.
    pub(crate) fn unmetered(inner: B) -> MeteredBody<B> {
        MeteredBody { inner, end: None }
    }

    /// A body whose end `meter` records.
    pub(crate) fn metered(inner: B, meter: Box<Meter>) -> MeteredBody<B> {
        MeteredBody {
            inner,
            end: Some(meter),
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
        let Some(end) = this.end.as_mut().filter(|end| end.tracks()) else {
            return this.inner.poll_frame(cx);
        };
        let poll = this.inner.as_mut().poll_frame(cx);
        match &poll {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    end.add_sent(data.remaining() as u64);
                }
                if end.sent_all() || this.inner.is_end_stream() {
                    end.ended();
                }
            }
            Poll::Ready(Some(Err(_))) => end.failed(),
            Poll::Ready(None) => end.ended(),
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
