//! The request path: what the attribute emits for a handler ([`handler`]), the future that
//! wraps its body ([`observe`]), how a request ended ([`outcome`]), and what a handler records
//! ([`metrics`]: two summaries, [`request_counts`], an optional [`histogram`] and an optional
//! [`native_histogram`], and with the `exemplars` feature the latest `exemplars`), built from
//! the [`settings`] fixed for the process.

#[cfg(feature = "exemplars")]
pub(crate) mod exemplars;
pub(crate) mod handler;
pub(crate) mod histogram;
pub(crate) mod metrics;
pub(crate) mod native_histogram;
pub(crate) mod observe;
pub(crate) mod outcome;
pub(crate) mod request_counts;
pub(crate) mod settings;
