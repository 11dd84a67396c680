//! tower middleware (feature `tower`): [`layer`] puts a [`Metered`](crate::Metered) around each
//! route of a router, and with a route source measures requests by their route ([`routes`],
//! named as [`route_name`] derives) where no instrumented handler answers them.

pub(crate) mod layer;
pub(crate) mod route_name;
pub(crate) mod routes;
