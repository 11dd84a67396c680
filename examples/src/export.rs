//! `GET /accounts/export`: every stored account as newline-delimited JSON, one body frame per account, so that a
//! slow client or `?pace_ms=N` (a pause between frames, as a slow upstream would make) keeps the body going for as
//! long as a real export would.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::time::Sleep;

/// The pause of `?pace_ms=N`, a rule shared with the axum example.
pub(crate) use accountservice_core::pace::pace;

/// The export's body: the accounts' JSON lines, sent one per frame.
pub struct AccountLines {
    lines: VecDeque<Bytes>,
    /// What is left to send, in bytes: the exact length the body announces.
    left: u64,
    pace: Duration,
    /// The pause before the next frame, once the first has gone out.
    pause: Option<Pin<Box<Sleep>>>,
    started: bool,
}

impl AccountLines {
    /// A body of `lines` (each a JSON document ending in a newline), `pace` apart.
    pub(crate) fn new(lines: VecDeque<Bytes>, pace: Duration) -> AccountLines {
        let left = lines.iter().map(|line| line.len() as u64).sum();
        AccountLines {
            lines,
            left,
            pace,
            pause: None,
            started: false,
        }
    }
}

impl std::fmt::Debug for AccountLines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountLines")
            .field("lines", &self.lines.len())
            .field("pace", &self.pace)
            .finish_non_exhaustive()
    }
}

impl Body for AccountLines {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.lines.is_empty() {
            return Poll::Ready(None);
        }
        if self.started && !self.pace.is_zero() {
            let pace = self.pace;
            let pause = self
                .pause
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(pace)));
            if pause.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.pause = None;
        }
        self.started = true;
        let Some(line) = self.lines.pop_front() else {
            return Poll::Ready(None);
        };
        self.left -= line.len() as u64;
        Poll::Ready(Some(Ok(Frame::data(line))))
    }

    fn is_end_stream(&self) -> bool {
        self.lines.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.left)
    }
}
