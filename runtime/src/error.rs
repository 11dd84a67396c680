//! The one error type of the runtime.

use std::fmt;

/// Everything that can go wrong when configuring or serving routemeter.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value is out of range; the message says which and what is valid.
    InvalidConfig(String),
    /// Two instrumented handlers resolve to one metric name.
    DuplicateHandler {
        /// The full metric name both handlers would report under.
        metric: String,
        /// Where the first handler is defined (`file:line`).
        first: String,
        /// Where the second handler is defined (`file:line`).
        second: String,
    },
    /// A handler's metric name collides with one of routemeter's own families.
    ReservedName {
        /// The colliding metric name.
        metric: String,
        /// Where the handler is defined (`file:line`).
        handler: String,
    },
    /// [`Config::install`](crate::Config::install) was called after the configuration was fixed.
    AlreadyInstalled,
    /// A request was recorded before [`Config::install`](crate::Config::install), which fixed
    /// the default configuration; installing another one would serve metrics shaped otherwise
    /// than configured.
    RecordedBeforeInstall {
        /// The handler whose request came first, and where it is defined.
        handler: String,
    },
    /// A metric from a Prometheus registry could not be encoded.
    Encode(String),
    /// An I/O error while serving.
    Io(std::io::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidConfig(reason) => write!(f, "invalid routemeter configuration: {reason}"),
            Error::DuplicateHandler { metric, first, second } => write!(
                f,
                "two instrumented handlers report as `{metric}`: one at {first}, one at {second}; \
                 give one of them another `name` or `namespace`"
            ),
            Error::ReservedName { metric, handler } => write!(
                f,
                "the handler at {handler} reports as `{metric}`, a name routemeter uses for its own \
                 metrics; give the handler another `name`"
            ),
            Error::AlreadyInstalled => f.write_str(
                "routemeter is already installed: a different configuration is already in force; call `Config::install` once, at start-up, before the first request",
            ),
            Error::RecordedBeforeInstall { handler } => write!(
                f,
                "a request to {handler} was recorded before `install`, which fixed the default \
                 configuration for the process; call `Config::install` at start-up, before serving \
                 requests"
            ),
            Error::Encode(reason) => write!(f, "cannot encode metrics: {reason}"),
            Error::Io(err) => write!(f, "I/O error while serving metrics: {err}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(err) => Some(err),
            _ => None,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        Error::Io(err)
    }
}
