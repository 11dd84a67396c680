//! The scrape path: the [`catalog`] of handlers built at `install`, the [`families`] a scrape
//! writes, [`text`] helpers (a leaf), one encoder per [`format`] ([`prometheus_text`],
//! [`openmetrics`], [`protobuf`] with its messages in [`metrics_proto`]), [`negotiation`] and
//! [`compression`] of an answer, the scrape handler's own [`scrapes`] counts, the [`exporter`]
//! that answers `/metrics`, and a stand-alone server for it ([`serve`]), built on a [`server`]
//! that bounds what hostile clients can hold.

pub(crate) mod catalog;
pub(crate) mod compression;
pub(crate) mod exporter;
pub(crate) mod families;
pub(crate) mod format;
pub(crate) mod metrics_proto;
pub(crate) mod negotiation;
pub(crate) mod openmetrics;
pub(crate) mod prometheus_text;
pub(crate) mod protobuf;
pub(crate) mod scrapes;
pub(crate) mod serve;
pub(crate) mod server;
pub(crate) mod text;
