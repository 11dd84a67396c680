//! A real Docker engine for the deployment tests: the engine itself (the running one, or a
//! `dockerd` started and stopped again), a single-manager swarm, images built offline from static
//! binaries, and HTTP to containers on their own loopback.
//!
//! No registry is reachable where the tests run, so every image is built `FROM scratch`
//! (`deploy/static/`): the example and swarm-discovery from static binaries, Prometheus from
//! Debian's binary and the libraries it links. Each guard removes what it made when it drops, also
//! when a test fails midway, and touches nothing else.

mod binaries;
mod cli;
mod compose;
mod engine;
mod image;
mod leftovers;
mod namespace;
mod prometheus;
mod replica;
mod run_id;
mod stack;
mod swarm;

pub use binaries::{static_binaries, StaticBinaries};
pub use cli::{checked, Docker};
pub use compose::{Compose, ComposeProject};
pub use engine::Engine;
pub use image::{accountservice_image, prometheus_image, swarm_discovery_image, Image};
pub use namespace::ContainerPort;
pub use prometheus::{ContainerPrometheus, Target};
pub use replica::{compose_replicas, container_pid, instances, swarm_replicas, Replica};
pub use run_id::run_id;
pub use stack::Stack;
pub use swarm::Swarm;
