//! The command line both example binaries share: `--addr`, `--metrics-addr`, `--print-dashboard`, `--print-rules`,
//! `--help` and their environment variables, plus the value flags a binary adds of its own (the hyper example's
//! `--instrumentation`).
//!
//! Hand-written because a few options do not justify a parser dependency. Flags win over the environment, which
//! wins over the defaults, so a container image can set the environment and an operator can still override it.

use std::ffi::OsString;
use std::fmt;

/// Where the service listens unless told otherwise: the tutorial's port, on loopback only, so that a first run does
/// not expose the service to the network. The Docker image passes `0.0.0.0:6767`.
pub const DEFAULT_ADDR: &str = "127.0.0.1:6767";

/// Environment variable overriding the default listening address.
pub const ADDR_ENV: &str = "ACCOUNTSERVICE_ADDR";

/// Environment variable naming an address for routemeter's stand-alone `/metrics` server.
pub const METRICS_ADDR_ENV: &str = "ACCOUNTSERVICE_METRICS_ADDR";

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command<S = Settings> {
    /// Run the service with these settings.
    Run(S),
    /// Print the usage text and exit.
    Help,
    /// Print the Grafana dashboard for this service's handlers and exit.
    PrintDashboard,
    /// Print the Prometheus rules for this service's handlers and exit.
    PrintRules,
}

impl<S> Command<S> {
    /// The same command, with the settings of a run made into `T` by `make` (which may refuse them).
    ///
    /// # Errors
    /// Whatever `make` returns.
    pub fn try_map<T>(
        self,
        make: impl FnOnce(S) -> Result<T, CliError>,
    ) -> Result<Command<T>, CliError> {
        Ok(match self {
            Command::Run(settings) => Command::Run(make(settings)?),
            Command::Help => Command::Help,
            Command::PrintDashboard => Command::PrintDashboard,
            Command::PrintRules => Command::PrintRules,
        })
    }
}

/// The settings of a run that every example has.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    /// The address to listen on, as given (`host:port`; host names are resolved when binding).
    pub addr: String,
    /// Where routemeter's stand-alone `/metrics` server listens as well, if anywhere.
    pub metrics_addr: Option<String>,
    /// The values of the binary's own flags that were given, in the order of the flags it named.
    pub own: Vec<Option<String>>,
}

/// A command line that cannot be understood; the message says what was wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CliError(pub String);

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CliError {}

/// Parses the arguments (without the program name) with `env` looking up environment variables, accepting besides
/// the shared flags the value flags in `own` (such as `"--instrumentation"`), whose values come back in
/// [`Settings::own`]. Both `--flag value` and `--flag=value` are accepted.
///
/// # Errors
/// An unknown argument, a flag without its value, or an argument that is not UTF-8.
pub fn parse(
    args: impl IntoIterator<Item = OsString>,
    env: impl Fn(&str) -> Option<String>,
    own: &[&str],
) -> Result<Command, CliError> {
    let mut addr = None;
    let mut metrics_addr = None;
    let mut own_values = vec![None; own.len()];
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
            other => match own.iter().position(|name| *name == other) {
                Some(index) => own_values[index] = Some(value_of(&flag, inline, &mut args)?),
                None => return Err(CliError(format!("unknown argument {other:?}"))),
            },
        }
    }
    Ok(Command::Run(Settings {
        addr: addr
            .or_else(|| from_env(&env, ADDR_ENV))
            .unwrap_or_else(|| DEFAULT_ADDR.to_owned()),
        metrics_addr: metrics_addr.or_else(|| from_env(&env, METRICS_ADDR_ENV)),
        own: own_values,
    }))
}

/// The value of environment variable `name`, unless it is unset or empty.
pub fn from_env(env: impl Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    env(name).filter(|value| !value.is_empty())
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
        let env = |name: &str| {
            env.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        };
        parse(args, env, &["--mode"])
    }

    fn settings(
        addr: &str,
        metrics_addr: Option<&str>,
        mode: Option<&str>,
    ) -> Result<Command, CliError> {
        Ok(Command::Run(Settings {
            addr: addr.to_owned(),
            metrics_addr: metrics_addr.map(str::to_owned),
            own: vec![mode.map(str::to_owned)],
        }))
    }

    #[test]
    fn flags_beat_environment_which_beats_defaults() {
        assert_eq!(run(&[], &[]), settings(DEFAULT_ADDR, None, None));
        let env = [
            (ADDR_ENV, "0.0.0.0:6767"),
            (METRICS_ADDR_ENV, "0.0.0.0:9100"),
        ];
        assert_eq!(
            run(&[], &env),
            settings("0.0.0.0:6767", Some("0.0.0.0:9100"), None)
        );
        assert_eq!(
            run(
                &[
                    "--addr",
                    "127.0.0.1:1",
                    "--metrics-addr=127.0.0.1:2",
                    "--mode",
                    "x"
                ],
                &env
            ),
            settings("127.0.0.1:1", Some("127.0.0.1:2"), Some("x"))
        );
        assert_eq!(
            run(&["--addr=[::1]:80"], &[]),
            settings("[::1]:80", None, None)
        );
        // An empty variable is as good as none.
        assert_eq!(
            run(&[], &[(ADDR_ENV, "")]),
            settings(DEFAULT_ADDR, None, None)
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
        assert_eq!(message(&["--addr="]), "--addr needs a value");
        assert_eq!(
            message(&["--metrics-addr="]),
            "--metrics-addr needs a value"
        );
        assert_eq!(message(&["--mode"]), "--mode needs a value");
        assert_eq!(
            parse(["--mode"].map(OsString::from), |_| None, &[]),
            Err(CliError("unknown argument \"--mode\"".to_owned()))
        );
    }

    #[test]
    fn settings_of_a_run_can_be_refused() {
        let refused = run(&["--mode", "x"], &[])
            .and_then(|command| command.try_map(|_| Err::<(), _>(CliError("no".to_owned()))));
        assert_eq!(refused, Err(CliError("no".to_owned())));
        assert_eq!(
            Command::<Settings>::Help.try_map(|_| Ok(1)),
            Ok(Command::Help)
        );
    }
}
