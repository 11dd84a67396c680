//! What a [`Metered`](crate::Metered) service keeps of one request, on the heap, from the call
//! of the service it wraps to the end of the response body: first what its future collects from
//! the instrumented handlers it polls, then, moved onto the body, what the body's end records.
//!
//! One allocation serves both, and only requests that need it have one: a response whose body
//! is held whole, with nothing for the meter, passes through without it. The future and the body
//! then carry a pointer, so they stay the size of what they wrap: each is moved several times on
//! its way to the connection, and a move copies it whole.

use crate::record::handoff::{Collected, HandedOver};
use crate::record::in_flight::InFlight;
use crate::record::outcome::{Classification, Code};
use crate::record::streams::OpenStream;

/// One metered request's state; see the module's documentation.
#[derive(Debug)]
pub(crate) struct Meter {
    /// A `HEAD` request: its response carries no body.
    pub(crate) head: bool,
    /// The request's `Content-Length`, for handlers that record request sizes.
    pub(crate) request_length: Option<u64>,
    /// What the handlers under the meter handed over while it polled them.
    pub(crate) collected: Collected,
    /// The meter's own request, recorded when no instrumented handler starts: one that does
    /// counts the request itself (answered, failed or cancelled).
    pub(crate) own: Option<InFlight>,
    /// From the response on: what the body's end records.
    tracked: Option<Tracked>,
    /// The response's status, recorded when the body ends.
    status: u16,
    /// Bytes of data sent so far.
    sent: u64,
    /// The body's length when it is known in advance (an exact size hint, or `Content-Length`):
    /// a body that has sent that much has ended, even if it is never polled again.
    length: Option<u64>,
}

/// What a body's end records.
#[derive(Debug)]
enum Tracked {
    /// The request, counted when its body ends.
    Request(InFlight),
    /// A long-lived route's stream, counted when its request was (at the headers).
    Stream(OpenStream),
}

impl Meter {
    /// The state of a request the meter collects for; `body_held_whole` tells the handlers
    /// whether the response's body ends as it is returned.
    pub(crate) fn new(
        head: bool,
        request_length: Option<u64>,
        body_held_whole: bool,
        own: Option<InFlight>,
    ) -> Box<Meter> {
        Box::new(Meter {
            head,
            request_length,
            collected: Collected {
                body_held_whole,
                ..Collected::default()
            },
            own,
            tracked: None,
            status: 0,
            sent: 0,
            length: None,
        })
    }

    /// The request the response answers, once the service has returned it: the one a handler
    /// handed over, else the meter's own (with nothing known of its outcome).
    pub(crate) fn take_answered(&mut self) -> Option<HandedOver> {
        self.collected.handed.take().or_else(|| {
            self.own
                .take()
                .map(|own| (own, Classification::UNCLASSIFIED))
        })
    }

    /// From now on, records `request`, answered with `status`, at the body's end.
    pub(crate) fn track_request(&mut self, request: InFlight, status: u16, length: Option<u64>) {
        self.track(Tracked::Request(request), status, length);
    }

    /// From now on, closes `stream` at the body's end.
    pub(crate) fn track_stream(&mut self, stream: OpenStream, status: u16, length: Option<u64>) {
        self.track(Tracked::Stream(stream), status, length);
    }

    fn track(&mut self, tracked: Tracked, status: u16, length: Option<u64>) {
        self.tracked = Some(tracked);
        self.status = status;
        self.length = length;
        // An empty body of known length is over before it starts.
        if length == Some(0) {
            self.finish(Code::Status(status));
        }
    }

    /// Whether the body's end still has something to record.
    pub(crate) fn tracks(&self) -> bool {
        self.tracked.is_some()
    }

    /// Counts `bytes` of data sent.
    pub(crate) fn add_sent(&mut self, bytes: u64) {
        self.sent += bytes;
    }

    /// Whether the body has sent the whole length known in advance: bodies of known length may
    /// never be polled past their last frame.
    pub(crate) fn sent_all(&self) -> bool {
        self.length.is_some_and(|length| self.sent >= length)
    }

    /// Records the body's end, with the response's status.
    pub(crate) fn ended(&mut self) {
        self.finish(Code::Status(self.status));
    }

    /// Records the end of a body that failed.
    pub(crate) fn failed(&mut self) {
        self.finish(Code::BodyError);
    }

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

impl Drop for Meter {
    /// A body dropped before its end: the client went away. (A request still collected, when
    /// the future is dropped before its response, records itself as cancelled.)
    fn drop(&mut self) {
        self.finish(Code::Aborted);
    }
}
