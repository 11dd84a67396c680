//! A real Prometheus server for the end-to-end tests: started on loopback with a temporary
//! configuration and data directory, and queried over its HTTP API.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::client::{Client, Reply};
use crate::process::{eventually, free_port, Running};
use crate::TestResult;

/// A running Prometheus and a client for its API. The process stops when this drops.
#[derive(Debug)]
pub struct Prometheus {
    process: Option<Running>,
    client: Client,
    /// The temporary directory holding the configuration and the data; removed on drop.
    dir: PathBuf,
}

impl Prometheus {
    /// Starts `binary` with `config` (the text of a prometheus.yml) written to a fresh directory,
    /// next to the given extra files (name, content), and waits until it is ready.
    ///
    /// # Errors
    /// When it cannot start or does not become ready within 30 seconds.
    pub async fn start(
        binary: &Path,
        config: &str,
        files: &[(&str, &str)],
    ) -> TestResult<Prometheus> {
        Prometheus::start_with_flags(binary, config, files, &[]).await
    }

    /// As [`Prometheus::start`], with extra command-line flags, such as
    /// `--enable-feature=native-histograms`.
    ///
    /// # Errors
    /// When it cannot start or does not become ready within 30 seconds.
    pub async fn start_with_flags(
        binary: &Path,
        config: &str,
        files: &[(&str, &str)],
        flags: &[&str],
    ) -> TestResult<Prometheus> {
        let dir = std::env::temp_dir().join(format!(
            "routemeter-prometheus-{}-{}",
            std::process::id(),
            free_port()?
        ));
        std::fs::create_dir_all(dir.join("data"))?;
        std::fs::write(dir.join("prometheus.yml"), config)?;
        for (name, content) in files {
            std::fs::write(dir.join(name), content)?;
        }
        let port = free_port()?;
        let mut command = Command::new(binary);
        command
            .current_dir(&dir)
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn")
            .args(flags);
        let process = Running::start("prometheus", command)?;
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let mut prometheus = Prometheus {
            process: Some(process),
            client: Client::new(addr),
            dir,
        };
        let client = prometheus.client.clone();
        eventually("prometheus to be ready", Duration::from_secs(30), || {
            let client = client.clone();
            async move {
                let reply = client.get("/-/ready").await.ok()?;
                reply.status.is_success().then_some(())
            }
        })
        .await?;
        if let Some(process) = &mut prometheus.process {
            process.check_alive()?;
        }
        Ok(prometheus)
    }

    /// The directory holding the configuration.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `GET path` on the API, answered with `"status": "success"`; returns `data`.
    ///
    /// # Errors
    /// A transport failure or an API error.
    pub async fn api(&self, path: &str) -> TestResult<Value> {
        api_data(path, &self.client.get(path).await?)
    }

    /// Evaluates `query` now; returns the result vector's samples as (labels, value).
    ///
    /// # Errors
    /// A transport failure, an API error, or a result that is not an instant vector.
    pub async fn query(&self, query: &str) -> TestResult<Vec<(Value, f64)>> {
        let data = self
            .api(&format!("/api/v1/query?query={}", encode(query)))
            .await?;
        vector(query, &data)
    }
}

/// The `data` of an API answer to `GET path`, when its `status` is `success`.
///
/// # Errors
/// An answer that is not JSON, or an API error.
pub fn api_data(path: &str, reply: &Reply) -> TestResult<Value> {
    let body = reply.json()?;
    if body["status"] != "success" {
        return Err(format!("{path}: {}", reply.text()).into());
    }
    Ok(body["data"].clone())
}

/// The samples of an instant query's `data`, as (labels, value).
///
/// # Errors
/// A result that is not an instant vector, or a sample without a number.
pub fn vector(query: &str, data: &Value) -> TestResult<Vec<(Value, f64)>> {
    if data["resultType"] != "vector" {
        return Err(format!("{query}: not a vector: {data}").into());
    }
    let samples = data["result"].as_array().cloned().unwrap_or_default();
    samples
        .into_iter()
        .map(|sample| {
            let value = sample["value"][1]
                .as_str()
                .ok_or_else(|| format!("{query}: no value in {sample}"))?
                .parse::<f64>()?;
            Ok((sample["metric"].clone(), value))
        })
        .collect()
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        // Stop Prometheus before removing the directory it writes to.
        drop(self.process.take());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Percent-encodes a query string value.
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(byte).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}
