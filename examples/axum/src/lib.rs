//! The accountservice of the Go microservices tutorial on axum, monitored with routemeter: the hyper example's
//! routes, answers and metrics, written the way an axum service is written.
//!
//! | Name           | Method | Path                            | Monitored |
//! |----------------|--------|---------------------------------|-----------|
//! | StoreAccount   | POST   | `/accounts`                     | yes       |
//! | UpdateAccount  | PUT    | `/accounts`                     | yes       |
//! | GetAccount     | GET    | `/accounts/{accountId}`         | yes       |
//! | ExportAccounts | GET    | `/accounts/export`              | yes       |
//! | GraphQL        | POST   | `/graphql`                      | yes       |
//! | HealthCheck    | GET    | `/health`                       | no        |
//! | Testability    | GET    | `/testability/healthy/{state}`  | no        |
//! | Prometheus     | GET    | `/metrics`                      | no        |
//!
//! Each monitored route is an axum handler (extractors in, `IntoResponse` out) carrying
//! `#[routemeter::instrumented(name = ..., route = ..., namespace = "accountservice")]`, so the metrics are the hyper
//! example's: `accountservice_GetAccount`, `accountservice_requests_total{handler="GetAccount",...}` and so on. The
//! router has `.layer(routemeter::MeteredLayer::new())`, which counts each request by the status of the response
//! axum converted the handler's output into and measures it to the last byte of its body; `/metrics` is the
//! [`routemeter::Exporter`] as a route service.
//!
//! A request an extractor refuses never reaches the handler, so the attribute never sees it and nothing counts it.
//! The handlers therefore take their body as `Result<JsonBody<T>, AppError>` (and the export its query as
//! `Result<Query<_>, QueryRejection>`) and answer the refusal themselves: a bad body is counted under the route
//! with its 4xx, as the hyper example counts it.
//!
//! The answers are the hyper example's (see the `accountservice` crate); where axum decides differently it is said
//! in [`router`]. The store, model and GraphQL schema come from `accountservice-core`, shared with it.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let exporter = routemeter::install()?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! accountservice_axum::serve(
//!     listener,
//!     exporter,
//!     routemeter::ServeOptions::default(),
//!     accountservice_core::shutdown_signal(),
//! )
//! .await?;
//! # Ok(())
//! # }
//! ```

pub mod cli;
mod error;
mod export;
mod handlers;
mod json_body;
pub mod router;
mod server;
mod state;

pub use error::AppError;
pub use json_body::BODY_LIMIT;
pub use server::{serve, serve_state};
pub use state::AppState;
