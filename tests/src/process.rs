//! Real processes for the end-to-end tests: built, started, and always stopped.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::TestResult;

/// A child process that is killed when this guard drops, also when a test fails midway.
#[derive(Debug)]
pub struct Running {
    name: String,
    child: Child,
    /// The lines the process wrote to standard error, when they are collected.
    stderr: Option<Arc<Mutex<Vec<String>>>>,
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
            stderr: None,
        })
    }

    /// Starts `command` like [`Running::start`], and collects what it writes to standard error (still passing
    /// it on to this process's standard error, so a failing test shows it).
    ///
    /// # Errors
    /// When the program cannot be started.
    pub fn start_collecting_stderr(name: &str, mut command: Command) -> TestResult<Running> {
        command.stderr(Stdio::piped());
        let mut running = Running::start(name, command)?;
        let stderr = running.child.stderr.take().ok_or("stderr not piped")?;
        let lines = Arc::new(Mutex::new(Vec::new()));
        let collected = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("{line}");
                collected
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(line);
            }
        });
        running.stderr = Some(lines);
        Ok(running)
    }

    /// The lines written to standard error so far, if they are collected.
    pub fn stderr_lines(&self) -> Vec<String> {
        self.stderr.as_ref().map_or_else(Vec::new, |lines| {
            lines.lock().unwrap_or_else(PoisonError::into_inner).clone()
        })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
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
    let addr = address_in(&line)?;
    Ok((service, addr))
}

/// An accountservice executable running with a limit on open files, serving `/metrics` on a port of its own too.
#[derive(Debug)]
pub struct LimitedService {
    /// The process; its standard error is collected.
    pub process: Running,
    /// Where the service listens.
    pub addr: SocketAddr,
    /// Where routemeter's stand-alone `/metrics` server listens (`--metrics-addr`).
    pub metrics_addr: SocketAddr,
}

/// Starts the accountservice executable with `descriptor_limit` as its limit on open files (soft and hard, set by
/// `prlimit` from util-linux before the program starts), on an ephemeral loopback port, with routemeter's
/// stand-alone `/metrics` server on another.
///
/// # Errors
/// When `prlimit` is missing, or the service does not start or does not say where it listens.
pub fn start_limited_accountservice(
    executable: &Path,
    descriptor_limit: u64,
) -> TestResult<LimitedService> {
    let prlimit =
        find_program("prlimit").ok_or("`prlimit` is not installed: apt-get install util-linux")?;
    let mut command = Command::new(prlimit);
    command
        .arg(format!("--nofile={descriptor_limit}:{descriptor_limit}"))
        .arg(executable)
        .args(["--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0"]);
    let mut process = Running::start_collecting_stderr("accountservice", command)?;
    let mut stdout = process.stdout()?;
    let mut line = String::new();
    stdout.read_line(&mut line)?;
    let addr = address_in(&line)?;
    line.clear();
    // "metrics served on http://127.0.0.1:PORT/metrics"
    stdout.read_line(&mut line)?;
    let metrics_addr = address_in(&line.replace("/metrics", ""))?;
    Ok(LimitedService {
        process,
        addr,
        metrics_addr,
    })
}

/// The address in a line such as `... on http://127.0.0.1:PORT ...`.
fn address_in(line: &str) -> TestResult<SocketAddr> {
    Ok(line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .ok_or_else(|| format!("no address in {line:?}"))?
        .parse()?)
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
