//! The pause after a failed accept. Accepting fails while the process is out of descriptors or
//! memory; retrying at once would spin a core for as long as that lasts.

use std::time::Duration;

/// The first pause.
const FIRST: Duration = Duration::from_millis(5);
/// The longest pause: the server still notices within a second that it can accept again.
const LONGEST: Duration = Duration::from_secs(1);

/// Pauses that double after each failure in a row, from 5 ms up to 1 s.
#[derive(Debug, Default)]
pub(crate) struct Backoff {
    next: Option<Duration>,
}

impl Backoff {
    /// The pause after one more failure.
    pub(crate) fn failed(&mut self) -> Duration {
        let pause = self.next.unwrap_or(FIRST);
        self.next = Some((pause * 2).min(LONGEST));
        pause
    }

    /// Starts over after a success.
    pub(crate) fn succeeded(&mut self) {
        self.next = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_a_second_and_starts_over_after_a_success() {
        let mut backoff = Backoff::default();
        let pauses: Vec<_> = (0..10).map(|_| backoff.failed()).collect();
        assert_eq!(pauses[0], FIRST);
        assert_eq!(pauses[1], FIRST * 2);
        assert_eq!(pauses[9], LONGEST);
        backoff.succeeded();
        assert_eq!(backoff.failed(), FIRST);
    }
}
