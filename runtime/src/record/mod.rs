//! The request path: what the attribute emits for a handler ([`handler`]), the future that
//! wraps its body ([`observe`]), how a request ended ([`outcome`]), and what a handler records
//! ([`metrics`]: two summaries, [`request_counts`] and an optional [`histogram`]), built from the
//! [`settings`] fixed for the process.

pub(crate) mod handler;
pub(crate) mod histogram;
pub(crate) mod metrics;
pub(crate) mod observe;
pub(crate) mod outcome;
pub(crate) mod request_counts;
pub(crate) mod settings;
