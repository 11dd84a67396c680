//! A hyper server that holds up under hostile clients: [`serve_connections`] bounds every phase
//! of a connection and caps what connections share, as [`options`] set. The connection's
//! [`activity`] (reported by the [`tracked`] service and bodies) drives its idle timeouts and
//! the choice of which connection to close when the cap of [`connections`] is reached; accept
//! errors pause the loop ([`backoff`]); [`descriptors`] reads the limit the cap must stay below;
//! client trouble is logged through a [`rate_limited_log`].
//!
//! [`serve_connections`]: serve_connections::serve_connections

pub(crate) mod activity;
pub(crate) mod backoff;
pub(crate) mod connections;
pub(crate) mod descriptors;
pub(crate) mod options;
pub(crate) mod rate_limited_log;
pub(crate) mod serve_connections;
pub(crate) mod tracked;
