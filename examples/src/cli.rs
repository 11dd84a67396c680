//! The example binary's command line: the one both examples share (`--addr`, `--metrics-addr`,
//! `--print-dashboard`, `--print-rules`, `--help` and their environment variables), plus `--instrumentation` and its
//! variable. Flags win over the environment, which wins over the defaults.

use std::ffi::OsString;

use accountservice_core::cli::{self as shared, from_env};
pub use accountservice_core::cli::{CliError, ADDR_ENV, DEFAULT_ADDR, METRICS_ADDR_ENV};
use accountservice_core::program::RunSettings;

use crate::options::Instrumentation;

/// Environment variable overriding the default instrumentation switch (`on`, `off` or `handwritten`).
pub const INSTRUMENTATION_ENV: &str = "ACCOUNTSERVICE_INSTRUMENTATION";

/// The `--help` text.
pub const USAGE: &str = "\
accountservice: the tutorial's account service, monitored with routemeter

Usage: accountservice [--addr HOST:PORT] [--instrumentation on|off|handwritten] [--metrics-addr HOST:PORT]
       accountservice --print-dashboard | --print-rules

Options:
  --addr HOST:PORT            where to listen [env: ACCOUNTSERVICE_ADDR] [default: 127.0.0.1:6767]
  --instrumentation MODE      on: monitor the routes with routemeter; off: run the bare handlers;
                              handwritten: a prometheus-crate middleware written by hand, to compare
                              [env: ACCOUNTSERVICE_INSTRUMENTATION] [default: on]
  --metrics-addr HOST:PORT    also serve GET /metrics there, with routemeter's stand-alone server
                              [env: ACCOUNTSERVICE_METRICS_ADDR] [default: none]
  --print-dashboard           print the Grafana dashboard of these routes and exit
  --print-rules               print the Prometheus alerting and recording rules and exit
  -h, --help                  print this help

Routes: GET /accounts/{accountId}, POST /accounts, PUT /accounts, POST /graphql,
        GET /health, GET /testability/healthy/{true|false}, GET /metrics
";

/// What the command line asks for.
pub type Command = shared::Command<Settings>;

/// The settings of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The address to listen on, as given (`host:port`; host names are resolved when binding).
    pub addr: String,
    /// Monitored or bare handlers.
    pub instrumentation: Instrumentation,
    /// Where routemeter's stand-alone `/metrics` server listens as well, if anywhere.
    pub metrics_addr: Option<String>,
}

impl RunSettings for Settings {
    fn addr(&self) -> &str {
        &self.addr
    }

    fn metrics_addr(&self) -> Option<&str> {
        self.metrics_addr.as_deref()
    }

    /// Scripts that compare the modes check that the service runs the one they asked for.
    fn description(&self) -> String {
        format!(" (instrumentation {})", self.instrumentation)
    }
}

/// Parses the arguments (without the program name) with `env` looking up environment variables.
///
/// Both `--flag value` and `--flag=value` are accepted.
///
/// # Errors
/// An unknown argument, a flag without its value, a value that is not valid, or an argument that is not UTF-8.
pub fn parse(
    args: impl IntoIterator<Item = OsString>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Command, CliError> {
    shared::parse(args, &env, &["--instrumentation"])?.try_map(|shared| {
        let instrumentation = match shared.own.into_iter().next().flatten() {
            Some(value) => value.parse().map_err(CliError)?,
            None => match from_env(&env, INSTRUMENTATION_ENV) {
                Some(value) => value
                    .parse()
                    .map_err(|err| CliError(format!("{INSTRUMENTATION_ENV}: {err}")))?,
                None => Instrumentation::default(),
            },
        };
        Ok(Settings {
            addr: shared.addr,
            instrumentation,
            metrics_addr: shared.metrics_addr,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str], env: &[(&str, &str)]) -> Result<Command, CliError> {
        let args = args.iter().map(OsString::from);
        parse(args, |name| {
            env.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    fn settings(addr: &str, instrumentation: Instrumentation) -> Result<Command, CliError> {
        Ok(Command::Run(Settings {
            addr: addr.to_owned(),
            instrumentation,
            metrics_addr: None,
        }))
    }

    #[test]
    fn defaults() {
        assert_eq!(run(&[], &[]), settings(DEFAULT_ADDR, Instrumentation::On));
    }

    #[test]
    fn flags_beat_environment() {
        let env = [(ADDR_ENV, "0.0.0.0:6767"), (INSTRUMENTATION_ENV, "off")];
        assert_eq!(
            run(&[], &env),
            settings("0.0.0.0:6767", Instrumentation::Off)
        );
        assert_eq!(
            run(&["--addr", "127.0.0.1:1", "--instrumentation=on"], &env),
            settings("127.0.0.1:1", Instrumentation::On)
        );
        assert_eq!(
            run(&["--addr=[::1]:80"], &[]),
            settings("[::1]:80", Instrumentation::On)
        );
    }

    #[test]
    fn help_and_errors() {
        assert_eq!(run(&["--help"], &[]), Ok(Command::Help));
        let message = |args: &[&str], env: &[(&str, &str)]| match run(args, env) {
            Err(err) => err.to_string(),
            Ok(command) => format!("unexpected success: {command:?}"),
        };
        assert_eq!(message(&["--bogus"], &[]), "unknown argument \"--bogus\"");
        assert_eq!(
            message(&["--instrumentation"], &[]),
            "--instrumentation needs a value"
        );
        assert!(message(&["--instrumentation", "maybe"], &[])
            .contains("`on`, `off` or `handwritten`, got \"maybe\""));
        assert!(message(&[], &[(INSTRUMENTATION_ENV, "x")]).starts_with(INSTRUMENTATION_ENV));
    }
}
