//! What the accountservice examples share, whatever HTTP stack serves them: the account store, the JSON model of
//! the tutorial, its GraphQL schema and quotes, and the rules both servers apply to what a client sends.
//!
//! It carries no instrumented handler on purpose. routemeter registers every `#[instrumented]` handler linked into
//! a program, so a library holding the hyper example's handlers cannot be linked into the axum example, whose own
//! handlers report under the same names (`accountservice_GetAccount`, ...): `install` would refuse the duplicates.
//! Both examples link this crate instead; the `accountservice` library re-exports its modules.

mod clock;
pub mod excerpt;
pub mod graphql;
pub mod model;
pub mod pace;
pub mod quotes;
pub mod store;
