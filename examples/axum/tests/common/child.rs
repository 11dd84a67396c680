//! The `accountservice-axum` binary as a child process, killed (SIGKILL) when its guard is dropped, whatever the
//! test's outcome.

use std::io::{BufRead, BufReader, Lines};
use std::net::SocketAddr;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::TestResult;

/// How long the child may take to print where it listens.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// The running binary.
pub struct Running {
    child: Child,
    /// Where it serves the routes.
    pub addr: SocketAddr,
    /// Where its stand-alone `/metrics` server listens, when started with `--metrics-addr`.
    pub metrics_addr: Option<SocketAddr>,
    /// What it prints after the start-up lines.
    pub stdout: Lines<BufReader<ChildStdout>>,
}

impl Running {
    /// Starts the binary on 127.0.0.1 on a port the system picks, with `/metrics` on a port of its own as well
    /// when `separate_metrics`, and waits until it has printed where it listens.
    pub async fn start(separate_metrics: bool) -> TestResult<Running> {
        let mut command = Command::new(env!("CARGO_BIN_EXE_accountservice-axum"));
        command.args(["--addr", "127.0.0.1:0"]);
        if separate_metrics {
            command.args(["--metrics-addr", "127.0.0.1:0"]);
        }
        let mut child = command
            .env_remove("ACCOUNTSERVICE_ADDR")
            .env_remove("ACCOUNTSERVICE_METRICS_ADDR")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdout = child.stdout.take();
        // Guarded from here on: an early return kills it.
        let mut running = Guard(Some(child));
        let stdout = stdout.ok_or("the child's standard output")?;
        // Read on a thread of its own, so that a silent child cannot hang the test.
        let reading = tokio::task::spawn_blocking(move || -> TestResult<_> {
            let mut lines = BufReader::new(stdout).lines();
            let addr = address_after(&mut lines, "accountservice-axum listening on ")?;
            let metrics_addr = if separate_metrics {
                Some(address_after(&mut lines, "metrics served on ")?)
            } else {
                None
            };
            Ok((addr, metrics_addr, lines))
        });
        let (addr, metrics_addr, stdout) = tokio::time::timeout(START_TIMEOUT, reading).await???;
        let child = running.0.take().ok_or("the child is guarded")?;
        Ok(Running {
            child,
            addr,
            metrics_addr,
            stdout,
        })
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits at most `timeout` for it to exit by itself.
    pub async fn wait_for_exit(&mut self, timeout: Duration) -> TestResult<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                return Err(format!("the service did not exit within {timeout:?}").into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        kill(&mut self.child);
    }
}

/// A child not yet handed to [`Running`], killed if dropped.
struct Guard(Option<Child>);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            kill(child);
        }
    }
}

/// Runs the binary with `args` to its end (killed after `timeout`) and returns how it exited and what it printed.
pub async fn run_to_end(args: &[&str], timeout: Duration) -> TestResult<(ExitStatus, String)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_accountservice-axum"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child.stdout.take();
    let mut guard = Guard(Some(child));
    let mut stdout = stdout.ok_or("the child's standard output")?;
    // Read on a thread of its own while the child runs, so that a long output cannot fill the pipe and stall it.
    let reading = tokio::task::spawn_blocking(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut text).map(|_| text)
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(child) = &mut guard.0 {
            if let Some(status) = child.try_wait()? {
                break status;
            }
        }
        if Instant::now() >= deadline {
            return Err(format!("{args:?} did not end within {timeout:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let text = reading.await??;
    Ok((status, text))
}

/// SIGKILL, unless it has exited already, and reaps it.
fn kill(child: &mut Child) {
    if let Ok(None) = child.try_wait() {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// The address on the next line that starts `<prefix>http://ADDR`.
fn address_after(
    lines: &mut Lines<BufReader<ChildStdout>>,
    prefix: &str,
) -> TestResult<SocketAddr> {
    for line in lines {
        let line = line?;
        if let Some(rest) = line.strip_prefix(prefix) {
            let addr = rest.trim_start_matches("http://");
            let addr = addr.split(['/', ' ']).next().unwrap_or_default();
            return Ok(addr.parse()?);
        }
    }
    Err(format!("the program ended without printing {prefix:?}").into())
}
