//! A response body sent in paced frames, as a slow upstream or an export sends it: for the tests that measure
//! bodies to their end.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame};
use tokio::time::Sleep;

/// Bytes in every frame of a paced body.
pub const FRAME: usize = 1000;

/// A body of `frames` frames of [`FRAME`] bytes, each after a pause of `pace`; with `fail_at`, an error instead
/// of that frame.
pub struct Paced {
    left: usize,
    sent: usize,
    pace: Duration,
    fail_at: Option<usize>,
    pause: Option<Pin<Box<Sleep>>>,
}

impl Paced {
    /// `frames` frames of [`FRAME`] bytes, `pace` apart; with `fail_at`, an error instead of that frame.
    pub fn new(frames: usize, pace: Duration, fail_at: Option<usize>) -> Paced {
        Paced {
            left: frames,
            sent: 0,
            pace,
            fail_at,
            pause: None,
        }
    }
}

impl Body for Paced {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        let pace = self.pace;
        let pause = self
            .pause
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(pace)));
        if pause.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        self.pause = None;
        if self.fail_at == Some(self.sent) {
            self.left = 0;
            return Poll::Ready(Some(Err(std::io::Error::other("upstream failed"))));
        }
        self.left -= 1;
        self.sent += 1;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![b'x'; FRAME])))))
    }

    fn is_end_stream(&self) -> bool {
        self.left == 0
    }
}
