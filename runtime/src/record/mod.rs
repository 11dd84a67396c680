//! The request path: what the attribute emits for a handler ([`handler`], [`handler_info`]), the
//! future that wraps its body ([`observe`]) and the request it starts ([`in_flight`]), how a
//! request ended ([`outcome`], read from the handler's output as [`classify`] picks), and what a handler records ([`metrics`]: two summaries,
//! [`request_counts`], an optional [`histogram`] and [`native_histogram`], with the `exemplars`
//! feature the latest `exemplars`, and [`streams`] for long-lived routes), built from the
//! [`settings`] fixed for the process. A [`metered`] service takes finished requests over
//! ([`handoff`]) and records them at the end of their response body ([`metered_body`]), keeping
//! what it needs meanwhile in one allocation per request ([`meter`]).

pub(crate) mod classify;
#[cfg(feature = "exemplars")]
pub(crate) mod exemplars;
pub(crate) mod handler;
pub(crate) mod handler_info;
pub(crate) mod handoff;
pub(crate) mod histogram;
pub(crate) mod in_flight;
pub(crate) mod meter;
pub(crate) mod metered;
pub(crate) mod metered_body;
pub(crate) mod metrics;
pub(crate) mod native_histogram;
pub(crate) mod observe;
pub(crate) mod outcome;
pub(crate) mod request_counts;
pub(crate) mod settings;
pub(crate) mod streams;
