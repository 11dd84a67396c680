//! The future that wraps an instrumented handler's body and records how it ended.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Instant;

use pin_project_lite::pin_project;

use crate::clock;
use crate::handler::{HandlerMetrics, HandlerSite};
use crate::outcome::{Classification, Code, Outcome};

pin_project! {
    /// An instrumented handler's future: same output, timed and counted.
    #[doc(hidden)]
    #[must_use = "futures do nothing unless polled"]
    pub struct Observed<F> {
        #[pin]
        inner: F,
        site: &'static HandlerSite,
        request: Option<InFlight>,
    }
}

/// Wraps a handler body; called by the code the attribute generates.
#[doc(hidden)]
pub fn observe<F>(site: &'static HandlerSite, inner: F) -> Observed<F>
where
    F: Future,
    F::Output: Outcome,
{
    Observed {
        inner,
        site,
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
        let site = *this.site;
        // The request starts at the first poll: a future that is never polled never ran.
        let request = this
            .request
            .get_or_insert_with(|| InFlight::start(site.metrics()));
        request.polling = true;
        let poll = this.inner.poll(cx);
        // Not reached when the body panics: the guard then drops with `polling` still set.
        request.polling = false;
        if let Poll::Ready(output) = &poll {
            request.outcome = Some(output.classify());
            *this.request = None;
        }
        poll
    }
}

/// A started request. Dropping it records the request, however the future ended: completed,
/// dropped while pending (cancelled) or unwound from a panic inside `poll`.
struct InFlight {
    metrics: &'static HandlerMetrics,
    started: Instant,
    polling: bool,
    outcome: Option<Classification>,
}

impl InFlight {
    fn start(metrics: &'static HandlerMetrics) -> InFlight {
        metrics.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight {
            metrics,
            started: Instant::now(),
            polling: false,
            outcome: None,
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let ended = Instant::now();
        let outcome = self.outcome.unwrap_or(Classification {
            code: if self.polling {
                Code::Panic
            } else {
                Code::Cancelled
            },
            size: None,
        });
        self.metrics.record(
            ended.saturating_duration_since(self.started),
            clock::nanos_at(ended),
            outcome,
        );
        self.metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}
