//! How one server instance behaves: the instrumentation switch, limits and timeouts.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::body::DEFAULT_BODY_LIMIT;

/// Whether requests go through the `#[routemeter::instrumented]` handlers or straight to the same logic without
/// them. The load benchmark runs the service both ways to measure what monitoring costs; it can also run it with
/// the tutorial's way of monitoring, a middleware written by hand, to compare.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Instrumentation {
    /// Monitored handlers (the default).
    #[default]
    On,
    /// Bare handlers: the same answers, no metrics recorded for them.
    Off,
    /// Bare handlers behind a middleware written by hand with the `prometheus` crate, as the tutorial monitored
    /// its routes (without windowed quantiles); `/metrics` then serves that middleware's registry.
    Handwritten,
}

impl FromStr for Instrumentation {
    type Err = String;

    /// `on`, `off` or `handwritten` (any case).
    fn from_str(value: &str) -> Result<Instrumentation, String> {
        [
            Instrumentation::On,
            Instrumentation::Off,
            Instrumentation::Handwritten,
        ]
        .into_iter()
        .find(|mode| value.eq_ignore_ascii_case(&mode.to_string()))
        .ok_or_else(|| {
            format!("instrumentation must be `on`, `off` or `handwritten`, got {value:?}")
        })
    }
}

impl fmt::Display for Instrumentation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Instrumentation::On => "on",
            Instrumentation::Off => "off",
            Instrumentation::Handwritten => "handwritten",
        })
    }
}

/// Settings of [`serve`](crate::serve). `Options::default()` is what the example binary runs with.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// Monitored or bare handlers.
    pub instrumentation: Instrumentation,
    /// The largest request body accepted (413 above it). Default 1 MiB.
    pub body_limit: usize,
    /// How long a client may take to send a request's headers before its connection is closed, so slow or idle
    /// clients cannot hold connections open forever. Default 10 s.
    pub header_read_timeout: Duration,
    /// How long a client may take to send a request body once its headers are in (408 after that), the same
    /// protection for the body. Default 30 s.
    pub body_read_timeout: Duration,
    /// How long a shutdown waits for requests in progress before giving up on them. Default 10 s.
    pub shutdown_timeout: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            instrumentation: Instrumentation::On,
            body_limit: DEFAULT_BODY_LIMIT,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(10),
        }
    }
}

impl Options {
    /// These options with `instrumentation`.
    pub fn instrumentation(mut self, instrumentation: Instrumentation) -> Options {
        self.instrumentation = instrumentation;
        self
    }

    /// These options with a body limit of `bytes`.
    pub fn body_limit(mut self, bytes: usize) -> Options {
        self.body_limit = bytes;
        self
    }

    /// These options with a header read timeout of `timeout`.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Options {
        self.header_read_timeout = timeout;
        self
    }

    /// These options with a body read timeout of `timeout`.
    pub fn body_read_timeout(mut self, timeout: Duration) -> Options {
        self.body_read_timeout = timeout;
        self
    }

    /// These options with a shutdown grace period of `timeout`.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Options {
        self.shutdown_timeout = timeout;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_switch() {
        assert_eq!("on".parse(), Ok(Instrumentation::On));
        assert_eq!("OFF".parse(), Ok(Instrumentation::Off));
        assert!("no".parse::<Instrumentation>().is_err());
        assert_eq!(Instrumentation::Off.to_string(), "off");
    }
}
