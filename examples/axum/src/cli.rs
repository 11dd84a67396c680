//! The binary's command line: the one both examples share (`--addr`, `--metrics-addr`, `--print-dashboard`,
//! `--print-rules`, `--help`, and the hyper example's environment variables), with no flag of its own. Flags win
//! over the environment, which wins over the defaults.

use std::ffi::OsString;

pub use accountservice_core::cli::{
    CliError, Command, Settings, ADDR_ENV, DEFAULT_ADDR, METRICS_ADDR_ENV,
};

/// The `--help` text.
pub const USAGE: &str = "\
accountservice-axum: the tutorial's account service on axum, monitored with routemeter

Usage: accountservice-axum [--addr HOST:PORT] [--metrics-addr HOST:PORT]
       accountservice-axum --print-dashboard | --print-rules

Options:
  --addr HOST:PORT            where to listen [env: ACCOUNTSERVICE_ADDR] [default: 127.0.0.1:6767]
  --metrics-addr HOST:PORT    also serve GET /metrics there, with routemeter's stand-alone server
                              [env: ACCOUNTSERVICE_METRICS_ADDR] [default: none]
  --print-dashboard           print the Grafana dashboard of these routes and exit
  --print-rules               print the Prometheus alerting and recording rules and exit
  -h, --help                  print this help

Routes: GET /accounts/{accountId}, POST /accounts, PUT /accounts, GET /accounts/export,
        POST /graphql, GET /health, GET /testability/healthy/{true|false}, GET /metrics
";

/// Parses the arguments (without the program name) with `env` looking up environment variables. Both
/// `--flag value` and `--flag=value` are accepted.
///
/// # Errors
/// An unknown argument, a flag without its value, or an argument that is not UTF-8.
pub fn parse(
    args: impl IntoIterator<Item = OsString>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Command, CliError> {
    accountservice_core::cli::parse(args, env, &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hyper_examples_own_flag_is_not_one() {
        let args = ["--instrumentation", "off"].map(OsString::from);
        assert_eq!(
            parse(args, |_| None),
            Err(CliError(
                "unknown argument \"--instrumentation\"".to_owned()
            ))
        );
    }
}
