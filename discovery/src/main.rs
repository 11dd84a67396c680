//! The `swarm-discovery` binary: parse flags, then run the poll loop until a signal.

use std::process::ExitCode;

use clap::Parser;
use swarm_discovery::{run, shutdown_signal, Cli};

fn main() -> ExitCode {
    // Bad flags: clap prints the error and usage, and exits with status 2.
    let cli = Cli::parse();
    let config = match cli.into_config() {
        Ok(config) => config,
        Err(problem) => {
            eprintln!("swarm-discovery: error: {problem}");
            return ExitCode::from(2);
        }
    };
    // One thread is plenty for two HTTP calls every few seconds.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(problem) => {
            eprintln!("swarm-discovery: error: cannot start the async runtime: {problem}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(config, shutdown_signal())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(problem) => {
            eprintln!("swarm-discovery: error: {problem}");
            ExitCode::FAILURE
        }
    }
}
