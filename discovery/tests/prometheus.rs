//! End to end: swarm-discovery writes the file from recorded Swarm responses, and a real
//! Prometheus (Debian package `prometheus`) discovers the targets through `file_sd_configs`
//! with the `task` label, as the original deployment did.
//!
//! Without a `prometheus` binary the test prints why and passes, except when `CI` is set:
//! then it fails, so CI cannot go green without running it. `PROMETHEUS` may name the
//! binary. The recorded addresses are on 127.0.0.0/8, so Prometheus's scrapes (which fail:
//! nothing listens there) stay on this machine.
// Test code: helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeSet;
use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{Behaviour, FakeDocker};

/// Kills Prometheus when the test ends, however it ends.
struct Prometheus {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    fn start(binary: &Path, dir: &Path, sd_dir: &Path) -> Prometheus {
        let port = free_port();
        let config = dir.join("prometheus.yml");
        // The tutorial's job, reading every JSON file in the directory as its deployment did.
        fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 5s\n  evaluation_interval: 15s\n\
                 scrape_configs:\n  - job_name: swarm-service-endpoints\n    \
                 file_sd_configs:\n      - files: ['{}/*.json']\n        \
                 refresh_interval: 1s\n",
                sd_dir.display()
            ),
        )
        .unwrap();
        let log = dir.join("prometheus.log");
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(fs::File::create(dir.join("prometheus.out")).unwrap())
            .stderr(fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Prometheus { child, port, log }
    }

    fn log_tail(&self) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// `(instance, task)` of every active target, or `None` while Prometheus is not ready.
    fn active_targets(&self) -> Option<BTreeSet<(String, String)>> {
        let body = http_get(self.port, "/api/v1/targets?state=active")?;
        let value: serde_json::Value = serde_json::from_str(&body).ok()?;
        let targets = value["data"]["activeTargets"].as_array()?;
        Some(
            targets
                .iter()
                .map(|target| {
                    let labels = &target["labels"];
                    assert_eq!(labels["job"], "swarm-service-endpoints");
                    (
                        labels["instance"].as_str().unwrap_or_default().to_string(),
                        labels["task"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect(),
        )
    }

    fn wait_for_targets(&mut self, expected: &BTreeSet<(String, String)>) {
        let start = Instant::now();
        let mut last = None;
        while start.elapsed() < Duration::from_secs(60) {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("prometheus exited with {status}\n{}", self.log_tail());
            }
            last = self.active_targets();
            if last.as_ref() == Some(expected) {
                return;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        panic!(
            "Prometheus did not discover {expected:?}; last saw {last:?}\n{}",
            self.log_tail()
        );
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A minimal HTTP/1.0 GET on 127.0.0.1; `None` on any failure (Prometheus still starting).
fn http_get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    let status_line = head.lines().next()?;
    status_line
        .split_whitespace()
        .nth(1)
        .filter(|code| *code == "200")
        .map(|_| body.to_string())
}

fn find_prometheus() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PROMETHEUS") {
        return Some(PathBuf::from(path));
    }
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join("prometheus"))
        .find(|candidate| candidate.is_file())
}

fn run_discovery(docker: &FakeDocker, output: &Path) {
    let status = Command::new(env!("CARGO_BIN_EXE_swarm-discovery"))
        .env_remove("DOCKER_HOST")
        .env_remove("DOCKER_TLS_VERIFY")
        .args([
            "--once",
            "--docker-host",
            &docker.url(),
            "--network",
            "my_network",
            "--ignored-services",
            "prometheus,grafana",
            "--output",
            output.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(status.success());
}

fn pairs(items: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    items
        .iter()
        .map(|(instance, task)| (instance.to_string(), task.to_string()))
        .collect()
}

#[test]
fn prometheus_discovers_the_written_targets_with_the_task_label() {
    let Some(binary) = find_prometheus() else {
        if std::env::var_os("CI").is_some() {
            panic!("CI is set but no prometheus binary was found (apt-get install prometheus)");
        }
        eprintln!("skipping: no prometheus binary on PATH (apt-get install prometheus)");
        return;
    };
    let docker = FakeDocker::tcp(Behaviour::recorded());
    let dir = tempfile::tempdir().unwrap();
    let sd_dir = dir.path().join("swarm-endpoints");
    let output = sd_dir.join("swarm-endpoints.json");
    run_discovery(&docker, &output);

    let mut prometheus = Prometheus::start(&binary, dir.path(), &sd_dir);
    let mut expected = pairs(&[
        ("127.0.9.3:6767", "accountservice"),
        ("127.0.9.4:6767", "accountservice"),
        ("127.0.9.5:6767", "accountservice"),
        ("127.0.9.7:7777", "imageservice"),
        ("127.0.9.18:18080", "quotes-service"),
    ]);
    prometheus.wait_for_targets(&expected);

    // The swarm scales; the atomically replaced file is picked up while Prometheus runs.
    docker.set(Behaviour::serve("tasks-scaled.json"));
    run_discovery(&docker, &output);
    expected.insert(("127.0.9.19:18080".to_string(), "quotes-service".to_string()));
    prometheus.wait_for_targets(&expected);

    // The per-task labels arrive too.
    let body = http_get(prometheus.port, "/api/v1/targets?state=active").unwrap();
    let value: serde_json::Value = serde_json::from_str(&body).unwrap();
    let slot_two = value["data"]["activeTargets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|target| target["labels"]["instance"] == "127.0.9.19:18080")
        .unwrap();
    assert_eq!(slot_two["labels"]["slot"], "2");
    assert_eq!(
        slot_two["labels"]["service_id"],
        "jhsb9v4ib6nc2rkeu1r766rkk"
    );
    assert_eq!(slot_two["labels"]["node_id"], "36wi0zjbgf0o6vidoar4jygl8");
}
