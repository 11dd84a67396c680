//! What both example binaries do with their command line: print the usage, the dashboard or the rules, or install
//! routemeter, listen, and serve until ctrl-c or SIGTERM, with routemeter's stand-alone `/metrics` server beside the
//! service when `--metrics-addr` asks for it. A binary brings its name, its usage text and how it serves.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::process::ExitCode;

use routemeter::{Exporter, ServeOptions};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::cli::{CliError, Command, Settings};
use crate::{listen, shutdown_signal};

/// Completes when the program has been asked to stop; both servers get one.
pub type Stop = Pin<Box<dyn Future<Output = ()> + Send>>;

/// What the program needs from the settings of a run, whichever binary parsed them.
pub trait RunSettings {
    /// The address to listen on.
    fn addr(&self) -> &str;
    /// Where the stand-alone `/metrics` server listens, if anywhere.
    fn metrics_addr(&self) -> Option<&str>;
    /// Said after the address in the line announcing where the service listens (with a leading space).
    fn description(&self) -> String {
        String::new()
    }
}

impl RunSettings for Settings {
    fn addr(&self) -> &str {
        &self.addr
    }

    fn metrics_addr(&self) -> Option<&str> {
        self.metrics_addr.as_deref()
    }
}

/// One example binary.
pub struct Program {
    /// What the binary calls itself in its messages.
    pub name: &'static str,
    /// Its `--help` text.
    pub usage: &'static str,
}

impl Program {
    /// Carries out `command`, serving a run with `serve` (on the bound listener, until its [`Stop`] completes).
    /// Returns 2 for a command line that cannot be understood, 1 when the service cannot be set up or fails.
    pub async fn run<S, Fut>(
        &self,
        command: Result<Command<S>, CliError>,
        serve: impl FnOnce(TcpListener, Exporter, S, Stop) -> Fut,
    ) -> ExitCode
    where
        S: RunSettings,
        Fut: Future<Output = io::Result<()>>,
    {
        let name = self.name;
        let command = match command {
            Ok(Command::Help) => {
                print!("{}", self.usage);
                return ExitCode::SUCCESS;
            }
            Ok(command) => command,
            Err(err) => {
                eprintln!("{name}: {err}\n\n{}", self.usage);
                return ExitCode::from(2);
            }
        };
        let exporter = match routemeter::install() {
            Ok(exporter) => exporter,
            Err(err) => {
                eprintln!("{name}: cannot set up metrics: {err}");
                return ExitCode::FAILURE;
            }
        };
        let settings = match command {
            Command::Run(settings) => settings,
            // Both examples have the same handlers, so the same dashboard and rules.
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
        let listener = match listen(settings.addr()).await {
            Ok(listener) => listener,
            Err(err) => {
                eprintln!("{name}: cannot listen on {}: {err}", settings.addr());
                return ExitCode::FAILURE;
            }
        };
        match listener.local_addr() {
            Ok(local) => println!(
                "{name} listening on http://{local}{}",
                settings.description()
            ),
            Err(err) => eprintln!("{name}: listening, but cannot tell where: {err}"),
        }
        // One signal stops both servers.
        let (stop, stopping) = watch::channel(false);
        tokio::spawn(async move {
            shutdown_signal().await;
            let _ = stop.send(true);
        });
        if let Some(metrics_addr) = settings.metrics_addr() {
            let metrics_listener = match listen(metrics_addr).await {
                Ok(listener) => listener,
                Err(err) => {
                    eprintln!("{name}: cannot listen on {metrics_addr}: {err}");
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
                    eprintln!("{name}: the /metrics server stopped: {err}");
                }
            });
        }
        match serve(listener, exporter, settings, stopped(stopping)).await {
            Ok(()) => {
                println!("{name} stopped");
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("{name}: {err}");
                ExitCode::FAILURE
            }
        }
    }
}

/// Completes once `stopping` says stop (or its sender is gone).
fn stopped(mut stopping: watch::Receiver<bool>) -> Stop {
    Box::pin(async move {
        let _ = stopping.wait_for(|stop| *stop).await;
    })
}
