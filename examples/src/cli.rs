//! The example binary's command line: `--addr`, `--instrumentation`, `--metrics-addr`, `--help`, and their
//! environment variables.
//!
//! Hand-written because a few options do not justify a parser dependency. Flags win over the environment, which
//! wins over the defaults, so a container image can set the environment and an operator can still override it.

use std::ffi::OsString;
use std::fmt;

use crate::options::Instrumentation;

/// Where the service listens unless told otherwise: the tutorial's port, on loopback only, so that a first run does
/// not expose the service to the network. The Docker image passes `0.0.0.0:6767`.
pub const DEFAULT_ADDR: &str = "127.0.0.1:6767";

/// Environment variable overriding the default listening address.
pub const ADDR_ENV: &str = "ACCOUNTSERVICE_ADDR";

/// Environment variable overriding the default instrumentation switch (`on`, `off` or `handwritten`).
pub const INSTRUMENTATION_ENV: &str = "ACCOUNTSERVICE_INSTRUMENTATION";

/// Environment variable naming an address for routemeter's stand-alone `/metrics` server.
pub const METRICS_ADDR_ENV: &str = "ACCOUNTSERVICE_METRICS_ADDR";

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
    /// Monitored or bare handlers.
    pub instrumentation: Instrumentation,
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
    let mut addr = None;
    let mut instrumentation = None;
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
            "--instrumentation" => {
                let value = value_of(&flag, inline, &mut args)?;
                instrumentation = Some(value.parse().map_err(CliError)?);
            }
            other => return Err(CliError(format!("unknown argument {other:?}"))),
        }
    }
    let addr = addr
        .or_else(|| env(ADDR_ENV).filter(|value| !value.is_empty()))
        .unwrap_or_else(|| DEFAULT_ADDR.to_owned());
    let instrumentation = match instrumentation {
        Some(instrumentation) => instrumentation,
        None => match env(INSTRUMENTATION_ENV).filter(|value| !value.is_empty()) {
            Some(value) => value
                .parse()
                .map_err(|err| CliError(format!("{INSTRUMENTATION_ENV}: {err}")))?,
            None => Instrumentation::default(),
        },
    };
    let metrics_addr =
        metrics_addr.or_else(|| env(METRICS_ADDR_ENV).filter(|value| !value.is_empty()));
    Ok(Command::Run(Settings {
        addr,
        instrumentation,
        metrics_addr,
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
    fn metrics_address_from_flag_or_environment() {
        let with_metrics = |addr: &str| {
            Ok(Command::Run(Settings {
                addr: DEFAULT_ADDR.to_owned(),
                instrumentation: Instrumentation::On,
                metrics_addr: Some(addr.to_owned()),
            }))
        };
        assert_eq!(
            run(&["--metrics-addr", "127.0.0.1:9100"], &[]),
            with_metrics("127.0.0.1:9100")
        );
        let env = [(METRICS_ADDR_ENV, "0.0.0.0:9100")];
        assert_eq!(run(&[], &env), with_metrics("0.0.0.0:9100"));
        assert_eq!(
            run(&["--metrics-addr=127.0.0.1:1"], &env),
            with_metrics("127.0.0.1:1")
        );
    }

    #[test]
    fn help_and_errors() {
        assert_eq!(run(&["--help"], &[]), Ok(Command::Help));
        assert_eq!(
            run(&["--print-dashboard"], &[]),
            Ok(Command::PrintDashboard)
        );
        assert_eq!(run(&["--print-rules"], &[]), Ok(Command::PrintRules));
        assert_eq!(run(&["-h", "--bogus"], &[]), Ok(Command::Help));
        let message = |args: &[&str], env: &[(&str, &str)]| match run(args, env) {
            Err(err) => err.to_string(),
            Ok(command) => format!("unexpected success: {command:?}"),
        };
        assert_eq!(message(&["--bogus"], &[]), "unknown argument \"--bogus\"");
        assert_eq!(message(&["--addr"], &[]), "--addr needs a value");
        assert_eq!(message(&["--addr="], &[]), "--addr needs a value");
        assert!(message(&["--instrumentation", "maybe"], &[])
            .contains("`on`, `off` or `handwritten`, got \"maybe\""));
        assert!(message(&[], &[(INSTRUMENTATION_ENV, "x")]).starts_with(INSTRUMENTATION_ENV));
    }
}
