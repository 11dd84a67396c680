//! The future that wraps an instrumented handler's body and records how it ended.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use crate::primitives::clock;
#[cfg(feature = "exemplars")]
use crate::record::exemplars::{current_trace, TraceId};
use crate::record::handler::Handler;
use crate::record::metrics::HandlerMetrics;
use crate::record::outcome::{Classification, Code, Outcome};

pin_project! {
    /// An instrumented handler's future: same output, timed and counted.
    #[doc(hidden)]
    #[must_use = "futures do nothing unless polled"]
    pub struct Observed<F> {
        #[pin]
        inner: F,
        handler: &'static Handler,
        request: Option<InFlight>,
    }
}

/// Wraps a handler body; called by the code the attribute generates.
#[doc(hidden)]
pub fn observe<F>(handler: &'static Handler, inner: F) -> Observed<F>
where
    F: Future,
    F::Output: Outcome,
{
    Observed {
        inner,
        handler,
        request: None,
    }
}

impl<F> Future for Observed<F>
where
    F: Future,
    F::Output: Outcome,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let handler = *this.handler;
        // The request starts at the first poll: a future that is never polled never ran.
        let request = this
            .request
            .get_or_insert_with(|| InFlight::start(handler.metrics()));
        request.polling = true;
        let poll = this.inner.poll(cx);
        // Not reached when the body panics: the guard then drops with `polling` still set.
        request.polling = false;
        if let Poll::Ready(output) = &poll {
            if let Some(request) = this.request.take() {
                request.finish(output.classify());
            }
        }
        poll
    }
}

/// A started request. Dropping it records the request as cancelled (dropped while pending) or
/// panicked (unwound from a panic inside `poll`); [`InFlight::finish`] records a completed one.
struct InFlight {
    metrics: &'static HandlerMetrics,
    /// The process clock when the request started.
    started: u64,
    polling: bool,
    /// The trace the request runs in, read when it starts (the context is there at the first
    /// poll), for its exemplar.
    #[cfg(feature = "exemplars")]
    trace: Option<TraceId>,
}

impl InFlight {
    fn start(metrics: &'static HandlerMetrics) -> InFlight {
        metrics.start();
        InFlight {
            metrics,
            started: clock::nanos_now(),
            polling: false,
            #[cfg(feature = "exemplars")]
            trace: current_trace(),
        }
    }

    /// Records the request, completed with `outcome`.
    fn finish(self, outcome: Classification) {
        self.record(outcome);
        // Recorded: the drop would record it again. Only references and numbers are forgotten.
        std::mem::forget(self);
    }

    fn record(&self, outcome: Classification) {
        let ended = clock::nanos_now();
        self.metrics
            .record(ended.saturating_sub(self.started), ended, outcome);
        #[cfg(feature = "exemplars")]
        if let Some(trace) = self.trace {
            self.metrics
                .record_exemplar(trace, ended.saturating_sub(self.started), outcome.code);
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.record(Classification {
            code: if self.polling {
                Code::Panic
            } else {
                Code::Cancelled
            },
            size: None,
        });
    }
}
