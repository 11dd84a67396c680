//! The `swarm-discovery` binary: flags, exit codes, `--once`, and signals.
// Test code: helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::fs;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::{fixture, names_in, wait_for, Behaviour, FakeDocker};

fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_swarm-discovery"));
    command
        .env_remove("DOCKER_HOST")
        .env_remove("DOCKER_TLS_VERIFY")
        .stdin(Stdio::null());
    command
}

fn run(args: &[&str]) -> Output {
    binary().args(args).output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Kills the child if the test ends before it does.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl ChildGuard {
    fn wait_timeout(&mut self, limit: Duration) -> Option<ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(status) = self.0.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

#[test]
fn help_lists_every_flag() {
    let output = run(&["--help"]);
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    for flag in [
        "--network",
        "--ignored-services",
        "--interval",
        "--output",
        "--port-mode",
        "--once",
        "--docker-host",
        "--api-timeout",
        "--strip-stack-prefix",
        "[default: 30s]",
        "--help",
        "--version",
        "[default: 15s]",
        "[default: /etc/swarm-endpoints/swarm-endpoints.json]",
    ] {
        assert!(text.contains(flag), "{flag} missing from:\n{text}");
    }
}

#[test]
fn version_prints_the_package_version() {
    let output = run(&["--version"]);
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        format!("swarm-discovery {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn bad_flags_exit_with_status_2_and_say_why() {
    for (args, expected) in [
        (&["--nope"][..], "unexpected argument '--nope'"),
        (
            &["--interval", "soon"],
            "invalid value 'soon' for '--interval",
        ),
        (&["--interval=0s"], "longer than zero"),
        (
            &["--port-mode", "host"],
            "possible values: published, target",
        ),
        (&["--docker-host", "ssh://host"], "invalid Docker host"),
        (&["--network", ""], "--network must not be empty"),
    ] {
        let output = run(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let text = stderr(&output);
        assert!(text.contains(expected), "{args:?}: {text}");
    }
}

#[test]
fn a_bad_docker_host_variable_exits_with_status_2() {
    let output = binary()
        .env("DOCKER_HOST", "npipe:////./pipe/docker_engine")
        .arg("--once")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("invalid Docker host"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn once_writes_the_file_logs_what_it_found_and_exits_0() {
    let docker = FakeDocker::tcp(Behaviour::recorded());
    let dir = tempfile::tempdir().unwrap();
    let output_path = dir.path().join("endpoints/swarm-endpoints.json");
    // DOCKER_HOST is honoured when the flag is absent.
    let output = binary()
        .env("DOCKER_HOST", docker.url())
        .args([
            "--once",
            "--network=my_network",
            "--ignored-services=prometheus,grafana",
            "--output",
            output_path.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let log = stderr(&output);
    assert!(output.status.success(), "{log}");
    assert_eq!(
        fs::read_to_string(&output_path).unwrap(),
        fixture("expected/published.json")
    );
    assert!(
        log.contains("found 5 targets: accountservice=3 imageservice=1 quotes-service=1; "),
        "{log}"
    );
    assert!(
        log.contains(
            "skipped: dns-cache (no published TCP port) grafana (ignored) ledger (no address \
             on the network) prometheus (ignored) worker (no published TCP port)"
        ),
        "{log}"
    );
    assert!(
        log.contains("; created the missing directory; wrote "),
        "{log}"
    );
}

#[test]
fn once_exits_1_when_the_api_fails_and_writes_nothing() {
    let docker = FakeDocker::tcp(Behaviour::Fail(500));
    let dir = tempfile::tempdir().unwrap();
    let output_path = dir.path().join("swarm-endpoints.json");
    let output = run(&[
        "--once",
        "--docker-host",
        &docker.url(),
        "--output",
        output_path.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("500 Internal Server Error"),
        "{}",
        stderr(&output)
    );
    assert!(!output_path.exists());
}

fn stops_cleanly_on(signal: &str) {
    let docker = FakeDocker::tcp(Behaviour::recorded());
    let dir = tempfile::tempdir().unwrap();
    let output_path = dir.path().join("swarm-endpoints.json");
    let child = binary()
        .args([
            "--docker-host",
            &docker.url(),
            "--network",
            "my_network",
            "--interval",
            "100ms",
            "--output",
            output_path.to_str().unwrap(),
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = ChildGuard(child);
    assert!(wait_for(Duration::from_secs(10), || output_path.exists()));
    // Several polls, and the file is not rewritten while nothing changes.
    let modified = fs::metadata(&output_path).unwrap().modified().unwrap();
    let seen = docker.connections();
    assert!(wait_for(Duration::from_secs(10), || docker.connections() >= seen + 4));
    assert_eq!(
        fs::metadata(&output_path).unwrap().modified().unwrap(),
        modified
    );

    let sent = Command::new("kill")
        .args([&format!("-{signal}"), &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = child
        .wait_timeout(Duration::from_secs(10))
        .expect("still running");
    assert!(status.success(), "{status:?}");
    let mut log = String::new();
    if let Some(mut pipe) = child.0.stderr.take() {
        use std::io::Read;
        pipe.read_to_string(&mut log).unwrap();
    }
    assert!(log.contains(&format!("received SIG{signal}")), "{log}");
    assert!(log.contains("shutting down"), "{log}");
}

#[test]
fn sigterm_stops_the_loop_cleanly() {
    stops_cleanly_on("TERM");
}

#[test]
fn sigint_stops_the_loop_cleanly() {
    stops_cleanly_on("INT");
}

/// Collects a child's stderr on a thread, so the test can look at it while it runs.
fn collect_stderr(child: &mut Child) -> Arc<Mutex<String>> {
    let log = Arc::new(Mutex::new(String::new()));
    let pipe = child.stderr.take().unwrap();
    let sink = Arc::clone(&log);
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            let mut log = sink.lock().unwrap();
            log.push_str(&line);
            log.push('\n');
        }
    });
    log
}

#[test]
fn the_loop_logs_each_failure_keeps_the_file_and_recovers() {
    let docker = FakeDocker::tcp(Behaviour::recorded());
    let dir = tempfile::tempdir().unwrap();
    let output_path = dir.path().join("swarm-endpoints.json");
    // First obstacle: a directory where the file should go.
    fs::create_dir(&output_path).unwrap();
    let mut child = binary()
        .args([
            "--docker-host",
            &docker.url(),
            "--network=my_network",
            "--ignored-services=prometheus,grafana",
            "--interval=100ms",
            "--api-timeout=500ms",
            "--output",
            output_path.to_str().unwrap(),
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = collect_stderr(&mut child);
    let mut child = ChildGuard(child);
    let limit = Duration::from_secs(10);
    let logged = |text: &str| {
        let found = wait_for(limit, || log.lock().unwrap().contains(text));
        assert!(found, "{text:?} not in:\n{}", log.lock().unwrap());
    };
    let error = "ERROR poll failed, keeping the last file: ";

    logged(&format!(
        "{error}cannot replace {}: Is a directory (os error 21)",
        output_path.display()
    ));
    fs::remove_dir(&output_path).unwrap();
    assert!(wait_for(limit, || output_path.is_file()));
    let good = fixture("expected/published.json");
    assert_eq!(fs::read_to_string(&output_path).unwrap(), good);

    // A slow daemon, then one answering with a web page: logged, the file stays.
    let scaled = Box::new(Behaviour::serve("tasks-scaled.json"));
    docker.set(Behaviour::Delayed(Duration::from_secs(5), scaled));
    logged(" failed: no answer within 500ms");
    docker.set(Behaviour::Reply {
        status: 200,
        content_type: "text/html",
        body: "<html><body>It works!</body></html>".into(),
    });
    logged(
        " failed: unexpected response body (text/html, 35 bytes): expected value at line 1 \
         column 1; it starts: <html><body>It works!</body></html>",
    );
    assert_eq!(fs::read_to_string(&output_path).unwrap(), good);

    // The swarm changed meanwhile; the daemon is back.
    docker.set(Behaviour::serve("tasks-scaled.json"));
    let scaled = fixture("expected/published-scaled.json");
    assert!(wait_for(limit, || fs::read_to_string(&output_path)
        .unwrap()
        == scaled));
    logged("INFO  found 6 targets: accountservice=3 imageservice=1 quotes-service=2; ");

    let sent = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = child.wait_timeout(limit).expect("still running");
    assert!(status.success(), "{status:?}");
    let log = log.lock().unwrap().clone();
    // Shown with --nocapture: the log lines of each failure.
    println!("{log}");
    assert!(!log.contains("panicked"), "{log}");
    assert_eq!(names_in(dir.path()), ["swarm-endpoints.json"]);
}
