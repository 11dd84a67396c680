//! The accountservice of the Go microservices tutorial, in Rust, monitored with routemeter.
//!
//! A small hyper 1 service over an in-memory account store, with the tutorial's route table:
//!
//! | Name          | Method | Path                            | Monitored |
//! |---------------|--------|---------------------------------|-----------|
//! | StoreAccount  | POST   | `/accounts`                     | yes       |
//! | UpdateAccount | PUT    | `/accounts`                     | yes       |
//! | GetAccount    | GET    | `/accounts/{accountId}`         | yes       |
//! | GraphQL       | POST   | `/graphql`                      | yes       |
//! | HealthCheck   | GET    | `/health`                       | no        |
//! | Testability   | GET    | `/testability/healthy/{state}`  | no        |
//! | Prometheus    | GET    | `/metrics`                      | no        |
//!
//! Each monitored route is an `async fn` carrying `#[routemeter::instrumented(name = ..., route = ...)]`; nothing
//! else in the service knows about metrics except `GET /metrics`, which hands the request to the
//! [`routemeter::Exporter`]. The metric names come out as `accountservice_GetAccount` and so on because the
//! handlers live in this library, whose crate name is the default namespace.
//!
//! Run it with `cargo run --release --example accountservice`, or embed it (as the tests do):
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let exporter = routemeter::install()?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! accountservice::serve(
//!     listener,
//!     exporter,
//!     accountservice::Options::default(),
//!     accountservice::shutdown_signal(),
//! )
//! .await?;
//! # Ok(())
//! # }
//! ```
//!
//! # Answers
//!
//! - `GET /accounts/{accountId}`: 200 with the account JSON (`Content-Type: application/json`, `Content-Length`);
//!   404 `Account identified by '<id>' not found` for an unknown id; 400 for an id that is not a decimal number.
//! - `POST /accounts` with an account JSON of which only `name` is used: **201 Created** with `{"ID":"<new id>"}`
//!   and `Location: /accounts/<new id>`. The tutorial relayed whatever its data service said; 201 is what HTTP
//!   prescribes for a new resource, and the body is the tutorial's. 400 when `name` is missing or empty.
//! - `PUT /accounts` with `{"id": ..., "name": ...}`: 200 with the renamed account (an `UPDATED` event added);
//!   400 `PUT body is missing required field: ID` (the tutorial's message) or `...: name`; 404 for an unknown id.
//! - `POST /graphql` with `{"query", "variables", "operationName"}`: 200 with the GraphQL response (GraphQL errors
//!   included); 400 when the body is not a GraphQL request. See [`graphql`].
//! - `GET /health`: 200 `{"status":"UP"}` or 503 `{"status":"DOWN"}`, the tutorial's body;
//!   `GET /testability/healthy/true|false` sets it (400 for any other value).
//! - `GET /metrics`: the exposition, from [`routemeter::Exporter::respond`].
//!
//! `servedBy` is the local address of the connection that carried the request, which equals the listening
//! address except behind a wildcard bind (`0.0.0.0`), where it is the address the client actually reached.
//!
//! Bad input gets a clear 4xx and never reaches the store: unknown paths 404, known paths with another method
//! 405 with `Allow`, ids that are not decimal numbers 400, unknown ids 404, bodies over 1 MiB 413 (the
//! connection is then closed), a `Content-Type` other than JSON 415 (a request without one is read as JSON),
//! unparsable JSON 400 with serde's description of the problem; malformed HTTP is answered 400 by hyper, and
//! clients that do not finish their headers within [`Options::header_read_timeout`] are disconnected, and those
//! that do not finish a body within [`Options::body_read_timeout`] get a 408. None of
//! these create metric series: the series are bounded by the four handlers and the status codes they return.
//!
//! Hostile clients are bounded as well: connections by routemeter's server ([`Options::server`]: time until the
//! first request, idle time, streams, and a cap under the descriptor limit that closes the connection quiet
//! longest to make room), the bodies held at once ([`Options::body_budget`], 503 with `Retry-After` beyond it),
//! GraphQL work before validation ([`graphql::limits`]). Error answers quote at most a short, escaped excerpt
//! of the request.

mod app;
mod body;
pub mod cli;
mod dispatch;
mod export;
mod handlers;
mod handwritten;
mod instrumented;
mod options;
mod reply;
pub mod router;
mod server;

// The store, model, GraphQL schema and quotes live in `accountservice-core`, which the axum example links too.
pub use accountservice_core::body_budget::DEFAULT_BODY_BUDGET;
pub use accountservice_core::{graphql, model, quotes, requests, store};
/// Where and how the service listens, and the signals that stop it, shared with the axum example.
pub use accountservice_core::{listen, shutdown_signal};
pub use body::DEFAULT_BODY_LIMIT;
pub use options::{Instrumentation, Options};
pub use server::serve;
