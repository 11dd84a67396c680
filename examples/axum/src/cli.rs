//! The binary's command line: `--addr`, `--metrics-addr`, `--print-dashboard`, `--print-rules`, `--help`, and the
//! environment variables of the hyper example. Flags win over the environment, which wins over the defaults.

use std::ffi::OsString;
use std::fmt;

/// Where the service listens unless told otherwise: the tutorial's port, on loopback only, as the hyper example.
pub const DEFAULT_ADDR: &str = "127.0.0.1:6767";

/// Environment variable overriding the default listening address.
pub const ADDR_ENV: &str = "ACCOUNTSERVICE_ADDR";

/// Environment variable naming an address for routemeter's stand-alone `/metrics` server.
pub const METRICS_ADDR_ENV: &str = "ACCOUNTSERVICE_METRICS_ADDR";

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

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Run the service with these settings.
    Run(Settings),
    /// Print [`USAGE`] and exit.
    Help,
    /// Print the Grafana dashboard for this service's handlers and exit.
    PrintDashboard,
    /// Print the Prometheus rules for this service's handlers and exit.
    PrintRules,
}

/// The settings of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The address to listen on, as given (`host:port`; host names are resolved when binding).
    pub addr: String,
    /// Where routemeter's stand-alone `/metrics` server listens as well, if anywhere.
    pub metrics_addr: Option<String>,
}

/// A command line that cannot be understood; the message says what was wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CliError(String);

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CliError {}

/// Parses the arguments (without the program name) with `env` looking up environment variables. Both
/// `--flag value` and `--flag=value` are accepted.
///
/// # Errors
/// An unknown argument, a flag without its value, or an argument that is not UTF-8.
pub fn parse(
    args: impl IntoIterator<Item = OsString>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Command, CliError> {
    let mut addr = None;
    let mut metrics_addr = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let arg = arg
            .into_string()
            .map_err(|arg| CliError(format!("argument {arg:?} is not valid UTF-8")))?;
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg, None),
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--print-dashboard" => return Ok(Command::PrintDashboard),
            "--print-rules" => return Ok(Command::PrintRules),
            "--addr" => addr = Some(value_of(&flag, inline, &mut args)?),
            "--metrics-addr" => metrics_addr = Some(value_of(&flag, inline, &mut args)?),
            other => return Err(CliError(format!("unknown argument {other:?}"))),
        }
    }
    let from_env = |name: &str| env(name).filter(|value| !value.is_empty());
    Ok(Command::Run(Settings {
        addr: addr
            .or_else(|| from_env(ADDR_ENV))
            .unwrap_or_else(|| DEFAULT_ADDR.to_owned()),
        metrics_addr: metrics_addr.or_else(|| from_env(METRICS_ADDR_ENV)),
    }))
}

/// The value of `flag`: the part after `=`, or else the next argument.
fn value_of(
    flag: &str,
    inline: Option<String>,
    rest: &mut impl Iterator<Item = OsString>,
) -> Result<String, CliError> {
    let value = match inline {
        Some(value) => value,
        None => rest
            .next()
            .ok_or_else(|| CliError(format!("{flag} needs a value")))?
            .into_string()
            .map_err(|value| CliError(format!("value {value:?} of {flag} is not valid UTF-8")))?,
    };
    if value.is_empty() {
        return Err(CliError(format!("{flag} needs a value")));
    }
    Ok(value)
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

    fn settings(addr: &str, metrics_addr: Option<&str>) -> Result<Command, CliError> {
        Ok(Command::Run(Settings {
            addr: addr.to_owned(),
            metrics_addr: metrics_addr.map(str::to_owned),
        }))
    }

    #[test]
    fn flags_beat_environment_which_beats_defaults() {
        assert_eq!(run(&[], &[]), settings(DEFAULT_ADDR, None));
        let env = [
            (ADDR_ENV, "0.0.0.0:6767"),
            (METRICS_ADDR_ENV, "0.0.0.0:9100"),
        ];
        assert_eq!(
            run(&[], &env),
            settings("0.0.0.0:6767", Some("0.0.0.0:9100"))
        );
        assert_eq!(
            run(
                &["--addr", "127.0.0.1:1", "--metrics-addr=127.0.0.1:2"],
                &env
            ),
            settings("127.0.0.1:1", Some("127.0.0.1:2"))
        );
    }

    #[test]
    fn help_and_errors() {
        assert_eq!(run(&["--help"], &[]), Ok(Command::Help));
        assert_eq!(run(&["-h", "--bogus"], &[]), Ok(Command::Help));
        assert_eq!(
            run(&["--print-dashboard"], &[]),
            Ok(Command::PrintDashboard)
        );
        assert_eq!(run(&["--print-rules"], &[]), Ok(Command::PrintRules));
        let message = |args: &[&str]| match run(args, &[]) {
            Err(err) => err.to_string(),
            Ok(command) => format!("unexpected success: {command:?}"),
        };
        assert_eq!(message(&["--bogus"]), "unknown argument \"--bogus\"");
        assert_eq!(message(&["--addr"]), "--addr needs a value");
        assert_eq!(
            message(&["--metrics-addr="]),
            "--metrics-addr needs a value"
        );
        assert_eq!(
            message(&["--instrumentation", "off"]),
            "unknown argument \"--instrumentation\""
        );
    }
}
