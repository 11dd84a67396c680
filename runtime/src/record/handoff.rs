//! How a handler's finished request reaches the body meter that waits for its response.
//!
//! The attribute's future cannot change what the handler returns, so it cannot wrap the response
//! body itself. A [`Metered`](crate::Metered) service polls the service it wraps with a
//! [`Collector`] open; an instrumented handler that completes during that poll, on this thread, hands
//! its started request over with [`offer`] instead of recording it, and the meter records it when
//! the response body ends. Without a meter (or for a handler run on another task) nobody
//! collects, and the handler records at once, when it returns its response.

use std::cell::Cell;

use crate::record::in_flight::InFlight;
use crate::record::outcome::Classification;

/// A request handed over, with what its handler's own output said.
pub(crate) type HandedOver = (InFlight, Classification);

/// What the innermost meter polling on this thread knows so far.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// No meter is polling.
    Closed,
    /// A meter is polling; no instrumented handler has started under it in this poll.
    Open,
    /// A meter is polling, and an instrumented handler started under it in this poll.
    Started,
}

thread_local! {
    /// Whether a meter is polling on this thread, and whether a handler started under it.
    static OPEN: Cell<State> = const { Cell::new(State::Closed) };
    /// What was handed to the innermost meter polling on this thread.
    static HANDED: Cell<Option<HandedOver>> = const { Cell::new(None) };
}

/// A collector open on this thread, from [`Collector::open`] to [`Collector::close`]. It restores
/// the collector of an enclosing meter (there rarely is one), also when the poll between unwinds.
pub(crate) struct Collector {
    enclosing_state: State,
    enclosing: Option<HandedOver>,
    closed: bool,
}

/// What a collector collected in one poll.
pub(crate) struct Collected {
    /// The request an instrumented handler handed over, if one completed.
    pub(crate) handed: Option<HandedOver>,
    /// Whether an instrumented handler started.
    pub(crate) started: bool,
}

impl Collector {
    /// Opens a collector: requests offered from now on, on this thread, are kept for it.
    #[inline]
    pub(crate) fn open() -> Collector {
        let enclosing_state = OPEN
            .try_with(|open| open.replace(State::Open))
            .unwrap_or(State::Closed);
        // Nothing is ever handed while no collector is open: only a nested one has to set aside
        // what its enclosing one collected so far.
        let enclosing = match enclosing_state {
            State::Closed => None,
            State::Open | State::Started => HANDED.try_with(Cell::take).ok().flatten(),
        };
        Collector {
            enclosing_state,
            enclosing,
            closed: false,
        }
    }

    /// Closes the collector and returns what it collected.
    #[inline]
    pub(crate) fn close(mut self) -> Collected {
        self.restore()
    }

    #[inline]
    fn restore(&mut self) -> Collected {
        self.closed = true;
        let state = OPEN
            .try_with(|open| open.replace(self.enclosing_state))
            .unwrap_or(State::Closed);
        let handed = HANDED
            .try_with(|handed| handed.replace(self.enclosing.take()))
            .ok()
            .flatten();
        Collected {
            handed,
            started: state == State::Started,
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        // Still open only when the poll unwound: what it collected is dropped with the rest.
        if !self.closed {
            drop(self.restore().handed);
        }
    }
}

/// Tells the innermost collector open on this thread, if any, that an instrumented handler started
/// under it: a request its meter started for the same route is then that handler's to count.
#[inline]
pub(crate) fn note_start() {
    let _ = OPEN.try_with(|open| {
        if open.get() == State::Open {
            open.set(State::Started);
        }
    });
}

/// Hands `request` to the innermost collector open on this thread; gives it back when none is.
///
/// A handler that completes after another in the same poll (an instrumented handler calling
/// another) replaces it: the outer one answers the request, and the inner one is recorded now.
#[inline]
pub(crate) fn offer(request: InFlight, outcome: Classification) -> Option<InFlight> {
    if OPEN.try_with(Cell::get).unwrap_or(State::Closed) == State::Closed {
        return Some(request);
    }
    let mut handed = Some((request, outcome));
    let displaced = HANDED
        .try_with(|slot| slot.replace(handed.take()))
        .ok()
        .flatten();
    if let Some((inner, outcome)) = displaced {
        inner.finish(outcome);
    }
    handed.map(|(request, _)| request)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::handler_info::HandlerInfo;
    use crate::record::metrics::HandlerMetrics;
    use crate::record::outcome::Code;
    use crate::record::settings::Settings;

    fn request() -> InFlight {
        const INFO: HandlerInfo = HandlerInfo::plain("Handoff", "GET", "/");
        let metrics = Box::leak(Box::new(HandlerMetrics::new(&INFO, &Settings::default())));
        InFlight::start(metrics)
    }

    const OK: Classification = Classification {
        code: Code::Status(200),
        size: Some(1),
    };

    #[test]
    fn without_a_collector_the_request_comes_back() {
        assert!(offer(request(), OK).is_some());
    }

    #[test]
    fn nested_collectors_each_get_their_own() {
        let outer = Collector::open();
        let offered = offer(request(), OK).is_none();
        let nested = Collector::open();
        note_start();
        assert!(offer(request(), OK).is_none());
        let inner = nested.close();
        let outer = outer.close();
        assert!(inner.started);
        assert!(!outer.started);
        let (inner, outer) = (inner.handed, outer.handed);
        assert!(offered);
        assert!(inner.is_some());
        assert!(outer.is_some());
        // Closed again: nothing is collected any more.
        assert!(offer(request(), OK).is_some());
    }
}
