//! How one server instance behaves: the instrumentation switch, limits and timeouts.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use routemeter::ServeOptions;

use crate::body::DEFAULT_BODY_LIMIT;
use accountservice_core::body_budget::DEFAULT_BODY_BUDGET;

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
    /// How long a client may take to send a request body once its headers are in (408 after that), so slow
    /// clients cannot hold a handler forever. Default 30 s.
    pub body_read_timeout: Duration,
    /// The most bytes of request bodies held in memory at once, across all connections; a body that would take
    /// more is refused with 503 and `Retry-After`. Default 32 MiB.
    pub body_budget: usize,
    /// The connections' limits, kept by routemeter's [`serve_connections`](routemeter::serve_connections): time
    /// until the first request (10 s), for headers (10 s) and idle (60 s); HTTP/2 streams per connection (100);
    /// request heads (32 KiB); open connections (the descriptor limit less a quarter, the connection quiet
    /// longest closed to make room); the shutdown's grace period (10 s).
    pub server: ServeOptions,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            instrumentation: Instrumentation::On,
            body_limit: DEFAULT_BODY_LIMIT,
            body_read_timeout: Duration::from_secs(30),
            body_budget: DEFAULT_BODY_BUDGET,
            server: ServeOptions::default()
                .max_connections_within_descriptor_limit()
                .log_name("accountservice"),
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

    /// These options with a header read timeout of `timeout`: how long a client may take to send a request's
    /// headers before its connection is closed.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Options {
        self.server = self.server.header_read_timeout(timeout);
        self
    }

    /// These options with a body read timeout of `timeout`.
    pub fn body_read_timeout(mut self, timeout: Duration) -> Options {
        self.body_read_timeout = timeout;
        self
    }

    /// These options with a shutdown grace period of `timeout`: how long a shutdown waits for requests in progress.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Options {
        self.server = self.server.shutdown_timeout(timeout);
        self
    }

    /// These options with a budget of `bytes` for request bodies held at once.
    pub fn body_budget(mut self, bytes: usize) -> Options {
        self.body_budget = bytes;
        self
    }

    /// These options with the connection limits of `server`.
    pub fn server(mut self, server: ServeOptions) -> Options {
        self.server = server;
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
