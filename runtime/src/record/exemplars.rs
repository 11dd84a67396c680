//! Exemplars (feature `exemplars`): the trace id of a recent request, kept beside the count of
//! its outcome and beside its histogram bucket, so that a dashboard can jump from a latency spike
//! to a trace.
//!
//! The trace is the one of the OpenTelemetry context the request's future runs in (see
//! [`current_trace`]), read when the request starts. Only sampled traces are kept: an
//! unsampled one leads nowhere. Each handler keeps the latest exemplar of each `code` (the first
//! [`CODES`] codes it answers with) and of each classic histogram bucket (`+Inf` included), so
//! memory stays bounded: under a kilobyte per handler, allocated with its first traced request.
//!
//! An exemplar is written as a sequence lock: the writer makes the version odd, stores, makes
//! it even again; a reader retries while the version moved. A writer that finds the slot being
//! written by another leaves it to that one (whose exemplar is just as recent), so recording
//! never waits.

use std::sync::atomic::{fence, AtomicU32, AtomicU64, Ordering};

use opentelemetry::trace::TraceContextExt as _;

use crate::record::outcome::Code;

/// Codes a handler keeps an exemplar for.
pub(crate) const CODES: usize = 8;
/// Reads of a slot that keep meeting a writer give up after this many tries.
const READ_TRIES: usize = 16;

/// A W3C trace id: 16 bytes, written as 32 lower-case hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TraceId(pub(crate) [u8; 16]);

/// One exemplar: a trace, the value observed and when.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Exemplar {
    pub(crate) trace: TraceId,
    pub(crate) value: f64,
    /// Nanoseconds since the Unix epoch.
    pub(crate) at: u64,
}

/// The trace id of the current OpenTelemetry context, when it holds a valid, sampled span.
pub(crate) fn current_trace() -> Option<TraceId> {
    opentelemetry::Context::map_current(|context| {
        let span = context.span();
        let span = span.span_context();
        (span.is_valid() && span.is_sampled()).then(|| TraceId(span.trace_id().to_bytes()))
    })
}

/// A handler's latest exemplars.
pub(crate) struct Exemplars {
    /// `slot + 1` of the code each entry of `requests` holds; 0 while free.
    codes: [AtomicU32; CODES],
    requests: [Slot; CODES],
    /// One per classic bucket, then `+Inf`.
    buckets: Box<[Slot]>,
}

impl Exemplars {
    pub(crate) fn new(buckets: usize) -> Exemplars {
        Exemplars {
            codes: [const { AtomicU32::new(0) }; CODES],
            requests: [const { Slot::new() }; CODES],
            buckets: (0..buckets).map(|_| Slot::new()).collect(),
        }
    }

    /// The latest exemplar of requests that ended with `code`.
    pub(crate) fn request(&self, code: Code) -> Option<Exemplar> {
        let key = code.slot() as u32 + 1;
        let entry = self
            .codes
            .iter()
            .position(|held| held.load(Ordering::Acquire) == key)?;
        self.requests.get(entry)?.read()
    }

    /// The latest exemplar of classic bucket `bucket` (the last one is `+Inf`).
    pub(crate) fn bucket(&self, bucket: usize) -> Option<Exemplar> {
        self.buckets.get(bucket)?.read()
    }

    /// Keeps `exemplar` as the latest of classic bucket `bucket`, if the handler has that bucket.
    pub(crate) fn record_bucket(&self, bucket: usize, exemplar: &Exemplar) {
        if let Some(slot) = self.buckets.get(bucket) {
            slot.write(exemplar);
        }
    }

    /// Keeps `exemplar` as the latest of the requests that ended with `code`, while the table has
    /// room for the code.
    pub(crate) fn record_request(&self, code: Code, exemplar: &Exemplar) {
        let key = code.slot() as u32 + 1;
        for (held, slot) in self.codes.iter().zip(&self.requests) {
            let current = match held.compare_exchange(0, key, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => key,
                Err(current) => current,
            };
            if current == key {
                slot.write(exemplar);
                return;
            }
        }
    }
}

/// One exemplar behind a sequence lock: every field an atomic, so a torn read is only retried.
struct Slot {
    /// Even when stable, odd while written; 0 until the first write.
    version: AtomicU64,
    trace: [AtomicU64; 2],
    value: AtomicU64,
    at: AtomicU64,
}

impl Slot {
    const fn new() -> Slot {
        Slot {
            version: AtomicU64::new(0),
            trace: [AtomicU64::new(0), AtomicU64::new(0)],
            value: AtomicU64::new(0),
            at: AtomicU64::new(0),
        }
    }

    fn write(&self, exemplar: &Exemplar) {
        let version = self.version.load(Ordering::Relaxed);
        if version & 1 == 1
            || self
                .version
                .compare_exchange(version, version + 1, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
        {
            return; // another writer is storing an exemplar as recent as this one
        }
        let (high, low) = exemplar.trace.0.split_at(8);
        for (half, bytes) in self.trace.iter().zip([high, low]) {
            let bytes: [u8; 8] = bytes.try_into().unwrap_or_default();
            half.store(u64::from_be_bytes(bytes), Ordering::Relaxed);
        }
        self.value
            .store(exemplar.value.to_bits(), Ordering::Relaxed);
        self.at.store(exemplar.at, Ordering::Relaxed);
        self.version.store(version + 2, Ordering::Release);
    }

    fn read(&self) -> Option<Exemplar> {
        for _ in 0..READ_TRIES {
            let before = self.version.load(Ordering::Acquire);
            if before == 0 {
                return None;
            }
            if before & 1 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let mut trace = [0u8; 16];
            for (half, bytes) in self.trace.iter().zip(trace.chunks_exact_mut(8)) {
                bytes.copy_from_slice(&half.load(Ordering::Relaxed).to_be_bytes());
            }
            let value = f64::from_bits(self.value.load(Ordering::Relaxed));
            let at = self.at.load(Ordering::Relaxed);
            // The loads above happen before the version is read again.
            fence(Ordering::Acquire);
            if self.version.load(Ordering::Relaxed) == before {
                return Some(Exemplar {
                    trace: TraceId(trace),
                    value,
                    at,
                });
            }
        }
        None
    }
}

impl TraceId {
    /// The 32 lower-case hex digits of the W3C `traceparent` header.
    pub(crate) fn hex(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut hex = String::with_capacity(32);
        for byte in self.0 {
            hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
            hex.push(char::from(DIGITS[usize::from(byte & 15)]));
        }
        hex
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceState};

    fn context(trace: u128, flags: TraceFlags) -> opentelemetry::Context {
        opentelemetry::Context::new().with_remote_span_context(SpanContext::new(
            opentelemetry::trace::TraceId::from(trace),
            SpanId::from(7),
            flags,
            true,
            TraceState::default(),
        ))
    }

    #[test]
    fn the_trace_of_a_sampled_context_is_read() {
        assert_eq!(current_trace(), None);
        let _sampled = context(0xabc, TraceFlags::SAMPLED).attach();
        let trace = current_trace();
        assert_eq!(
            trace.map(|trace| trace.hex()).as_deref(),
            Some("00000000000000000000000000000abc")
        );
        let _unsampled = context(0xdef, TraceFlags::default()).attach();
        assert_eq!(current_trace(), None, "an unsampled trace leads nowhere");
    }

    #[test]
    fn each_code_and_bucket_keeps_its_latest_exemplar() {
        let exemplars = Exemplars::new(3);
        let exemplar = |trace: u8, value: f64| Exemplar {
            trace: TraceId([trace; 16]),
            value,
            at: 1_700_000_000_000_000_000,
        };
        assert_eq!(exemplars.request(Code::Status(200)), None);
        exemplars.record_request(Code::Status(200), &exemplar(1, 1.0));
        exemplars.record_request(Code::Status(404), &exemplar(2, 1.0));
        exemplars.record_request(Code::Status(200), &exemplar(3, 1.0));
        assert_eq!(exemplars.request(Code::Status(200)), Some(exemplar(3, 1.0)));
        assert_eq!(exemplars.request(Code::Status(404)), Some(exemplar(2, 1.0)));
        // Past the table's room, codes get no exemplar and displace none.
        for status in 300..320 {
            exemplars.record_request(Code::Status(status), &exemplar(4, 1.0));
        }
        assert_eq!(exemplars.request(Code::Status(200)), Some(exemplar(3, 1.0)));
        assert_eq!(exemplars.request(Code::Status(319)), None);
        if let Some(slot) = exemplars.buckets.get(2) {
            slot.write(&exemplar(5, 0.25));
        }
        assert_eq!(exemplars.bucket(2), Some(exemplar(5, 0.25)));
        assert_eq!(exemplars.bucket(0), None);
        assert_eq!(exemplars.bucket(3), None, "no such bucket");
    }

    #[test]
    fn readers_never_see_a_torn_exemplar() {
        let slot = Slot::new();
        let stop = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                for i in 0..200_000u64 {
                    let byte = (i % 251) as u8;
                    slot.write(&Exemplar {
                        trace: TraceId([byte; 16]),
                        value: f64::from(byte),
                        at: u64::from(byte),
                    });
                }
                stop.store(true, Ordering::Relaxed);
            });
            while !stop.load(Ordering::Relaxed) {
                if let Some(read) = slot.read() {
                    let byte = read.trace.0[0];
                    assert_eq!(read.trace, TraceId([byte; 16]));
                    assert_eq!(read.value, f64::from(byte));
                    assert_eq!(read.at, u64::from(byte));
                }
            }
        });
    }
}
