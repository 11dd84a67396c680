//! Real processes for the end-to-end tests: built, started, and always stopped.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use crate::TestResult;

/// A child process that is killed when this guard drops, also when a test fails midway.
#[derive(Debug)]
pub struct Running {
    name: String,
    child: Child,
}

impl Running {
    /// Starts `command` with its standard output piped and its standard error inherited.
    ///
    /// # Errors
    /// When the program cannot be started.
    pub fn start(name: &str, mut command: Command) -> TestResult<Running> {
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|err| format!("cannot start {name}: {err}"))?;
        Ok(Running {
            name: name.to_owned(),
            child,
        })
    }

    /// Takes the standard output, to read what the process prints.
    ///
    /// # Errors
    /// When it was already taken.
    pub fn stdout(&mut self) -> TestResult<BufReader<ChildStdout>> {
        let stdout = self.child.stdout.take().ok_or("stdout already taken")?;
        Ok(BufReader::new(stdout))
    }

    /// Fails if the process has exited.
    ///
    /// # Errors
    /// The process exited, with its status.
    pub fn check_alive(&mut self) -> TestResult {
        match self.child.try_wait()? {
            Some(status) => Err(format!("{} exited: {status}", self.name).into()),
            None => Ok(()),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The workspace's root directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Builds the accountservice example in release mode and returns the executable's path.
///
/// # Errors
/// When the build fails.
pub fn release_accountservice() -> TestResult<PathBuf> {
    let root = workspace_root();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(&root)
        .args([
            "build",
            "--release",
            "--quiet",
            "-p",
            "accountservice",
            "--example",
            "accountservice",
        ])
        .status()?;
    if !status.success() {
        return Err(format!("building the release example failed: {status}").into());
    }
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    Ok(target.join("release/examples/accountservice"))
}

/// Starts the accountservice executable on an ephemeral loopback port; returns it and its address.
///
/// # Errors
/// When it does not start or does not say where it listens.
pub fn start_accountservice(executable: &Path) -> TestResult<(Running, SocketAddr)> {
    let mut command = Command::new(executable);
    command.args(["--addr", "127.0.0.1:0"]);
    let mut service = Running::start("accountservice", command)?;
    let mut line = String::new();
    service.stdout()?.read_line(&mut line)?;
    // "accountservice listening on http://127.0.0.1:PORT (instrumentation on)"
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .ok_or_else(|| format!("accountservice printed no address: {line:?}"))?
        .parse()?;
    Ok((service, addr))
}

/// A loopback port that was free a moment ago, for a program that must be told its port.
///
/// # Errors
/// When no port can be had.
pub fn free_port() -> TestResult<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Where `program` is on `PATH`, if it is.
pub fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// Finds a program a test needs. Missing under CI is an error (CI installs it); elsewhere the
/// test is skipped with a message saying why.
///
/// # Errors
/// The program is missing and `CI` is set.
pub fn required_program(program: &str, package: &str) -> TestResult<Option<PathBuf>> {
    match find_program(program) {
        Some(path) => Ok(Some(path)),
        None if std::env::var_os("CI").is_some() => Err(format!(
            "`{program}` is not installed, and CI must run this test: apt-get install {package}"
        )
        .into()),
        None => {
            eprintln!(
                "skipped: `{program}` is not on PATH (install the Debian package `{package}`)"
            );
            Ok(None)
        }
    }
}

/// Polls `check` every 200 ms until it returns `Some`, or fails after `timeout` with `what`.
///
/// # Errors
/// The time ran out.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> TestResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return Ok(value);
        }
        if Instant::now() > deadline {
            return Err(format!("timed out after {timeout:?} waiting for {what}").into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
