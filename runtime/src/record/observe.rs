//! The future that wraps an instrumented handler's body and records how it ended.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use crate::record::classify::Verdict;
use crate::record::handler::Handler;
use crate::record::handoff;
use crate::record::in_flight::InFlight;
use crate::record::outcome::Code;

pin_project! {
    /// An instrumented handler's future: same output, timed and counted.
    #[doc(hidden)]
    #[must_use = "futures do nothing unless polled"]
    pub struct Observed<F, C> {
        #[pin]
        inner: F,
        handler: &'static Handler,
        // Reads the output's status and size: picked by the expansion, where the output's type
        // is known (see `record::classify`).
        classify: C,
        request: Option<InFlight>,
    }
}

/// Wraps a handler body; called by the code the attribute generates.
#[doc(hidden)]
pub fn observe<F, C, V>(handler: &'static Handler, inner: F, classify: C) -> Observed<F, C>
where
    F: Future,
    C: Fn(&F::Output) -> V,
    V: Verdict,
{
    Observed {
        inner,
        handler,
        classify,
        request: None,
    }
}

impl<F, C, V> Future for Observed<F, C>
where
    F: Future,
    C: Fn(&F::Output) -> V,
    V: Verdict,
{
    type Output = F::Output;

    // Inlined into the handler's own future, in the user's crate: a call costs a frame of its
    // own for the output, about 15 instructions a request.
    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let handler = *this.handler;
        // The request starts at the first poll: a future that is never polled never ran.
        let request = this.request.get_or_insert_with(|| {
            handoff::note_start();
            InFlight::start(handler.metrics())
        });
        request.polling = true;
        let poll = this.inner.poll(cx);
        // Not reached when the body panics: the guard then drops with `polling` still set.
        request.polling = false;
        if let Poll::Ready(output) = &poll {
            if let Some(request) = this.request.take() {
                let outcome = (this.classify)(output).into_classification();
                // A response goes on to a body meter when one waits for it; an error is final.
                let unclaimed = match outcome.code {
                    Code::Error => Some(request),
                    _ => handoff::offer(request, outcome),
                };
                if let Some(request) = unclaimed {
                    request.finish(outcome);
                }
            }
        }
        poll
    }
}
