//! A request that has started and not yet been recorded: the clock reading and the handler's
//! metrics, with a drop guard that records a request abandoned on the way.

use crate::primitives::clock;
#[cfg(feature = "exemplars")]
use crate::record::exemplars::{current_trace, TraceId};
use crate::record::metrics::HandlerMetrics;
use crate::record::outcome::{Classification, Code};

/// A started request. Dropping it records the request as cancelled (dropped while pending) or
/// panicked (unwound from a panic inside `poll`); [`InFlight::finish`] records a completed one.
#[derive(Debug)]
pub(crate) struct InFlight {
    metrics: &'static HandlerMetrics,
    /// The process clock when the request started.
    started: u64,
    /// Set while the handler's future is being polled, so that a drop then is a panic.
    pub(crate) polling: bool,
    /// The trace the request runs in, read when it starts (the context is there at the first
    /// poll), for its exemplar.
    #[cfg(feature = "exemplars")]
    trace: Option<TraceId>,
}

impl InFlight {
    // Inlined, with what it calls, into the attribute's future in the user's crate, which
    // would otherwise call it through the global offset table.
    #[inline]
    pub(crate) fn start(metrics: &'static HandlerMetrics) -> InFlight {
        metrics.start();
        InFlight {
            metrics,
            started: clock::nanos_now(),
            polling: false,
            #[cfg(feature = "exemplars")]
            trace: current_trace(),
        }
    }

    /// The handler's metrics.
    pub(crate) fn metrics(&self) -> &'static HandlerMetrics {
        self.metrics
    }

    /// Seconds since the request started, by the process clock.
    pub(crate) fn seconds_so_far(&self) -> f64 {
        clock::nanos_now().saturating_sub(self.started) as f64 / 1e9
    }

    /// Forgets the request without recording it: another handler's metrics record it instead.
    pub(crate) fn discard(self) {
        self.metrics.unstart();
        std::mem::forget(self);
    }

    /// Records the request, completed with `outcome`.
    pub(crate) fn finish(self, outcome: Classification) {
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
