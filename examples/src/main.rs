//! The accountservice example: `cargo run --release --example accountservice [-- --addr HOST:PORT]`.
//!
//! Parses the command line, installs routemeter (which finds every annotated handler), binds the address, prints
//! where it listens and serves until ctrl-c or SIGTERM; with `--metrics-addr` it also serves `/metrics` there with
//! routemeter's stand-alone server. Everything else lives in the `accountservice` library, so the metrics carry
//! its name.

use std::process::ExitCode;

use accountservice::cli::{self, Command};
use accountservice::Options;
use routemeter::ServeOptions;
use tokio::sync::watch;

#[tokio::main]
async fn main() -> ExitCode {
    let command = match cli::parse(std::env::args_os().skip(1), |name| std::env::var(name).ok()) {
        Ok(Command::Help) => {
            print!("{}", cli::USAGE);
            return ExitCode::SUCCESS;
        }
        Ok(command) => command,
        Err(err) => {
            eprintln!("accountservice: {err}\n\n{}", cli::USAGE);
            return ExitCode::from(2);
        }
    };
    let exporter = match routemeter::install() {
        Ok(exporter) => exporter,
        Err(err) => {
            eprintln!("accountservice: cannot set up metrics: {err}");
            return ExitCode::FAILURE;
        }
    };
    let settings = match command {
        Command::Run(settings) => settings,
        Command::PrintDashboard => {
            print!(
                "{}",
                routemeter_ops::grafana_dashboard(&exporter, "accountservice")
            );
            return ExitCode::SUCCESS;
        }
        Command::PrintRules => {
            print!(
                "{}",
                routemeter_ops::prometheus_rules(
                    &exporter,
                    routemeter_ops::AlertThresholds::default()
                )
            );
            return ExitCode::SUCCESS;
        }
        Command::Help => return ExitCode::SUCCESS,
    };
    let listener = match accountservice::listen(&settings.addr).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("accountservice: cannot listen on {}: {err}", settings.addr);
            return ExitCode::FAILURE;
        }
    };
    match listener.local_addr() {
        Ok(local) => println!(
            "accountservice listening on http://{local} (instrumentation {})",
            settings.instrumentation
        ),
        Err(err) => eprintln!("accountservice: listening, but cannot tell where: {err}"),
    }
    // One signal stops both servers.
    let (stop, stopping) = watch::channel(false);
    tokio::spawn(async move {
        accountservice::shutdown_signal().await;
        let _ = stop.send(true);
    });
    let stopped = |mut stopping: watch::Receiver<bool>| async move {
        let _ = stopping.wait_for(|stop| *stop).await;
    };
    if let Some(metrics_addr) = &settings.metrics_addr {
        let metrics_listener = match accountservice::listen(metrics_addr).await {
            Ok(listener) => listener,
            Err(err) => {
                eprintln!("accountservice: cannot listen on {metrics_addr}: {err}");
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
                eprintln!("accountservice: the /metrics server stopped: {err}");
            }
        });
    }
    let options = Options::default().instrumentation(settings.instrumentation);
    match accountservice::serve(listener, exporter, options, stopped(stopping)).await {
        Ok(()) => {
            println!("accountservice stopped");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("accountservice: {err}");
            ExitCode::FAILURE
        }
    }
}
