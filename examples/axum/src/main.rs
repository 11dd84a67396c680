//! The accountservice on axum: `cargo run -p accountservice-axum [-- --addr HOST:PORT]`.
//!
//! Parses the command line and runs the program both examples share (`accountservice_core::program`): it installs
//! routemeter (which finds every annotated handler), binds the address, prints where it listens and serves until
//! ctrl-c or SIGTERM; with `--metrics-addr` it also serves `/metrics` there with routemeter's stand-alone server.
//! `--print-dashboard` and `--print-rules` print what `routemeter-ops` makes of the handlers, the hyper example's.

use std::process::ExitCode;

use accountservice_axum::cli;
use accountservice_core::program::Program;
use routemeter::ServeOptions;

/// What the program calls itself in its messages and in the server's logs.
const NAME: &str = "accountservice-axum";

#[tokio::main]
async fn main() -> ExitCode {
    let command = cli::parse(std::env::args_os().skip(1), |name| std::env::var(name).ok());
    let program = Program {
        name: NAME,
        usage: cli::USAGE,
    };
    program
        .run(command, |listener, exporter, _settings, stop| {
            let options = ServeOptions::default()
                .max_connections_within_descriptor_limit()
                .log_name(NAME);
            accountservice_axum::serve(listener, exporter, options, stop)
        })
        .await
}
