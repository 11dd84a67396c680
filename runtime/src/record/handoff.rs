//! How a handler's finished request reaches the body meter that waits for its response.
//!
//! The attribute's future cannot change what the handler returns, so it cannot wrap the response
//! body itself. A [`Metered`](crate::Metered) service polls the service it wraps inside
//! [`collecting`]; an instrumented handler that completes during that poll, on this thread, hands
//! its started request over with [`offer`] instead of recording it, and the meter records it when
//! the response body ends. Without a meter (or for a handler run on another task) nobody
//! collects, and the handler records at once, when it returns its response.

use std::cell::RefCell;

use crate::record::in_flight::InFlight;
use crate::record::outcome::Classification;

/// A request handed over, with what its handler's own output said.
pub(crate) type HandedOver = (InFlight, Classification);

thread_local! {
    /// One entry per meter polling on this thread, innermost last.
    static COLLECTORS: RefCell<Vec<Option<HandedOver>>> = const { RefCell::new(Vec::new()) };
}

/// Runs `poll` with a collector open, and returns what was handed over during it.
pub(crate) fn collecting<R>(poll: impl FnOnce() -> R) -> (R, Option<HandedOver>) {
    let opened = COLLECTORS
        .try_with(|collectors| collectors.borrow_mut().push(None))
        .is_ok();
    // Closes the collector even when `poll` unwinds, so a later poll does not find it open.
    struct Close(bool);
    impl Drop for Close {
        fn drop(&mut self) {
            if self.0 {
                let _ = COLLECTORS.try_with(|collectors| collectors.borrow_mut().pop());
            }
        }
    }
    let close = Close(opened);
    let result = poll();
    let handed = match opened {
        true => COLLECTORS
            .try_with(|collectors| collectors.borrow_mut().last_mut().and_then(Option::take))
            .ok()
            .flatten(),
        false => None,
    };
    drop(close);
    (result, handed)
}

/// Hands `request` to the innermost collector open on this thread; gives it back when none is.
///
/// A handler that completes after another in the same poll (an instrumented handler calling
/// another) replaces it: the outer one answers the request, and the inner one is recorded now.
pub(crate) fn offer(request: InFlight, outcome: Classification) -> Option<InFlight> {
    let mut handed = Some((request, outcome));
    let displaced = COLLECTORS
        .try_with(|collectors| {
            let mut collectors = collectors.borrow_mut();
            let slot = collectors.last_mut()?;
            std::mem::replace(slot, handed.take())
        })
        .ok()
        .flatten();
    if let Some((inner, outcome)) = displaced {
        inner.finish(outcome);
    }
    handed.map(|(request, _)| request)
}
