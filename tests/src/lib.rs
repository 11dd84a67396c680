//! Shared helpers of the routemeter test suite.
//!
//! - [`service`]: the accountservice example running in-process on an ephemeral port;
//! - [`client`]: a small HTTP client returning whole responses;
//! - [`raw`]: raw TCP exchanges for malformed or slow requests;
//! - [`server`]: a hyper server for a test's own handlers (cancellation, panics, exposition under load);
//! - [`exposition`]: a strict parser of the Prometheus text format, for exact assertions on `/metrics`;
//! - [`series`]: one instrumented handler's series read out of a parsed exposition;
//! - [`process`] and [`prometheus`]: real processes (the release example, a Prometheus server) for the
//!   end-to-end tests;
//! - [`docker`]: a real Docker engine, swarm, images, stacks and compose projects for the deployment
//!   tests, and [`deployment`]: the tutorial's load and queries against what they deploy.

pub mod client;
pub mod deployment;
pub mod docker;
pub mod exposition;
pub mod process;
pub mod prometheus;
pub mod raw;
pub mod series;
pub mod server;
pub mod service;

/// The result type of helpers and tests: any error, with a message, instead of a panic.
pub type TestResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;
