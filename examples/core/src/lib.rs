//! What the accountservice examples share, whatever HTTP stack serves them: the account store, the JSON model of
//! the tutorial, its GraphQL schema and quotes, the rules both servers apply to what a client sends (the body budget
//! and the bounded body reader among them), the command line, the listening socket and the signals that stop a
//! server.
//!
//! It carries no instrumented handler on purpose. routemeter registers every `#[instrumented]` handler linked into
//! a program, so a library holding the hyper example's handlers cannot be linked into the axum example, whose own
//! handlers report under the same names (`accountservice_GetAccount`, ...): `install` would refuse the duplicates.
//! Both examples link this crate instead; the `accountservice` library re-exports its modules.

pub mod body_budget;
pub mod cli;
mod clock;
pub mod excerpt;
pub mod graphql;
mod listen;
pub mod model;
pub mod pace;
pub mod program;
pub mod quotes;
pub mod read_body;
pub mod requests;
mod signal;
pub mod store;

pub use listen::listen;
pub use signal::shutdown_signal;
