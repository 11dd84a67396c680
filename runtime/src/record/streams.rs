//! The streams of a long-lived route (`stream = true`): how many are open, how long they lasted and
//! what they sent, kept apart from the route's latency so that hours-long streams do not swamp it.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use crate::primitives::atomic_float::AtomicF64;
use crate::primitives::clock;

/// One long-lived route's streams. Streams are few and long, so plain atomics do.
#[derive(Debug, Default)]
pub(crate) struct StreamMetrics {
    open: AtomicI64,
    /// Seconds the closed streams lasted, in all.
    lifetimes: AtomicF64,
    closed: AtomicU64,
    /// Bytes of data the streams sent, in all.
    sent: AtomicU64,
}

/// What a scrape reads of a route's streams.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct StreamReading {
    pub(crate) open: i64,
    pub(crate) lifetimes: f64,
    pub(crate) closed: u64,
    pub(crate) sent: u64,
}

impl StreamMetrics {
    pub(crate) fn read(&self) -> StreamReading {
        StreamReading {
            open: self.open.load(Ordering::Relaxed),
            lifetimes: self.lifetimes.get(),
            closed: self.closed.load(Ordering::Relaxed),
            sent: self.sent.load(Ordering::Relaxed),
        }
    }
}

/// A stream whose body is being sent; [`OpenStream::close`] counts it closed.
#[derive(Debug)]
pub(crate) struct OpenStream {
    metrics: &'static StreamMetrics,
    /// The process clock when the stream opened.
    opened: u64,
}

impl OpenStream {
    pub(crate) fn open(metrics: &'static StreamMetrics) -> OpenStream {
        metrics.open.fetch_add(1, Ordering::Relaxed);
        OpenStream {
            metrics,
            opened: clock::nanos_now(),
        }
    }

    /// Closes the stream, which sent `sent` bytes of data.
    pub(crate) fn close(self, sent: u64) {
        let lasted = clock::nanos_now().saturating_sub(self.opened);
        self.metrics.lifetimes.add(lasted as f64 / 1e9);
        self.metrics.closed.fetch_add(1, Ordering::Relaxed);
        self.metrics.sent.fetch_add(sent, Ordering::Relaxed);
        self.metrics.open.fetch_sub(1, Ordering::Relaxed);
    }
}
