//! One-line log records on stderr, with a UTC timestamp and a level.
//!
//! A service that writes a few lines per poll needs no logging framework; stderr is what
//! `docker service logs` collects.

use std::fmt;
use std::io::Write;
use std::time::SystemTime;

/// How serious a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Normal progress.
    Info,
    /// Something to look at; the program carries on as intended.
    Warn,
    /// An operation failed; the program retries.
    Error,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad` so that `{level:<5}` lines the messages up.
        f.pad(match self {
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
        })
    }
}

/// Writes one record. A failed write to stderr is dropped: there is nowhere to report it.
pub fn write(level: Level, message: fmt::Arguments<'_>) {
    let now = humantime::format_rfc3339_seconds(SystemTime::now());
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{now} {level:<5} {message}");
}

/// Logs at [`Level::Info`].
macro_rules! log_info {
    ($($arg:tt)*) => { $crate::log::write($crate::log::Level::Info, format_args!($($arg)*)) };
}

/// Logs at [`Level::Warn`].
macro_rules! log_warn {
    ($($arg:tt)*) => { $crate::log::write($crate::log::Level::Warn, format_args!($($arg)*)) };
}

/// Logs at [`Level::Error`].
macro_rules! log_error {
    ($($arg:tt)*) => { $crate::log::write($crate::log::Level::Error, format_args!($($arg)*)) };
}

pub(crate) use {log_error, log_info, log_warn};
