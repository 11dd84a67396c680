//! Log lines about clients, at most one a second of each kind: a flood of refused or malformed
//! connections must not become a flood of log lines.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The least time between two lines of one kind.
const INTERVAL: Duration = Duration::from_secs(1);

/// One kind of log line, written to standard error at most once per second; the next line that
/// gets through says how many were left out meanwhile.
#[derive(Debug)]
pub(crate) struct RateLimitedLog {
    prefix: String,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    last: Option<Instant>,
    suppressed: u64,
}

impl RateLimitedLog {
    /// Lines starting with `prefix: `.
    pub(crate) fn new(prefix: &str) -> RateLimitedLog {
        RateLimitedLog {
            prefix: prefix.to_owned(),
            state: Mutex::new(State::default()),
        }
    }

    /// Writes the line `message` builds, unless a line of this kind went out less than a second
    /// ago. The message is built only when it is written.
    pub(crate) fn log(&self, message: impl FnOnce() -> String) {
        if let Some(line) = self.line(Instant::now(), message) {
            eprintln!("{line}");
        }
    }

    /// The line to write at `now`, if one is due.
    fn line(&self, now: Instant, message: impl FnOnce() -> String) -> Option<String> {
        // A poisoned lock only means another thread panicked while logging; the counts are fine.
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if state
            .last
            .is_some_and(|last| now.saturating_duration_since(last) < INTERVAL)
        {
            state.suppressed += 1;
            return None;
        }
        let suppressed = std::mem::take(&mut state.suppressed);
        state.last = Some(now);
        drop(state);
        let mut line = format!("{}: {}", self.prefix, message());
        if suppressed > 0 {
            line.push_str(&format!(" ({suppressed} more like it left out)"));
        }
        Some(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_one_line_a_second_and_counts_the_rest() {
        let log = RateLimitedLog::new("test");
        let start = Instant::now();
        assert_eq!(
            log.line(start, || "first".into()).as_deref(),
            Some("test: first")
        );
        for _ in 0..1000 {
            assert_eq!(
                log.line(start + Duration::from_millis(500), || "again".into()),
                None
            );
        }
        assert_eq!(
            log.line(start + INTERVAL, || "later".into()).as_deref(),
            Some("test: later (1000 more like it left out)")
        );
        assert_eq!(
            log.line(start + INTERVAL * 3, || "quiet".into()).as_deref(),
            Some("test: quiet")
        );
    }
}
