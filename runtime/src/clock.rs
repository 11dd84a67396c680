//! The process clock that windowed summaries are read against.

use std::sync::OnceLock;
use std::time::Instant;

static BASE: OnceLock<Instant> = OnceLock::new();

/// Nanoseconds from the process clock's base to `at`; instants before the base count as zero.
///
/// Summaries take time as a number so tests can drive them with any clock they like.
pub(crate) fn nanos_at(at: Instant) -> u64 {
    let base = *BASE.get_or_init(Instant::now);
    u64::try_from(at.saturating_duration_since(base).as_nanos()).unwrap_or(u64::MAX)
}

/// Nanoseconds from the process clock's base to now.
pub(crate) fn nanos_now() -> u64 {
    nanos_at(Instant::now())
}
