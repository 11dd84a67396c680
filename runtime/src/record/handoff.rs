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

thread_local! {
    /// Whether a meter is polling on this thread.
    static OPEN: Cell<bool> = const { Cell::new(false) };
    /// What was handed to the innermost meter polling on this thread.
    static HANDED: Cell<Option<HandedOver>> = const { Cell::new(None) };
}

/// A collector open on this thread, from [`Collector::open`] to [`Collector::close`]. It restores
/// the collector of an enclosing meter (there rarely is one), also when the poll between unwinds.
pub(crate) struct Collector {
    was_open: bool,
    enclosing: Option<HandedOver>,
    closed: bool,
}

impl Collector {
    /// Opens a collector: requests offered from now on, on this thread, are kept for it.
    #[inline]
    pub(crate) fn open() -> Collector {
        Collector {
            was_open: OPEN.try_with(|open| open.replace(true)).unwrap_or(false),
            enclosing: HANDED.try_with(Cell::take).ok().flatten(),
            closed: false,
        }
    }

    /// Closes the collector and returns what was handed to it.
    #[inline]
    pub(crate) fn close(mut self) -> Option<HandedOver> {
        self.restore()
    }

    #[inline]
    fn restore(&mut self) -> Option<HandedOver> {
        self.closed = true;
        let _ = OPEN.try_with(|open| open.set(self.was_open));
        HANDED
            .try_with(|handed| handed.replace(self.enclosing.take()))
            .ok()
            .flatten()
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        // Still open only when the poll unwound: what it collected is dropped with the rest.
        if !self.closed {
            drop(self.restore());
        }
    }
}

/// Hands `request` to the innermost collector open on this thread; gives it back when none is.
///
/// A handler that completes after another in the same poll (an instrumented handler calling
/// another) replaces it: the outer one answers the request, and the inner one is recorded now.
#[inline]
pub(crate) fn offer(request: InFlight, outcome: Classification) -> Option<InFlight> {
    if !OPEN.try_with(Cell::get).unwrap_or(false) {
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
        const INFO: HandlerInfo = HandlerInfo {
            name: "Handoff",
            method: "GET",
            path: "/",
            namespace: None,
            histogram: None,
            stream: false,
            time_to_headers: None,
            request_size: None,
            module_path: "test",
            crate_version: None,
            file: "handoff.rs",
            line: 1,
        };
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
        assert!(offer(request(), OK).is_none());
        let inner = nested.close();
        let outer = outer.close();
        assert!(offered);
        assert!(inner.is_some());
        assert!(outer.is_some());
        // Closed again: nothing is collected any more.
        assert!(offer(request(), OK).is_some());
    }
}
