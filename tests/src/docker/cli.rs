//! The `docker` command-line client, and the output of a command or an error with all it printed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::TestResult;

/// The Docker command-line client, with the environment its commands get.
#[derive(Clone, Debug)]
pub struct Docker {
    program: PathBuf,
    env: Vec<(String, String)>,
}

impl Docker {
    /// The client at `program`, with the test's own environment.
    pub fn new(program: PathBuf) -> Docker {
        Docker {
            program,
            env: Vec::new(),
        }
    }

    /// Where the client is.
    pub fn program(&self) -> &Path {
        &self.program
    }

    /// The same client, with `name=value` in the environment of its commands (the variables the
    /// stack and compose files read).
    pub fn with_env(&self, name: &str, value: &str) -> Docker {
        let mut docker = self.clone();
        docker.env.push((name.to_owned(), value.to_owned()));
        docker
    }

    /// `program` (`docker`, or another client such as `docker-compose`) with this environment.
    pub fn command_of(&self, program: &Path) -> Command {
        let mut command = Command::new(program);
        command
            .stdin(Stdio::null())
            .envs(self.env.iter().map(|(name, value)| (name, value)));
        command
    }

    /// A `docker` command with `args`.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = self.command_of(&self.program);
        command.args(args);
        command
    }

    /// Runs `docker args` and returns what it printed.
    ///
    /// # Errors
    /// When it cannot start or exits with a failure; the error holds what it printed.
    pub fn run(&self, args: &[&str]) -> TestResult<String> {
        checked(
            &format!("docker {}", args.join(" ")),
            self.command(args).output()?,
        )
    }

    /// Runs `docker args`, expecting JSON (`docker inspect` and friends).
    ///
    /// # Errors
    /// As [`Docker::run`], or output that is not JSON.
    pub fn json(&self, args: &[&str]) -> TestResult<Value> {
        Ok(serde_json::from_str(&self.run(args)?)?)
    }

    /// The lines `docker args` printed, without empty ones.
    ///
    /// # Errors
    /// As [`Docker::run`].
    pub fn lines(&self, args: &[&str]) -> TestResult<Vec<String>> {
        Ok(self
            .run(args)?
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(str::to_owned)
            .collect())
    }

    /// Whether an engine answers.
    pub fn engine_answers(&self) -> bool {
        self.run(&["info", "--format", "{{.ServerVersion}}"])
            .is_ok()
    }
}

/// The output of a finished command, or an error with everything it printed.
///
/// # Errors
/// The command exited with a failure.
pub fn checked(what: &str, output: Output) -> TestResult<String> {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.success() {
        return Ok(stdout);
    }
    Err(format!(
        "{what}: {}\n{stdout}{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    )
    .into())
}
