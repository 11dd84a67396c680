//! Shared helpers of the routemeter test suite.
//!
//! - [`service`]: the accountservice example running in-process on an ephemeral port;
//! - [`client`]: a small HTTP client returning whole responses;
//! - [`raw`]: raw TCP exchanges for malformed or slow requests;
//! - [`server`]: a hyper server for a test's own handlers (cancellation, panics, exposition under load), metered
//!   or not;
//! - [`metrics_server`]: routemeter's stand-alone `/metrics` server, in-process;
//! - [`paced`]: a response body sent in paced frames, failing at a chosen frame if asked;
//! - [`streaming`]: a response read frame by frame over HTTP/1.1 or HTTP/2, and dropped mid-body at will;
//! - [`exposition`]: a strict parser of the Prometheus text format, for exact assertions on `/metrics`;
//! - [`series`]: one instrumented handler's series read out of a parsed exposition;
//! - [`strict`]: the Python client's OpenMetrics parser, run as a program;
//! - [`trace`]: a W3C `traceparent` written and read back as an OpenTelemetry context, for exemplars;
//! - [`process`] and [`prometheus`]: real processes (the release example, a Prometheus server) for the
//!   end-to-end tests;
//! - [`resources`]: what a process uses (memory, CPU time, descriptors), read from `/proc`.
//! - [`docker`]: a real Docker engine, swarm, images, stacks and compose projects for the deployment
//!   tests, and [`deployment`]: the tutorial's load and queries against what they deploy.

pub mod body_checks;
pub mod client;
pub mod deployment;
pub mod docker;
pub mod exposition;
pub mod metrics_server;
pub mod paced;
pub mod process;
pub mod prometheus;
pub mod raw;
pub mod resources;
pub mod series;
pub mod server;
pub mod server_task;
pub mod service;
pub mod streaming;
pub mod strict;
pub mod trace;

/// The result type of helpers and tests: any error, with a message, instead of a panic.
pub type TestResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;
