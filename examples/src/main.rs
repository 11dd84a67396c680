//! The accountservice example: `cargo run --release --example accountservice [-- --addr HOST:PORT]`.
//!
//! Parses the command line and runs the program both examples share (`accountservice_core::program`): it installs
//! routemeter (which finds every annotated handler), binds the address, prints where it listens and serves until
//! ctrl-c or SIGTERM; with `--metrics-addr` it also serves `/metrics` there with routemeter's stand-alone server.
//! Everything else lives in the `accountservice` library, so the metrics carry its name.

use std::process::ExitCode;

use accountservice::cli;
use accountservice::Options;
use accountservice_core::program::Program;

#[tokio::main]
async fn main() -> ExitCode {
    let command = cli::parse(std::env::args_os().skip(1), |name| std::env::var(name).ok());
    let program = Program {
        name: "accountservice",
        usage: cli::USAGE,
    };
    program
        .run(command, |listener, exporter, settings, stop| {
            let options = Options::default().instrumentation(settings.instrumentation);
            accountservice::serve(listener, exporter, options, stop)
        })
        .await
}
