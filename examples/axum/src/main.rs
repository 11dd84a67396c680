//! The accountservice on axum: `cargo run -p accountservice-axum [-- --addr HOST:PORT]`.
//!
//! Parses the command line, installs routemeter (which finds every annotated handler), binds the address, prints
//! where it listens and serves until ctrl-c or SIGTERM; with `--metrics-addr` it also serves `/metrics` there with
//! routemeter's stand-alone server. `--print-dashboard` and `--print-rules` print what `routemeter-ops` makes of the
//! handlers, the hyper example's.

use std::process::ExitCode;

use accountservice_axum::cli::{self, Command};
use accountservice_core::{listen, shutdown_signal};
use routemeter::ServeOptions;
use tokio::sync::watch;

/// What the program calls itself in its messages and in the server's logs.
const NAME: &str = "accountservice-axum";

#[tokio::main]
async fn main() -> ExitCode {
    let command = match cli::parse(std::env::args_os().skip(1), |name| std::env::var(name).ok()) {
        Ok(Command::Help) => {
            print!("{}", cli::USAGE);
            return ExitCode::SUCCESS;
        }
        Ok(command) => command,
        Err(err) => {
            eprintln!("{NAME}: {err}\n\n{}", cli::USAGE);
            return ExitCode::from(2);
        }
    };
    let exporter = match routemeter::install() {
        Ok(exporter) => exporter,
        Err(err) => {
            eprintln!("{NAME}: cannot set up metrics: {err}");
            return ExitCode::FAILURE;
        }
    };
    let settings = match command {
        Command::Run(settings) => settings,
        // The same handlers as the hyper example's, so the same dashboard and rules.
        Command::PrintDashboard => {
            print!(
                "{}",
                routemeter_ops::grafana_dashboard(&exporter, "accountservice")
            );
            return ExitCode::SUCCESS;
        }
        Command::PrintRules => {
            let thresholds = routemeter_ops::AlertThresholds::default();
            print!(
                "{}",
                routemeter_ops::prometheus_rules(&exporter, thresholds)
            );
            return ExitCode::SUCCESS;
        }
        Command::Help => return ExitCode::SUCCESS,
    };
    let listener = match listen(&settings.addr).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("{NAME}: cannot listen on {}: {err}", settings.addr);
            return ExitCode::FAILURE;
        }
    };
    match listener.local_addr() {
        Ok(local) => println!("{NAME} listening on http://{local}"),
        Err(err) => eprintln!("{NAME}: listening, but cannot tell where: {err}"),
    }
    // One signal stops both servers.
    let (stop, stopping) = watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    let stopped = |mut stopping: watch::Receiver<bool>| async move {
        let _ = stopping.wait_for(|stop| *stop).await;
    };
    if let Some(metrics_addr) = &settings.metrics_addr {
        let metrics_listener = match listen(metrics_addr).await {
            Ok(listener) => listener,
            Err(err) => {
                eprintln!("{NAME}: cannot listen on {metrics_addr}: {err}");
                return ExitCode::FAILURE;
            }
        };
        if let Ok(local) = metrics_listener.local_addr() {
            println!("metrics served on http://{local}/metrics");
        }
        let metrics = exporter.clone().serve_with(
            metrics_listener,
            ServeOptions::default(),
            stopped(stopping.clone()),
        );
        tokio::spawn(async move {
            if let Err(err) = metrics.await {
                eprintln!("{NAME}: the /metrics server stopped: {err}");
            }
        });
    }
    let options = ServeOptions::default()
        .max_connections_within_descriptor_limit()
        .log_name(NAME);
    match accountservice_axum::serve(listener, exporter, options, stopped(stopping)).await {
        Ok(()) => {
            println!("{NAME} stopped");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("{NAME}: {err}");
            ExitCode::FAILURE
        }
    }
}
