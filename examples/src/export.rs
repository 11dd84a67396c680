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

/// The longest pause between frames a client may ask for: a slow export is a demonstration, not a way to hold a
/// connection open for free.
pub(crate) const MAX_PACE: Duration = Duration::from_secs(1);

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

/// The pause asked for by `?pace_ms=N` in `query`: none without it, `Err` with a message for a value that is not a
/// whole number of milliseconds up to [`MAX_PACE`].
pub(crate) fn pace(query: Option<&str>) -> Result<Duration, String> {
    let Some(value) = query
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find_map(|(name, value)| (name == "pace_ms").then_some(value))
    else {
        return Ok(Duration::ZERO);
    };
    let limit = MAX_PACE.as_millis();
    match value.parse::<u64>() {
        Ok(millis) if u128::from(millis) <= limit => Ok(Duration::from_millis(millis)),
        _ => Err(format!(
            "pace_ms must be a whole number of milliseconds from 0 to {limit}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pace_is_read_from_the_query() {
        assert_eq!(pace(None), Ok(Duration::ZERO));
        assert_eq!(pace(Some("x=1")), Ok(Duration::ZERO));
        assert_eq!(pace(Some("a=b&pace_ms=25")), Ok(Duration::from_millis(25)));
        assert!(pace(Some("pace_ms=-1")).is_err());
        assert!(pace(Some("pace_ms=1001")).is_err());
        assert!(pace(Some("pace_ms=")).is_err());
    }
}
