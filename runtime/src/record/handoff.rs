//! How a handler's finished request reaches the body meter that waits for its response.
//!
//! The attribute's future cannot change what the handler returns, so it cannot wrap the response
//! body itself. A [`Metered`](crate::Metered) service polls the service it wraps with a
//! collector of its own open ([`collect`]); an instrumented handler that completes during that
//! poll, on this thread, hands its started request over with [`offer`] instead of recording it,
//! and the meter records it when the response body ends. Without a meter (or for a handler run
//! on another task) nobody collects, and the handler records at once, when it returns its
//! response.

use std::cell::Cell;
use std::ptr;

use crate::record::in_flight::InFlight;
use crate::record::outcome::Classification;

/// A request handed over, with what its handler's own output said.
pub(crate) type HandedOver = (InFlight, Classification);

/// What a meter collects while it polls the service it wraps; it lives in the request's meter
/// state (`record::meter`).
#[derive(Debug, Default)]
pub(crate) struct Collected {
    /// The request an instrumented handler handed over, if one completed.
    pub(crate) handed: Option<HandedOver>,
    /// Whether an instrumented handler started.
    pub(crate) started: bool,
    /// Whether the response's body is held whole in memory (`metered_body::held_whole`): it ends
    /// when the response is returned, so a handler with nothing to record at the meter records
    /// itself then.
    pub(crate) body_held_whole: bool,
}

thread_local! {
    /// Where the innermost meter polling on this thread collects; null when none is. A plain
    /// pointer, so that reading it is one load: no destructor to register, nothing to move.
    static INNERMOST: Cell<*mut Collected> = const { Cell::new(ptr::null_mut()) };
}

/// Runs `poll` with `into` as this thread's innermost collector: requests offered meanwhile, on
/// this thread, are kept there. The enclosing collector (there rarely is one) is restored after,
/// also when `poll` unwinds.
#[inline]
pub(crate) fn collect<R>(into: &mut Collected, poll: impl FnOnce() -> R) -> R {
    /// Puts the enclosing collector back when dropped.
    struct Restore(*mut Collected);
    impl Drop for Restore {
        #[inline]
        fn drop(&mut self) {
            let _ = INNERMOST.try_with(|innermost| innermost.set(self.0));
        }
    }
    let into: *mut Collected = into;
    let Ok(enclosing) = INNERMOST.try_with(|innermost| innermost.replace(into)) else {
        return poll(); // the thread is exiting: nobody collects
    };
    let _restore = Restore(enclosing);
    poll()
}

/// Runs `write` on the innermost collector open on this thread, if any; gives `None` back when
/// there is none.
#[inline]
fn with_innermost<R>(write: impl FnOnce(&mut Collected) -> R) -> Option<R> {
    let innermost = INNERMOST.try_with(Cell::get).unwrap_or(ptr::null_mut());
    // SAFETY: a non-null pointer is set only by `collect`, for as long as its `poll` runs on
    // this thread, to the `Collected` it was given, which it does not touch meanwhile; this code
    // runs inside that `poll` (nothing here stores the reference or calls back into a meter).
    unsafe { innermost.as_mut() }.map(write)
}

/// Tells the innermost collector open on this thread, if any, that an instrumented handler started
/// under it: a request its meter started for the same route is then that handler's to count.
#[inline]
pub(crate) fn note_start() {
    with_innermost(|collected| collected.started = true);
}

/// Hands `request` to the innermost collector open on this thread; gives it back when none is,
/// or when that collector's response ends as it is returned and the meter has nothing to
/// record but what the handler records itself.
///
/// A handler that completes after another under the same meter (an instrumented handler calling
/// another) replaces it: the outer one answers the request, and the inner one is recorded now.
#[inline]
pub(crate) fn offer(request: InFlight, outcome: Classification) -> Option<InFlight> {
    let mut request = Some(request);
    let displaced = with_innermost(|collected| {
        let metrics = request.as_ref()?.metrics();
        if collected.body_held_whole && !metrics.records_at_meter() {
            return None;
        }
        let handed = request.take().map(|request| (request, outcome));
        std::mem::replace(&mut collected.handed, handed)
    });
    if let Some((inner, outcome)) = displaced.flatten() {
        inner.finish(outcome);
    }
    request
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
        let (mut outer, mut inner) = (Collected::default(), Collected::default());
        collect(&mut outer, || {
            assert!(offer(request(), OK).is_none());
            collect(&mut inner, || {
                note_start();
                assert!(offer(request(), OK).is_none());
            });
        });
        assert!(inner.started);
        assert!(!outer.started);
        assert!(inner.handed.is_some());
        assert!(outer.handed.is_some());
        // Closed again: nothing is collected any more.
        assert!(offer(request(), OK).is_some());
    }

    #[test]
    fn a_poll_that_unwinds_closes_its_collector() {
        let mut collected = Collected::default();
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            collect(&mut collected, || panic!("the inner service panicked"));
        }));
        assert!(unwound.is_err());
        assert!(offer(request(), OK).is_some());
    }
}
