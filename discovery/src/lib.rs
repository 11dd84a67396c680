//! swarm-discovery: Docker Swarm tasks -> a Prometheus `file_sd_configs` file.
//!
//! Every interval (first at start-up) it lists the running tasks and the services from the
//! Docker Engine API, takes each task's address on the chosen overlay network and the
//! service's port, and writes one target group per task:
//!
//! ```json
//! [
//!   {
//!     "targets": ["10.0.1.5:6767"],
//!     "labels": {"node_id": "...", "service_id": "...", "slot": "1", "task": "accountservice"}
//!   }
//! ]
//! ```
//!
//! The pieces are usable on their own: [`targets::discover`] is the pure mapping,
//! [`output::write_if_changed`] the atomic write, [`Poller`] one poll, [`run`] the loop.

pub mod cli;
pub mod config;
pub mod docker;
mod error;
mod host;
mod log;
pub mod output;
pub mod poll;
pub mod signal;
pub mod targets;
pub mod task;

pub use cli::Cli;
pub use config::Config;
pub use error::Error;
pub use host::{DockerHost, DEFAULT_SOCKET, DEFAULT_TCP_PORT};
pub use poll::{run, PollOutcome, Poller};
pub use signal::shutdown_signal;
