//! tower middleware (feature `tower`): [`layer`] puts a [`Metered`](crate::Metered) around each
//! route of a router, and with a route source measures requests by their route ([`routes`],
//! named as [`route_name`] derives, found in a [`route_table`]) where no instrumented handler
//! answers them. On axum it also measures the requests an extractor refused before the
//! instrumented handler of their route ran (`attributed`).

#[cfg(feature = "axum")]
pub(crate) mod attributed;
pub(crate) mod layer;
pub(crate) mod route_name;
pub(crate) mod route_table;
pub(crate) mod routes;
