//! The process clock that times requests and that windowed summaries are read against (and,
//! apart from it, the wall clock that timestamps in a scrape are read from: [`unix_nanos`]).
//!
//! Time is nanoseconds since the clock's first use, as a `u64`, so that summaries can take any
//! clock (tests drive them by hand) and a request's duration is one subtraction.
//!
//! Every instrumented request reads the clock twice, and `clock_gettime`, behind `Instant::now`,
//! costs about 30 ns on a virtual machine. Where the kernel keeps its own time with the
//! processor's time-stamp counter (Linux on x86-64 with the `tsc` clocksource: the kernel found
//! the counter invariant and synchronised across CPUs, and watches it), this clock reads the
//! counter directly, about 10 ns, and converts ticks to nanoseconds at a rate it measures against
//! `Instant` over the first [`CALIBRATION`] of its life; until then, and everywhere else, it reads
//! `Instant`. Two readings on different CPUs may then differ by the counters' residual skew (the
//! kernel tolerates a few ticks), so durations are computed with a saturating subtraction, as
//! `Instant` does.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long the counter's rate is measured against `Instant` before it is used: long enough for
/// an error of a few parts per million.
const CALIBRATION: Duration = Duration::from_millis(20);

/// Nanoseconds since the clock's origin.
// Inlined into the attribute's future, in the user's crate, where a request starts.
#[inline]
pub(crate) fn nanos_now() -> u64 {
    let clock = clock();
    match clock.counter {
        Some(counter) => match clock.rate.load(Ordering::Relaxed) {
            0 => clock.calibrating(counter),
            rate => counter.nanos(rate),
        },
        None => clock.instant_nanos(Instant::now()),
    }
}

/// The `Instant` of a reading of [`nanos_now`]: for deadlines kept as readings of this clock,
/// which is cheaper to read than `Instant` (the counter's measured rate may differ from
/// `Instant`'s by a few parts per million).
pub(crate) fn instant_at(nanos: u64) -> Instant {
    clock().origin + Duration::from_nanos(nanos)
}

/// The wall clock, in nanoseconds since the Unix epoch: for the timestamps a scrape carries
/// (when a series was created, when an exemplar was seen), never for durations. 0 before 1970.
pub(crate) fn unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
        })
}

/// The clock's origin, the counter's reading at it when the counter may be used, and the
/// counter's rate.
struct Clock {
    origin: Instant,
    counter: Option<Counter>,
    /// Ticks-to-nanoseconds rate of the counter as a 32.32 fixed-point number; 0 until measured.
    rate: AtomicU64,
}

/// The clock, on one cache line of its own with the state of its initialisation: every request
/// reads all three, twice.
#[repr(align(64))]
struct ClockLine(OnceLock<Clock>);

fn clock() -> &'static Clock {
    static CLOCK: ClockLine = ClockLine(OnceLock::new());
    CLOCK.0.get_or_init(|| {
        let rate = AtomicU64::new(0);
        if Counter::available() {
            let (origin, ticks) = Counter::read_with_instant();
            Clock {
                origin,
                counter: Some(Counter { origin: ticks }),
                rate,
            }
        } else {
            Clock {
                origin: Instant::now(),
                counter: None,
                rate,
            }
        }
    })
}

impl Clock {
    fn instant_nanos(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.origin).as_nanos()).unwrap_or(u64::MAX)
    }

    /// Reads `Instant` while the counter's rate is being measured; measures it once
    /// [`CALIBRATION`] has passed.
    #[cold]
    fn calibrating(&self, counter: Counter) -> u64 {
        let nanos = self.instant_nanos(Instant::now());
        if nanos < CALIBRATION.as_nanos() as u64 {
            return nanos;
        }
        let (now, ticks) = Counter::read_with_instant();
        let nanos = self.instant_nanos(now);
        let elapsed = ticks.saturating_sub(counter.origin);
        if elapsed > 0 {
            let rate = (u128::from(nanos) << 32) / u128::from(elapsed);
            // Threads racing here store rates measured a few ticks apart: any will do.
            self.rate.store(
                u64::try_from(rate).unwrap_or(u64::MAX).max(1),
                Ordering::Relaxed,
            );
        }
        nanos
    }
}

/// The processor's time-stamp counter, read where the kernel trusts it for its own clock.
#[derive(Clone, Copy)]
struct Counter {
    /// The reading at the clock's origin.
    origin: u64,
}

impl Counter {
    /// Whether the counter may be read: on Linux x86-64 when it is the kernel's clocksource.
    fn available() -> bool {
        cfg!(all(target_os = "linux", target_arch = "x86_64"))
            && std::fs::read_to_string(
                "/sys/devices/system/clocksource/clocksource0/current_clocksource",
            )
            .is_ok_and(|source| source.trim() == "tsc")
    }

    #[inline]
    fn nanos(self, rate: u64) -> u64 {
        let ticks = read().saturating_sub(self.origin);
        u64::try_from((u128::from(ticks) * u128::from(rate)) >> 32).unwrap_or(u64::MAX)
    }

    /// An `Instant` and the counter at the same moment: the middle of the two readings around it
    /// that are closest together, out of a few tries.
    fn read_with_instant() -> (Instant, u64) {
        let mut best = (Instant::now(), read(), u64::MAX);
        for _ in 0..8 {
            let before = read();
            let instant = Instant::now();
            let after = read();
            let spread = after.saturating_sub(before);
            if spread < best.2 {
                best = (instant, before + spread / 2, spread);
            }
        }
        (best.0, best.1)
    }
}

/// The time-stamp counter (0 where there is none, but then it is never read).
#[inline]
fn read() -> u64 {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `rdtsc` has no preconditions and only reads the counter; it is part of every
    // x86-64 processor. (Whether its value is usable is what `Counter::available` decides.)
    unsafe {
        std::arch::x86_64::_rdtsc()
    }
    #[cfg(not(target_arch = "x86_64"))]
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_measures_what_instant_measures() {
        // Past the calibration, so that the counter is in use where it may be.
        let _ = nanos_now();
        std::thread::sleep(CALIBRATION + Duration::from_millis(5));

        let mut last = nanos_now();
        for _ in 0..10_000 {
            let now = nanos_now();
            assert!(now >= last, "{now} after {last}");
            last = now;
        }

        // Its span lies between two spans of `Instant` read just outside and just inside it,
        // however long the thread is descheduled in between.
        let outer = Instant::now();
        let start = nanos_now();
        let inner = Instant::now();
        std::thread::sleep(Duration::from_millis(30));
        let inner = inner.elapsed().as_nanos() as f64;
        let elapsed = nanos_now().saturating_sub(start) as f64;
        let outer = outer.elapsed().as_nanos() as f64;
        assert!(
            elapsed >= inner * 0.999 - 1_000.0,
            "{elapsed} ns, {inner} ns inside"
        );
        assert!(
            elapsed <= outer * 1.001 + 1_000.0,
            "{elapsed} ns, {outer} ns outside"
        );
    }
}
