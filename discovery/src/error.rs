//! The one error type of the crate.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while configuring or running a poll.
///
/// None of these stop the long-running loop: it logs the error, keeps the last good file and
/// tries again at the next interval. Only start-up configuration errors end the program.
#[derive(Debug)]
pub enum Error {
    /// `--docker-host` or `DOCKER_HOST` does not name an endpoint this program can use.
    DockerHost {
        /// The value as given.
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// A command-line value that clap's parsers accept but the program cannot use.
    Config(String),
    /// A Docker Engine API call failed: connection, timeout, HTTP status or a body that does
    /// not parse.
    Docker {
        /// The API call, e.g. `GET /tasks`.
        call: &'static str,
        /// What went wrong, as reported by the client or the daemon.
        message: String,
    },
    /// Reading, creating or replacing the output file failed.
    Output {
        /// What was being done, e.g. `create directory`.
        action: &'static str,
        /// The path concerned.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// Serialising the target groups failed (not expected: the types are plain strings).
    Render(serde_json::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::DockerHost { value, reason } => {
                write!(f, "invalid Docker host {value:?}: {reason}")
            }
            Error::Config(message) => f.write_str(message),
            Error::Docker { call, message } => {
                write!(f, "Docker Engine API {call} failed: {message}")
            }
            Error::Output {
                action,
                path,
                source,
            } => write!(f, "cannot {action} {}: {source}", path.display()),
            Error::Render(source) => write!(f, "cannot serialise the target groups: {source}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Output { source, .. } => Some(source),
            Error::Render(source) => Some(source),
            Error::DockerHost { .. } | Error::Config(_) | Error::Docker { .. } => None,
        }
    }
}
